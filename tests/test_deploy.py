"""deploy/ cannot be built here (no Docker engine), so its files are parsed and checked; storage init runs for real."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import boto3
from botocore.config import Config

from tests.conftest import new_bucket_name, storage_env

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
REPO = DEPLOY.parent


def _instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_builds_a_gpu_image_that_runs_the_handler_as_a_non_root_user():
    steps = _instructions()
    assert steps[0][0] == "FROM" and "cuda" in steps[0][1] and "pytorch" in steps[0][1]
    users = [i for i, (op, _) in enumerate(steps) if op == "USER"]
    assert users and steps[users[-1]][1] not in ("root", "0")
    cmd = [i for i, (op, _) in enumerate(steps) if op == "CMD"]
    assert cmd and cmd[-1] > users[-1] and json.loads(steps[cmd[-1]][1])[-1] == "deploy/handler.py"
    runs = " ".join(arg for op, arg in steps if op == "RUN")
    assert "pip install ." in runs and "get_state_dict" in runs  # the package, and the weights baked in at build time
    run_args = [arg for op, arg in steps if op == "RUN"]
    fetch = next(i for i, arg in enumerate(run_args) if arg.startswith("ergo models fetch"))
    assert fetch > next(i for i, arg in enumerate(run_args) if "pip install ." in arg)  # BlazePose baked in too
    env = " ".join(arg for op, arg in steps if op == "ENV")
    assert "ERGO_MODELS_DIR=/opt/ergo/" in env  # inside the folder handed to the non-root user
    template = json.loads((DEPLOY / "runpod-template.json").read_text())
    assert "blazepose" in json.dumps(template)
    copied = " ".join(arg for op, arg in steps if op == "COPY")
    for path in ("statestore", "ergo_tasks", "pipeline", "deploy/handler.py", "setup.cfg"):
        assert path in copied and (REPO / path.split()[0]).exists()


def test_build_scripts_take_image_and_tag_and_make_unique_tags():
    script = DEPLOY / "build_and_push.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    usage = subprocess.run(["bash", str(script)], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert usage.returncode == 2 and "usage" in usage.stderr
    text = script.read_text()
    assert "date -u +%Y%m%d%H%M%S" in text and "docker push" in text
    batch = (DEPLOY / "build_and_push.bat").read_bytes()
    assert b"\r\n" in batch and b"docker build" in batch and b"docker push" in batch and b"ERGO_IMAGE" in batch


def test_endpoint_template_has_the_seed_settings_and_no_secrets():
    template = json.loads((DEPLOY / "runpod-template.json").read_text())
    assert template["gpuTypes"] == ["NVIDIA GeForce RTX 4090"] and template["gpuMemoryGb"] == 24
    assert (template["containerDiskInGb"], template["workersMax"], template["idleTimeout"]) == (20, 3, 5)
    assert template["executionTimeoutMs"] == 3_600_000
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
    assert rules["expire-status"]["Expiration"]["Days"] == 90 and rules["expire-queue/keys"]["Filter"]["Prefix"] == "queue/keys/"
    assert not any(rule["Filter"]["Prefix"].startswith("queue/open") for rule in rules.values())  # unfinished jobs keep their place
    again = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "storage", "init"], env=storage_env(store),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "exists" in again.stdout


def test_storage_init_on_the_local_backend_explains_itself(local_store):
    result = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "storage", "init"], env=storage_env(local_store),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "needs no setup" in result.stdout
