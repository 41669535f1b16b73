"""What the browser tests share: where screenshots go, the steps every test takes, the API beside the page, axe-core's
accessibility check (the fixtures are in conftest)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.helpers import mp4_lookalike

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "frontend"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]
RESULT_TIMEOUT = 180_000
AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def api(url: str, action: str, token: str | None = None, **params) -> dict:
    """One API action, called as a script would (beside the page under test)."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(f"{url}/api/{action}", data=json.dumps(params).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def queued_job(url: str, store, name: str = "queued.mp4", token: str | None = None) -> str:
    """A job made through the API, as another user's page would make it."""
    slot = api(url, "generate_upload_url", token, filename=name, size=2000)
    store.put(slot["video_key"], mp4_lookalike(2000), content_type="video/mp4")
    return api(url, "start_processing", token, video_key=slot["video_key"], quality="low")["job_id"]


def open_page(page, url: str) -> None:
    """Open the page and wait until it has started: the server's /api/info answered and every control drawn.

    A user judges a file only once the page can; a test that acts before then races the page's own start."""
    page.goto(url)
    page.wait_for_selector("body[data-ready]", state="attached")


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: `make test` installs it from the npm registry (tests/axe).")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                          ".filter(v => ['serious', 'critical'].includes(v.impact))"
                          ".map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)")
    return found


def shot(page, name: str) -> None:
    page.screenshot(path=str(page.shots / f"{name}.png"), full_page=True)


def choose_and_start(page, video: Path, quality: str = "low") -> None:
    page.set_input_files("#file-input", str(video))
    page.check(f"input[name=quality][value={quality}]")
    shot(page, "1-chosen")
    page.click("#start-button")


def analyse_to_results(page, video: Path, quality: str = "low") -> None:
    """Choose and upload ``video`` and wait for its results, charts drawn."""
    choose_and_start(page, video, quality)
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    page.wait_for_selector("#timeline svg rect.seg")


def slow_uploads(page) -> None:
    """Uploads from ``page`` at 1 MiB/s, so that a test can stop one part way (:func:`reload_when_sent`)."""
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                      "uploadThroughput": 1024 * 1024})


def reload_when_sent(page, megabytes: float) -> None:
    """Reload the page once the upload under way has sent ``megabytes``, and wait for its offer to resume it."""
    page.wait_for_function("Number((/^([\\d.]+) MB of/.exec(document.querySelector('#upload-text').innerText) || [0, 0])[1]) "
                           f">= {megabytes}", timeout=60_000)
    page.reload()
    page.wait_for_selector("#resume-hint:not([hidden])")
