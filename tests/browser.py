"""What the browser tests share: where screenshots go, and the steps every test takes (the fixtures are in conftest)."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "frontend"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]
RESULT_TIMEOUT = 180_000


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
