"""Shared fixtures: two S3 emulators for the session (LocalStack, and moto's server), fresh buckets and stores per test.

Two implementations of S3, so that the engine leans on neither one's quirks: the storage contract, the queue
and the storage-fault tests run on both (and on the embedded store); the heavy fault runs on LocalStack only.
Where they differ from each other (and from AWS and R2) is written down in docs/task-engine.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import pipeline  # noqa: F401  (first: it pins the numeric libraries before a test module loads NumPy)
from statestore.local import LocalStore
from statestore.s3 import S3Store
from tests.browser import ARTIFACTS, CHROMIUM, FLAGS
from tests.helpers import REPO, new_bucket_name, serve
from tests.localstack import running_localstack, running_moto

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def localstack_endpoint() -> Iterator[str]:
    with running_localstack() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with running_moto() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def pose_models(tmp_path_factory):
    """The BlazePose .tflite files and BlazeFace's, fetched once per session from the package registries (`ergo models
    fetch`)."""
    from pipeline.pose.assets import fetch

    folder = tmp_path_factory.mktemp("models")
    old = os.environ.get("ERGO_MODELS_DIR")
    os.environ["ERGO_MODELS_DIR"] = str(folder)
    try:
        yield fetch(folder, ["pose_detection", "pose_landmark_full", "face_detection_short_range"])
    finally:
        if old is None:
            os.environ.pop("ERGO_MODELS_DIR", None)
        else:
            os.environ["ERGO_MODELS_DIR"] = old


@pytest.fixture(scope="module")
def one_thread_blazepose(pose_models):
    """BlazePose (``full``) on one Torch thread, for a module's short real clips: the machine is shared."""
    import torch

    from pipeline.pose.blazepose import BlazePose

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield BlazePose("full", models_dir=Path(os.environ["ERGO_MODELS_DIR"]), device="cpu")
    torch.set_num_threads(threads)


def _emulated(endpoint: str) -> S3Store:
    """A store on a fresh bucket of the S3 emulator at ``endpoint`` (the "localstack" provider: any endpoint, test keys)."""
    store = S3Store(new_bucket_name(), provider="localstack", endpoint_url=endpoint, region="us-east-1",
                    access_key_id="test", secret_access_key="test")
    store.create_bucket()
    return store


@pytest.fixture
def s3_store(localstack_endpoint: str) -> S3Store:
    return _emulated(localstack_endpoint)


@pytest.fixture
def moto_store(moto_endpoint: str) -> S3Store:
    return _emulated(moto_endpoint)


@pytest.fixture(params=["localstack", "moto"])
def emulated_store(request: pytest.FixtureRequest) -> S3Store:
    """The same test on both S3 emulators."""
    return request.getfixturevalue("s3_store" if request.param == "localstack" else "moto_store")


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture
def random_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs run the server's pose model as configured: keypointrcnn with random weights here (no download, no model
    file; the poses mean nothing, the plumbing is real).  A module that only runs such jobs uses it for every test:
    ``pytestmark = pytest.mark.usefixtures("random_weights")``."""
    monkeypatch.setenv("ERGO_POSE_MODEL", "keypointrcnn")
    monkeypatch.setenv("ERGO_POSE_WEIGHTS", "random")


@pytest.fixture(params=["local", "localstack", "moto"])
def store(request: pytest.FixtureRequest):
    """The same test, run unchanged against every backend."""
    return request.getfixturevalue({"local": "local_store", "localstack": "s3_store", "moto": "moto_store"}[request.param])


#: What a test needs beyond .venv, by the fixture that brings it: ``make check`` (the fast lane) leaves these out.
NEEDS = {"localstack_endpoint": "localstack", "browser": "browser", "reference": "reference"}


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        needed = {marker for fixture, marker in NEEDS.items() if fixture in getattr(item, "fixturenames", ())}
        if getattr(item, "callspec", None) and "localstack" in item.callspec.params.values():
            needed.add("localstack")  # a store fixture parametrised over the backends, LocalStack among them
        for marker in sorted(needed):
            item.add_marker(marker)
        group = _process_group(item, needed)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


#: Session fixtures too slow to compute in both test processes (an analysis of the demo clip): their tests share one.
COSTLY_SESSION_FIXTURES = ("analysed",)


def _process_group(item: pytest.Item, needed: set[str]) -> str | None:
    """The xdist group (`--dist loadgroup`) that keeps what ``item`` shares with other tests to one worker process:
    LocalStack (one starts), a costly session fixture, or its module's module-scoped fixtures (an analysis, MediaPipe's
    answers, a browser), which would otherwise be computed again on the other worker for the tests that land there.
    One group per test: xdist joins several into a group of their own."""
    if "localstack" in needed:
        return "localstack"
    fixtures = getattr(item, "_fixtureinfo", None)
    definitions = fixtures.name2fixturedefs if fixtures else {}
    shared = [name for name in COSTLY_SESSION_FIXTURES if definitions.get(name) and definitions[name][-1].scope == "session"]
    if shared:
        return shared[0]
    if any(defs[-1].scope == "module" for defs in definitions.values()):
        return item.path.stem
    return None


@pytest.hookimpl(tryfirst=True)  # before the xdist worker sends the test ids to the controller, which schedules by them
def pytest_collection_finish(session: pytest.Session) -> None:
    """Writes each test's xdist group into its id (``test@group``), which is all that `--dist loadgroup` schedules by:
    pytest-xdist 3.8 writes it where pytest 9.2 no longer reads it (pytest-xdist issue 1386), so every group was
    spread over both workers without a word: LocalStack started in each, every module fixture was computed twice."""
    if not getattr(session.config.option, "loadgroup", False):  # set in xdist's workers under `--dist loadgroup` only
        return
    from _pytest.nodeid import coerce_node_id

    for item in session.items:
        mark = item.get_closest_marker("xdist_group")
        if mark and not item.nodeid.endswith(f"@{mark.args[0]}"):
            item._id = coerce_node_id(f"{item.nodeid}@{mark.args[0]}")


def pytest_terminal_summary(terminalreporter) -> None:
    artifacts = REPO / "test-artifacts" / "frontend"
    if artifacts.exists():
        terminalreporter.write_line(f"Screenshots of the web page, step by step: {artifacts}")


# -- the browser tests (Debian's Chromium, driven by Playwright) ------------------------------------
@pytest.fixture(scope="module")  # Playwright's loop holds the main thread: closed after each browser module
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.shots = ARTIFACTS / request.node.name.replace("[", "-").replace("]", "")
    page.shots.mkdir(parents=True, exist_ok=True)
    page.status_requests = []
    page.on("request", lambda r: page.status_requests.append(time.monotonic()) if r.url.endswith("/api/get_status") else None)
    yield page
    context.close()


@pytest.fixture
def server(request, tmp_path):
    processes = []

    def start(store, **env):
        process, url = serve(store, tmp_path, **env)
        processes.append(process)
        return url

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory) -> Iterator[tuple[str, LocalStore]]:
    """One `ergo serve` with the default settings on an embedded store, shared by the page tests that only add jobs
    of their own and look at those: (base URL, its store).  A test that changes the server's settings, counts what
    the store holds or stops the server starts its own with ``server``."""
    folder = tmp_path_factory.mktemp("shared-serve")
    store = LocalStore(folder / "store")
    process, url = serve(store, folder)
    yield url, store
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """A 4 s clip the browser tests upload."""
    from pipeline.synthetic import make_video

    return make_video(tmp_path_factory.mktemp("v") / "station.mp4", frames=40, width=96, height=64, fps=10)


@pytest.fixture(scope="session")
def analysed(pose_models, tmp_path_factory):
    """The demo clip analysed by the real task on an embedded store: (store, status document, video path); shared by
    the evidence and report tests, since the analysis is their slow part."""
    from ergo_tasks.analysis import ANALYZE_TASK, register
    from ergo_tasks.analysis.keys import upload_key
    from ergo_tasks.states import State
    from pipeline.demo import make_demo_video
    from tests.helpers import make_app

    folder = tmp_path_factory.mktemp("evidence")
    store = LocalStore(folder / "store")
    video = make_demo_video(folder / "line 3 packing.mp4")
    app = make_app(store)
    register(app)
    key = upload_key(video.name)
    store.upload_file(key, video)
    doc = app.send_task(ANALYZE_TASK, kwargs={"video_key": key, "quality": "low", "model": "blazepose"}).status_doc
    assert doc.state == State.SUCCESS, doc.error
    return store, doc, video
