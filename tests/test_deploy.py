"""deploy/ cannot be built here (no Docker engine), so its files are parsed and checked; storage init runs for real."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import boto3
import dockerfile
import pytest
from botocore.config import Config

from tests.helpers import new_bucket_name, storage_env

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
REPO = DEPLOY.parent


def _instructions() -> list[tuple[str, tuple[str, ...]]]:
    """The Dockerfile as Docker's own parser reads it (the Go parser, through the ``dockerfile`` package)."""
    return [(command.cmd.upper(), command.value) for command in dockerfile.parse_file(str(DEPLOY / "Dockerfile"))]


def _ignored(path: str) -> bool:
    """Whether .dockerignore leaves ``path`` out of the build context (the last matching pattern decides)."""
    ignored = False
    for line in (REPO / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated, pattern = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        if any(fnmatch.fnmatch("/".join(parts[:n]), pattern) for n in range(1, len(parts) + 1)):
            ignored = not negated
    return ignored


def test_dockerfile_builds_a_gpu_image_that_runs_the_handler_as_a_non_root_user():
    steps = _instructions()
    assert steps[0][0] == "FROM" and steps[0][1][0].startswith("python:3.11")
    users = [i for i, (op, _) in enumerate(steps) if op == "USER"]
    assert users and steps[users[-1]][1][0] not in ("root", "0")
    cmd = [i for i, (op, _) in enumerate(steps) if op == "CMD"]
    assert cmd and cmd[-1] > users[-1] and steps[cmd[-1]][1][-1] == "deploy/handler.py"
    run_args = [arg[0] for op, arg in steps if op == "RUN"]
    install = next(i for i, arg in enumerate(run_args) if arg.startswith("pip install"))
    # the tested versions (torch with its CUDA libraries among them) from constraints.txt, which the image copies
    assert run_args[install] == "pip install --constraint constraints.txt ."
    assert "torch==" in (REPO / "constraints.txt").read_text()
    fetch = next(i for i, arg in enumerate(run_args) if arg.startswith("ergo models fetch"))
    assert fetch > install and any("get_state_dict" in arg for arg in run_args)  # both models baked in at build time
    assert any("python -m pipeline.pose.sparse_kernel" in arg for arg in run_args[install + 1:])  # the detector's kernel built in
    env = " ".join(" ".join(arg) for op, arg in steps if op == "ENV")
    assert "ERGO_MODELS_DIR /opt/ergo/" in env  # inside the folder handed to the non-root user
    template = json.loads((DEPLOY / "runpod-template.json").read_text())
    assert "blazepose" in json.dumps(template)


def test_the_build_context_holds_what_the_image_copies_and_nothing_else():
    copied = [source for op, args in _instructions() if op == "COPY" for source in args[:-1]]
    assert {"constraints.txt", "setup.cfg", "statestore", "ergo_tasks", "pipeline", "deploy/handler.py"} <= set(copied)
    for source in copied:
        assert (REPO / source).exists() and not _ignored(source), source
        if (REPO / source).is_dir():
            assert not _ignored(f"{source}/__init__.py")
    for heavy_or_secret in (".venv", ".venv/lib/python3.11/site-packages/torch/lib/libtorch.so", ".localstack-venv/bin/python",
                            ".git/objects", ".env", "tests/test_api.py", "test-artifacts/frontend/1.png", "ergo-results/demo/x.mp4",
                            "ergo_tasks/__pycache__/app.cpython-311.pyc"):
        assert _ignored(heavy_or_secret), heavy_or_secret


def test_build_scripts_build_the_default_image_bare_and_push_only_to_a_registry(tmp_path):
    script = DEPLOY / "build_and_push.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    log = tmp_path / "docker.log"
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin"}
    bare = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env)
    assert bare.returncode == 0, bare.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 1 and re.search(r"^build .* -t ergo-ergonomics-worker:\S+-\d{14} \.$", calls[0])
    assert "locally" in bare.stdout
    named = subprocess.run(["bash", str(script), "docker.io/acme/ergo-worker", "v1"], capture_output=True, text=True, env=env)
    assert named.returncode == 0 and log.read_text().splitlines()[1:] == [
        "build --platform linux/amd64 -f deploy/Dockerfile -t docker.io/acme/ergo-worker:v1 .", "push docker.io/acme/ergo-worker:v1"]
    batch = (DEPLOY / "build_and_push.bat").read_bytes()
    assert b"\r\n" in batch and b"docker build" in batch and b"docker push" in batch and b"ergo-ergonomics-worker" in batch


def test_endpoint_template_has_the_seed_settings_and_no_secrets():
    template = json.loads((DEPLOY / "runpod-template.json").read_text())
    assert template["gpuTypes"] == ["NVIDIA GeForce RTX 4090"] and template["gpuMemoryGb"] == 24
    assert (template["containerDiskInGb"], template["workersMax"], template["idleTimeout"]) == (20, 3, 5)
    assert template["executionTimeoutMs"] == 3_600_000
    # scale on queue delay: a new worker once a request waited 4 s, up to the 3 the seed allows
    assert (template["scalerType"], template["scalerValue"], template["workersMin"]) == ("QUEUE_DELAY", 4, 0)
    env = template["env"]
    assert {"STORAGE_PROVIDER", "R2_ACCOUNT_ID", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "R2_BUCKET_NAME"} <= set(env)
    for name in ("R2_SECRET_ACCESS_KEY", "R2_ACCESS_KEY_ID", "RUNPOD_API_KEY"):
        assert re.fullmatch(r"\{\{ RUNPOD_SECRET_\w+ \}\}", env[name])


def test_env_example_names_every_setting_with_no_values_for_secrets():
    text = (REPO / ".env.example").read_text()
    for name in ("STORAGE_PROVIDER", "R2_ACCOUNT_ID", "R2_SECRET_ACCESS_KEY", "RUNPOD_API_KEY", "RUNPOD_ENDPOINT_ID",
                 "ERGO_API_TOKENS", "ERGO_MAX_UPLOAD_BYTES", "ERGO_WEBHOOK_URL", "ERGO_POSE_WEIGHTS"):
        assert name in text
    assert not re.search(r"^(R2_SECRET_ACCESS_KEY|RUNPOD_API_KEY|AWS_SECRET_ACCESS_KEY)=\S", text, re.M)


def test_storage_init_creates_the_bucket_with_cors_and_lifecycle(localstack_endpoint, tmp_path):
    from statestore.s3 import S3Store

    store = S3Store(new_bucket_name(), provider="localstack", endpoint_url=localstack_endpoint, region="us-east-1",
                    access_key_id="test", secret_access_key="test")
    result = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "storage", "init", "--cors-origin", "https://ergo.example",
                             "--expire-uploads-days", "3", "--expire-results-days", "60"],
                            env=storage_env(store), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout
    s3 = boto3.client("s3", endpoint_url=localstack_endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test", config=Config(s3={"addressing_style": "path"}))
    rule = s3.get_bucket_cors(Bucket=store.bucket)["CORSRules"][0]
    assert rule["AllowedOrigins"] == ["https://ergo.example"] and "PUT" in rule["AllowedMethods"]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]}
    assert rules["expire-uploads"]["Expiration"]["Days"] == 3 and rules["expire-results"]["Expiration"]["Days"] == 60
    assert rules["expire-checkpoints"]["Filter"]["Prefix"] == "checkpoints/"
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1  # parts never joined
    assert rules["expire-status"]["Expiration"]["Days"] == 90 and rules["expire-queue/keys"]["Filter"]["Prefix"] == "queue/keys/"
    assert not any(rule["Filter"]["Prefix"].startswith("queue/open") for rule in rules.values())  # unfinished jobs keep their place
    bare = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "storage", "init"], env=storage_env(store),
                          capture_output=True, text=True, timeout=120)
    assert bare.returncode == 2 and "--cors-origin" in bare.stderr and "--cors-any" in bare.stderr
    assert s3.get_bucket_cors(Bucket=store.bucket)["CORSRules"][0]["AllowedOrigins"] == ["https://ergo.example"]  # untouched
    again = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "storage", "init", "--cors-any"], env=storage_env(store),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "exists" in again.stdout
    assert s3.get_bucket_cors(Bucket=store.bucket)["CORSRules"][0]["AllowedOrigins"] == ["*"]


def test_storage_init_on_the_local_backend_explains_itself(local_store):
    result = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "storage", "init"], env=storage_env(local_store),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "needs no setup" in result.stdout


@pytest.mark.slow  # starts the RunPod handler's process once per malformed input
def test_the_handlers_local_check_refuses_malformed_input_in_words(local_store):
    """The SDK's --test_input printed a JSONDecodeError (or an AttributeError) traceback for malformed input."""
    env = storage_env(local_store, ERGO_POSE_MODEL="keypointrcnn", ERGO_POSE_WEIGHTS="random")
    for given in ("{not json", "[1, 2]", '"health"', '{"action": "health"}'):
        result = subprocess.run([sys.executable, str(DEPLOY / "handler.py"), "--test_input", given], env=env, cwd=REPO,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout, (given, result.stderr[-1500:])
        assert '{"input": {"action": ...' in result.stderr, given
    good = subprocess.run([sys.executable, str(DEPLOY / "handler.py"), "--test_input", '{"input": {"action": "health"}}'],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert good.returncode == 0 and "Traceback" not in good.stderr + good.stdout, good.stderr[-1500:]
