"""How the S3-family backend fails: retried, surfaced, or explained, never leaking secrets."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from statestore import AccessDenied, BucketNotFound, ConfigurationError, PreconditionFailed, StorageSettings, open_store
from statestore.errors import StorageUnavailable
from statestore.retry import Backoff, RetryPolicy
from statestore.s3 import S3Store

SECRET = "wJalrXUtnFEMI-very-secret"


def _stubbed(attempts: int = 4) -> tuple[S3Store, Stubber, list[float]]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key=SECRET,
                          config=Config(retries={"total_max_attempts": 1}))
    sleeps: list[float] = []
    store = S3Store("bucket-x", client=client, retry=RetryPolicy(attempts=attempts, backoff=Backoff(base=0.1, cap=1.0), sleep=sleeps.append))
    return store, Stubber(client), sleeps


def test_throttling_and_server_errors_are_retried_with_backoff():
    store, stub, sleeps = _stubbed()
    stub.add_client_error("get_object", service_error_code="SlowDown", http_status_code=503)
    stub.add_client_error("get_object", service_error_code="InternalError", http_status_code=500)
    stub.add_response("get_object", {"Body": _body(b"ok"), "ETag": '"e"'}, {"Bucket": "bucket-x", "Key": "k"})
    with stub:
        assert store.get("k").body == b"ok"
    assert len(sleeps) == 2
    assert all(0 <= s <= 1.0 for s in sleeps)


def test_persistent_throttling_becomes_a_clear_error():
    store, stub, sleeps = _stubbed(attempts=3)
    for _ in range(3):
        stub.add_client_error("get_object", service_error_code="SlowDown", http_status_code=503)
    with stub, pytest.raises(StorageUnavailable, match="SlowDown"):
        store.get("k")
    assert len(sleeps) == 2


@pytest.mark.parametrize("status,code", [(412, "PreconditionFailed"), (409, "ConditionalRequestConflict")])
def test_lost_conditional_write_is_surfaced_not_retried(status, code):
    store, stub, sleeps = _stubbed()
    stub.add_client_error("put_object", service_error_code=code, http_status_code=status)
    with stub, pytest.raises(PreconditionFailed):
        store.put("status/x.json", b"{}", if_match='"old"')
    stub.assert_no_pending_responses()
    assert sleeps == []


@pytest.mark.parametrize("code", ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"])
def test_wrong_credentials_give_a_clear_error_without_the_secret(code):
    # LocalStack (community) accepts any credentials, so the refusal S3 and R2
    # send is reproduced with botocore's Stubber.
    store, stub, sleeps = _stubbed()
    stub.add_client_error("get_object", service_error_code=code, http_status_code=403)
    with stub, pytest.raises(AccessDenied) as caught:
        store.get("status/x.json")
    assert "credentials" in str(caught.value)
    assert SECRET not in str(caught.value) and "AKIDEXAMPLE" not in str(caught.value)
    assert sleeps == []


def test_missing_bucket_is_reported_by_name(localstack_endpoint):
    store = S3Store("no-such-bucket-here", provider="localstack", endpoint_url=localstack_endpoint,
                    region="us-east-1", access_key_id="test", secret_access_key="test")
    with pytest.raises(BucketNotFound, match="no-such-bucket-here.*ergo storage init"):
        store.get("status/x.json")
    with pytest.raises(BucketNotFound):
        store.put("status/x.json", b"{}")
    with pytest.raises(BucketNotFound):
        store.check()


def test_unreachable_endpoint_is_a_clear_error():
    store = S3Store("bucket-x", provider="localstack", endpoint_url="http://127.0.0.1:9", region="us-east-1",
                    access_key_id="test", secret_access_key="test",
                    retry=RetryPolicy(attempts=2, backoff=Backoff(base=0.01), sleep=lambda s: None))
    with pytest.raises(StorageUnavailable, match="could not be reached"):
        store.get("k")


def test_r2_settings_build_the_r2_endpoint(monkeypatch):
    for name, value in {"STORAGE_PROVIDER": "r2", "R2_ACCOUNT_ID": "acc123", "R2_ACCESS_KEY_ID": "id",
                        "R2_SECRET_ACCESS_KEY": SECRET, "R2_BUCKET_NAME": "videos"}.items():
        monkeypatch.setenv(name, value)
    store = open_store()
    assert store.provider == "r2" and store.bucket == "videos"
    assert store.client.meta.endpoint_url == "https://acc123.r2.cloudflarestorage.com"
    assert store.client.meta.region_name == "auto"
    assert SECRET not in repr(StorageSettings())


def test_incomplete_r2_settings_name_what_is_missing(monkeypatch):
    monkeypatch.setenv("STORAGE_PROVIDER", "r2")
    monkeypatch.setenv("R2_ACCOUNT_ID", "acc123")
    for name in ("R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "R2_BUCKET_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY, R2_BUCKET_NAME"):
        open_store()


def _body(data: bytes):
    import io

    from botocore.response import StreamingBody

    return StreamingBody(io.BytesIO(data), len(data))
