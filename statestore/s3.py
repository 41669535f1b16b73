"""The S3-family backends: AWS S3, Cloudflare R2 and LocalStack.

They differ only in endpoint, region and credentials (see
:mod:`statestore.settings`); the client is boto3 with path-style addressing and
SigV4 everywhere.  botocore's own retry loop is switched off so that exactly one
policy, :class:`~statestore.retry.RetryPolicy`, retries (with jittered backoff),
while *what* is retried is botocore's own classification (:func:`is_transient`):
throttling, 5xx and broken or timed-out connections, never a lost conditional
write (412/409).  A retried conditional write whose first try did reach the
server answers 412; the caller resolves that by re-reading (the engine's
status documents carry a write token for it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, TypeVar

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, IncompleteReadError
from botocore.retries.standard import (
    OrRetryChecker,
    RetryContext,
    ThrottledRetryableChecker,
    ThrottlingStatusCodeChecker,
    TransientRetryableChecker,
)

from .base import CHUNK_SIZE, ListPage, ObjectInfo, ObjectStore, StoredObject, UploadedPart, check_parts
from .errors import (
    AccessDenied,
    BucketNotFound,
    NotSupported,
    ObjectNotFound,
    PreconditionFailed,
    StorageUnavailable,
    StoreError,
)
from .keys import validate_key, validate_prefix
from .retry import RetryPolicy

T = TypeVar("T")

_DENIED_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "403"}

# botocore's own classification of what is worth retrying (its "standard" retry mode): transient errors
# (500/502/503/504, RequestTimeout, connection closed or reset, endpoint unreachable, connect and read
# timeouts), throttling codes (SlowDown...) and HTTP 429.  A truncated body (IncompleteReadError) is
# added: botocore leaves it to the caller, and re-reading an object is always safe.
_RETRYABLE = OrRetryChecker([
    TransientRetryableChecker(transient_exception_cls=(*TransientRetryableChecker._TRANSIENT_EXCEPTION_CLS, IncompleteReadError)),
    ThrottledRetryableChecker(),
    ThrottlingStatusCodeChecker(),
])


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class _StatusOnly:
    """What botocore's checkers read of an HTTP response: its status code."""

    def __init__(self, status_code: int):
        self.status_code = status_code


def is_transient(error: BaseException) -> bool:
    """Whether botocore's standard retry rules call ``error`` worth another try."""
    if isinstance(error, ClientError):
        context = RetryContext(attempt_number=1, parsed_response=error.response, http_response=_StatusOnly(_status(error)))
    elif isinstance(error, BotoCoreError):
        context = RetryContext(attempt_number=1, caught_exception=error)
    else:
        return False
    return _RETRYABLE.is_retryable(context)


class S3Store(ObjectStore):
    def __init__(
        self,
        bucket: str,
        *,
        provider: str = "s3",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        retry: RetryPolicy | None = None,
        client: Any | None = None,
    ):
        self.bucket = bucket
        self.provider = provider
        self.endpoint_url = endpoint_url
        self.retry = retry or RetryPolicy()
        #: Whether the service honours If-Match on DeleteObject (AWS S3 does; LocalStack 4.13 answers 501).
        self.conditional_deletes = True
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=10,
                # no byte for 20 s: the connection is stalled; the retry opens a fresh one
                read_timeout=20,
            ),
        )
        self._transfer = TransferConfig(multipart_threshold=CHUNK_SIZE, multipart_chunksize=CHUNK_SIZE, max_concurrency=4)

    # -- error translation ---------------------------------------------------
    def _call(self, fn: Callable[[], T], key: str | None = None, policy: RetryPolicy | None = None) -> T:
        try:
            return (policy or self.retry).call(fn, is_transient)
        except ClientError as error:
            raise self._translate(error, key) from None
        except BotoCoreError as error:
            raise StorageUnavailable(f"Storage at {self._where()} could not be reached: {type(error).__name__}.") from None

    def _where(self) -> str:
        return f"{self.provider} bucket '{self.bucket}'"

    def _translate(self, error: ClientError, key: str | None) -> StoreError:
        code, status = _code(error), _status(error)
        if code == "NoSuchBucket":
            return BucketNotFound(f"The {self._where()} does not exist; create it with 'ergo storage init'.")
        if code == "NoSuchUpload":
            return ObjectNotFound(f"No upload to '{key}' is in progress with that id (completed, aborted or expired).")
        if code in ("NoSuchKey", "404") or (status == 404 and key is not None):
            return ObjectNotFound(f"No object named '{key}'.")
        if status in (409, 412) or code in ("PreconditionFailed", "ConditionalRequestConflict"):
            return PreconditionFailed(f"'{key}' changed since it was read, or already exists.")
        if status == 501 or code == "NotImplemented":
            return NotSupported(f"The {self._where()} does not support this request ({code or status}).")
        if status == 403 or code in _DENIED_CODES:
            return AccessDenied(f"The {self._where()} refused the credentials ({code or status}); check the access key and secret.")
        if is_transient(error):
            return StorageUnavailable(f"The {self._where()} kept failing ({code or status}) after retries.")
        return StoreError(f"The {self._where()} answered {code or status}.")

    # -- contract ----------------------------------------------------------
    def get(self, key: str) -> StoredObject:
        validate_key(key)

        def read() -> StoredObject:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return StoredObject(body=response["Body"].read(), etag=response["ETag"])

        return self._call(read, key)

    def put(self, key, body, *, if_match=None, if_none_match=False, content_type="application/octet-stream") -> str:
        validate_key(key)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": bytes(body), "ContentType": content_type}
        if if_match is not None:
            params["IfMatch"] = if_match
        if if_none_match:
            params["IfNoneMatch"] = "*"
        try:
            return self._call(lambda: self.client.put_object(**params)["ETag"], key)
        except ObjectNotFound:
            # S3 answers If-Match on a missing key with 404; the contract says the precondition failed.
            raise PreconditionFailed(f"'{key}' does not exist, so it cannot match an ETag.") from None

    def head(self, key: str) -> ObjectInfo:
        validate_key(key)
        response = self._call(lambda: self.client.head_object(Bucket=self.bucket, Key=key), key)
        return ObjectInfo(key=key, size=response["ContentLength"], etag=response["ETag"], last_modified=response["LastModified"])

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        validate_key(key)
        params = {"Bucket": self.bucket, "Key": key}
        if if_match is not None and self.conditional_deletes:
            try:
                with contextlib.suppress(ObjectNotFound):  # a conditional delete of a missing object: gone either way
                    self._call(lambda: self.client.delete_object(**params, IfMatch=if_match), key)
                return
            except NotSupported:
                self.conditional_deletes = False  # e.g. LocalStack 4.13: check by reading instead, from now on
        if if_match is not None:
            # Without conditional deletes the check is a read just before the delete: a change landing in
            # between (milliseconds) is the one window left.
            try:
                if self.head(key).etag != if_match:
                    raise PreconditionFailed(f"'{key}' changed since it was read; it was not deleted.")
            except ObjectNotFound:
                return
        self._call(lambda: self.client.delete_object(**params), key)

    def list_page(self, prefix: str, *, start_after: str | None = None, limit: int = 1000) -> ListPage:
        validate_prefix(prefix)
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": limit}
        if start_after:
            params["StartAfter"] = start_after
        response = self._call(lambda: self.client.list_objects_v2(**params))
        items = [
            ObjectInfo(key=item["Key"], size=item["Size"], etag=item["ETag"], last_modified=item["LastModified"])
            for item in response.get("Contents", [])
        ]
        more = response.get("IsTruncated") and items
        return ListPage(items=items, next_start_after=items[-1].key if more else None)

    def upload_fileobj(self, key, fileobj: BinaryIO, *, content_type="application/octet-stream") -> str:
        validate_key(key)
        # boto3's transfer closes the stream it read; a retry starts again from where this upload began
        start = fileobj.tell() if fileobj.seekable() else None

        def attempt() -> None:
            if start is not None:
                fileobj.seek(start)
            self.client.upload_fileobj(_KeptOpen(fileobj), self.bucket, key, ExtraArgs={"ContentType": content_type},
                                       Config=self._transfer)

        # a stream that cannot be read twice is sent once
        self._call(attempt, key, policy=self.retry if start is not None else RetryPolicy(attempts=1))
        return self.head(key).etag

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        validate_key(key)
        response = self._call(lambda: self.client.get_object(Bucket=self.bucket, Key=key), key)
        try:
            yield from response["Body"].iter_chunks(chunk_size)
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"Reading '{key}' from the {self._where()} broke off: {type(error).__name__}.") from None

    def presign_put(self, key: str, expires_in: int, content_type: str | None = None, *, size: int | None = None,
                    new_only: bool = False) -> str:
        # Parameters given here become signed headers: a request with another length, type or without
        # If-None-Match does not match the signature and is refused by the service itself.
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": validate_key(key)}
        if content_type:
            params["ContentType"] = content_type
        if size is not None:
            params["ContentLength"] = size
        if new_only:
            params["IfNoneMatch"] = "*"
        return self.client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires_in)

    def start_upload(self, key: str, content_type: str = "application/octet-stream") -> str:
        validate_key(key)
        return self._call(lambda: self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type), key)[
            "UploadId"]

    def presign_part(self, key: str, upload_id: str, number: int, size: int, expires_in: int) -> str:
        params = {"Bucket": self.bucket, "Key": validate_key(key), "UploadId": upload_id, "PartNumber": number, "ContentLength": size}
        return self.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires_in)

    def uploaded_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        validate_key(key)
        parts, marker = [], 0
        while True:
            page = self._call(lambda: self.client.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                             PartNumberMarker=marker), key)  # noqa: B023 - called at once
            parts += [UploadedPart(number=p["PartNumber"], size=p["Size"], etag=p["ETag"]) for p in page.get("Parts", [])]
            if not page.get("IsTruncated"):
                return parts
            marker = page["NextPartNumberMarker"]

    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart]) -> str:
        validate_key(key)
        check_parts(key, parts)
        joined = {"Parts": [{"PartNumber": part.number, "ETag": part.etag} for part in sorted(parts, key=lambda p: p.number)]}
        return self._call(lambda: self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                                        MultipartUpload=joined, IfNoneMatch="*"), key)["ETag"]

    def abort_upload(self, key: str, upload_id: str) -> None:
        validate_key(key)
        with contextlib.suppress(ObjectNotFound):
            self._call(lambda: self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id), key)

    def presign_get(self, key: str, expires_in: int, filename: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": validate_key(key)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    def check(self) -> None:
        try:
            self._call(lambda: self.client.head_bucket(Bucket=self.bucket))
        except ObjectNotFound:
            raise BucketNotFound(f"The {self._where()} does not exist; create it with 'ergo storage init'.") from None

    def create_bucket(self) -> bool:
        """Create the bucket if missing; returns True if it was created."""
        try:
            self.check()
            return False
        except BucketNotFound:
            self._call(lambda: self.client.create_bucket(Bucket=self.bucket))
            return True


def bucket_rules(cors_origins: list[str], expire_days: dict[str, int]) -> tuple[dict, dict]:
    """The CORS rule a browser upload needs, and lifecycle rules expiring each prefix."""
    cors = {"CORSRules": [{"AllowedOrigins": cors_origins, "AllowedMethods": ["PUT", "GET", "HEAD"],
                           "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3600}]}
    rules = [{"ID": f"expire-{prefix.strip('/')}", "Filter": {"Prefix": prefix}, "Status": "Enabled",
              "Expiration": {"Days": days}} for prefix, days in expire_days.items() if days > 0]
    rules.append({"ID": "abort-incomplete-uploads", "Filter": {"Prefix": ""}, "Status": "Enabled",
                  "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})
    return cors, {"Rules": rules}


def configure_bucket(store: S3Store, cors_origins: list[str], expire_days: dict[str, int]) -> None:
    cors, lifecycle = bucket_rules(cors_origins, expire_days)
    store._call(lambda: store.client.put_bucket_cors(Bucket=store.bucket, CORSConfiguration=cors))
    store._call(lambda: store.client.put_bucket_lifecycle_configuration(Bucket=store.bucket, LifecycleConfiguration=lifecycle))


class _KeptOpen:
    """A stream boto3's transfer may read but not close, so that a retry can read it again."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def close(self) -> None:
        pass
