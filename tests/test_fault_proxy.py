"""The fault proxy itself: transparent when told to be, counting what passes, breaking what it is told to break."""

from __future__ import annotations

import pytest

from statestore import PreconditionFailed
from statestore.retry import Backoff, RetryPolicy
from statestore.s3 import S3Store
from tests.fault_proxy import S3Proxy


def _through(proxy: S3Proxy, store: S3Store, attempts: int = 6) -> S3Store:
    return S3Store(store.bucket, provider="localstack", endpoint_url=proxy.url, region="us-east-1", access_key_id="test",
                   secret_access_key="test", retry=RetryPolicy(attempts=attempts, backoff=Backoff(base=0.01, cap=0.05)))


def test_a_quiet_proxy_is_transparent_and_counts(emulated_store):
    with S3Proxy(emulated_store.endpoint_url) as proxy:
        store = _through(proxy, emulated_store)
        etag = store.put("a/b", b"hello")
        assert store.get("a/b").body == b"hello" and store.head("a/b").size == 5
        with pytest.raises(PreconditionFailed):
            store.put("a/b", b"again", if_none_match=True)
        assert [info.key for info in store.list("a/")] == ["a/b"]
        store.delete("a/b", if_match=etag)
    assert proxy.requests["PUT"] == 2 and proxy.requests["LIST"] == 1 and proxy.requests["GET"] == 1
    assert proxy.conditional_refusals == 1 and not proxy.injected


def test_every_fault_is_survived_by_the_store(emulated_store):
    with S3Proxy(emulated_store.endpoint_url, fault_rate=0.3, seed=7, slow_s=0.05) as proxy:
        store = _through(proxy, emulated_store, attempts=10)
        for index in range(40):
            store.put(f"k/{index}", str(index).encode())
            assert store.get(f"k/{index}").body == str(index).encode()
    assert set(proxy.injected) == {"reset_before", "reset_after", "500", "503", "slow"}


def test_an_upload_whose_first_try_breaks_is_sent_again_whole(emulated_store, tmp_path):
    """boto3's transfer closes the stream it read: a retry must not meet a closed file (it once failed analyses)."""
    import io

    source = tmp_path / "result.xlsx"
    source.write_bytes(b"x" * 300_000)
    with S3Proxy(emulated_store.endpoint_url, fault_rate=1.0, faults=("reset_after",)) as proxy:
        store = _through(proxy, emulated_store, attempts=3)
        proxy.fault_rate = 0.0
        store.client.meta.events.register("before-send.s3.PutObject", _fail_once())
        store.upload_file("results/a.xlsx", source)
        store.upload_fileobj("results/b.bin", io.BytesIO(b"y" * 1000))
    assert emulated_store.get("results/a.xlsx").body == source.read_bytes()
    assert emulated_store.get("results/b.bin").body == b"y" * 1000


def _fail_once():
    from botocore.exceptions import ConnectionClosedError

    left = [2]

    def fail(**_kwargs):
        if left[0]:
            left[0] -= 1
            raise ConnectionClosedError(endpoint_url="http://127.0.0.1:1")

    return fail
