"""The engine's settings, from the environment (``ERGO_*``) or a ``.env`` file: the one place the engine reads them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class TaskSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ERGO_", env_file=".env", extra="ignore")

    #: How long a claimed job stays leased without a heartbeat (the visibility timeout).
    lease_seconds: float = Field(60.0, gt=0)
    #: How often a running job renews its lease (must be well under lease_seconds).
    heartbeat_seconds: float = Field(15.0, gt=0)
    #: Minimum gap between two writes of one status document by its worker
    #: (R2 allows about one write per second per key).  Progress is coalesced.
    status_write_interval: float = Field(2.0, ge=0)
    #: How long an idle worker waits before looking for work again.
    poll_seconds: float = Field(1.0, gt=0)
    #: On SIGTERM, how long a worker lets its running job continue before releasing it.
    shutdown_grace_seconds: float = Field(30.0, ge=0)
    #: Default retry budget of a task that does not set max_retries.
    max_retries: int = Field(3, ge=0)
    #: Modules a worker imports to register tasks (comma-separated in the environment).
    imports: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Run tasks in the calling process at apply_async() (tests, `ergo analyze`).
    eager: bool = False
    #: ``console`` (readable), ``json`` (production) or ``auto`` (console on a terminal).
    log_format: str = Field("auto", pattern="^(auto|json|console)$")
    log_level: str = "INFO"

    @field_validator("imports", mode="before")
    @classmethod
    def _split_imports(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @model_validator(mode="after")
    def _heartbeat_fits_in_lease(self) -> TaskSettings:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError("ERGO_HEARTBEAT_SECONDS must be smaller than ERGO_LEASE_SECONDS, or leases expire while jobs run.")
        return self
