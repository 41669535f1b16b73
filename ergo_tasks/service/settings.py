"""The service's settings, from the environment (``ERGO_*``, ``RUNPOD_*``) or a ``.env`` file: the one place this layer reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..analysis.settings import MAX_UPLOAD_BYTES

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
RUNPOD_API_BASE = "https://api.runpod.ai/v2"
#: S3's (and R2's) most parts per upload, and its smallest part size.
MAX_PARTS, MIN_PART_BYTES = 10_000, 5 * 1024**2
#: What marks an operator's token in ``ERGO_API_TOKENS``.
OPERATOR_SUFFIX = ":operator"


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ERGO_", env_file=".env", extra="ignore", populate_by_name=True)


class RunPodSettings(_Settings):
    """Where the RunPod endpoint is, for dispatching jobs and forwarding actions."""

    runpod_endpoint_id: str | None = Field(None, alias="RUNPOD_ENDPOINT_ID")
    runpod_api_key: SecretStr | None = Field(None, alias="RUNPOD_API_KEY")
    runpod_api_base: str = Field(RUNPOD_API_BASE, alias="RUNPOD_API_BASE")


class ServiceSettings(RunPodSettings):
    """The job service (``JobService``): URL lifetimes, size limit, dispatch."""

    upload_url_expiry_s: int = Field(3600, ge=1, le=7 * 86400)
    download_url_expiry_s: int = Field(600, ge=10, le=7 * 86400)
    max_upload_bytes: int = Field(MAX_UPLOAD_BYTES, gt=0)
    #: A file larger than this is uploaded in parts of this size, several at once and resumable (S3's
    #: smallest part is 5 MiB; parts grow for files that would need more than 10 000).
    upload_part_bytes: int = Field(16 * 1024**2, ge=MIN_PART_BYTES, le=5 * 1024**3)
    dispatch_mode: Literal["runpod", "worker", "inline"] = "worker"
    gpu_price_per_second: float = Field(0.00013, ge=0)
    #: A queued job not picked up this long after its dispatch is dispatched again by the next status read.
    stall_seconds: float = Field(120.0, gt=0)
    #: How long handing a job to RunPod may take, tries included, before the job is left queued.
    dispatch_timeout_s: float = Field(5.0, gt=0, le=60)
    #: A dispatch that failed is tried again by a status read this long after it.
    dispatch_retry_s: float = Field(5.0, ge=0)
    #: Requests one RunPod worker takes at once: 1 on a GPU endpoint; more on a CPU endpoint for the light actions.
    handler_concurrency: int = Field(1, ge=1, le=64)


class GatewaySettings(RunPodSettings):
    """The HTTP gateway (``ergo serve``)."""

    serve_backend: Literal["embedded", "runpod"] = "embedded"
    #: Comma-separated tokens; a final ``:operator`` grants the operator role.  A token is the whole entry otherwise,
    #: ':' and '=' included (``alice:s3cret`` is one token); it may not contain ',' or white space.
    api_tokens: SecretStr | None = None
    #: A file with one ``token`` or ``token operator`` per line (``#`` starts a comment line).
    api_tokens_file: Path | None = None
    #: Comma-separated origins allowed to call the API and upload to the bucket from a browser.
    cors_origins: str = ""
    #: Comma-separated host names (besides localhost and the loopback addresses) a server without tokens answers to.
    allowed_hosts: str = ""
    rate_limit_per_minute: float = Field(120.0, gt=0)
    rate_limit_burst: int = Field(30, ge=1)
    serve_workers: int = Field(1, ge=0, le=16)
    frontend_dir: Path = FRONTEND

    def origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    def hosts(self) -> set[str]:
        """The names a server without tokens answers to (the ``Host`` header, without its port)."""
        return {"localhost", "127.0.0.1", "::1", *(host.strip().lower() for host in self.allowed_hosts.split(",") if host.strip())}

    def tokens(self) -> dict[str, str]:
        """token -> role ("user" or "operator"), read the one way the format above says: never cut at a ':' or '='."""
        tokens = {}
        if self.api_tokens:
            for entry in filter(None, (e.strip() for e in self.api_tokens.get_secret_value().split(","))):
                token, operator = (entry[:-len(OPERATOR_SUFFIX)], True) if entry.endswith(OPERATOR_SUFFIX) else (entry, False)
                tokens[token] = "operator" if operator else "user"
        if self.api_tokens_file:
            for parts in (line.split() for line in self.api_tokens_file.read_text().splitlines()):
                if parts and not parts[0].startswith("#"):
                    tokens[parts[0]] = "operator" if parts[1:2] == ["operator"] else "user"
        return tokens


class ClientSettings(_Settings):
    """The API client (``ergo submit``)."""

    api_url: str = "http://127.0.0.1:8000"
    api_token: SecretStr | None = None
    #: Where an upload in parts is remembered, so that running ``ergo submit`` again resumes it.
    upload_state_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "ergo" / "uploads")
