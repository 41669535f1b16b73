"""Storage settings, read from the environment (and a ``.env`` file): the one place this package reads it.

``STORAGE_PROVIDER`` picks the backend:

=============  ==============================================================
``local``      the default: a directory (``ERGO_DATA_DIR``), no account needed
``s3``         AWS S3: ``S3_BUCKET_NAME``, ``AWS_REGION`` and the usual AWS
               credential chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``)
``r2``         Cloudflare R2: ``R2_ACCOUNT_ID``, ``R2_ACCESS_KEY_ID``,
               ``R2_SECRET_ACCESS_KEY``, ``R2_BUCKET_NAME``
``localstack`` LocalStack: ``AWS_ENDPOINT_URL`` (default: what localstack-client
               derives from ``LOCALSTACK_HOST``, i.e. ``http://localhost:4566``)
               and ``S3_BUCKET_NAME``; dummy credentials ``test``/``test``
=============  ==============================================================
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .base import ObjectStore
from .errors import ConfigurationError

Provider = Literal["local", "s3", "r2", "localstack"]
#: Where ``ergo serve`` listens unless told otherwise.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def default_data_dir() -> Path:
    """Per-user data directory (XDG on Linux), overridable by ``ERGO_DATA_DIR``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ergo"


class StorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    provider: Provider = Field("local", alias="STORAGE_PROVIDER")
    data_dir: Path = Field(default_factory=default_data_dir, alias="ERGO_DATA_DIR")
    #: Where the local backend's signed URLs point (the server that serves them); unset: the local
    #: gateway's own address, which ``ergo serve`` fills in.
    public_url: str | None = Field(None, alias="ERGO_PUBLIC_URL")

    bucket: str | None = Field(None, alias="S3_BUCKET_NAME")
    region: str | None = Field(None, alias="AWS_REGION")
    endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")
    aws_access_key_id: str | None = Field(None, alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr | None = Field(None, alias="AWS_SECRET_ACCESS_KEY")

    r2_account_id: str | None = Field(None, alias="R2_ACCOUNT_ID")
    r2_access_key_id: str | None = Field(None, alias="R2_ACCESS_KEY_ID")
    r2_secret_access_key: SecretStr | None = Field(None, alias="R2_SECRET_ACCESS_KEY")
    r2_bucket_name: str | None = Field(None, alias="R2_BUCKET_NAME")


def _require(settings: StorageSettings, *names: str) -> None:
    missing = [name for name in names if not getattr(settings, name)]
    if missing:
        aliases = [StorageSettings.model_fields[name].alias for name in missing]
        raise ConfigurationError(f"STORAGE_PROVIDER={settings.provider} needs {', '.join(aliases)} to be set.")


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def open_store(settings: StorageSettings | None = None) -> ObjectStore:
    """Build the configured backend."""
    settings = settings or StorageSettings()
    if settings.provider == "local":
        from .local import LocalStore

        return LocalStore(settings.data_dir / "store", public_url=settings.public_url or DEFAULT_PUBLIC_URL)

    from .s3 import S3Store

    if settings.provider == "r2":
        _require(settings, "r2_account_id", "r2_access_key_id", "r2_secret_access_key", "r2_bucket_name")
        return S3Store(
            settings.r2_bucket_name,
            provider="r2",
            endpoint_url=f"https://{settings.r2_account_id}.r2.cloudflarestorage.com",
            region="auto",
            access_key_id=settings.r2_access_key_id,
            secret_access_key=_secret(settings.r2_secret_access_key),
        )
    _require(settings, "bucket")
    if settings.provider == "localstack":
        from localstack_client.config import get_service_endpoint

        return S3Store(
            settings.bucket,
            provider="localstack",
            endpoint_url=settings.endpoint_url or get_service_endpoint("s3"),
            region=settings.region or "us-east-1",
            access_key_id=settings.aws_access_key_id or "test",
            secret_access_key=_secret(settings.aws_secret_access_key) or "test",
        )
    return S3Store(
        settings.bucket,
        provider="s3",
        endpoint_url=settings.endpoint_url,
        region=settings.region,
        access_key_id=settings.aws_access_key_id,
        secret_access_key=_secret(settings.aws_secret_access_key),
    )
