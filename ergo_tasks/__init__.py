"""A Celery-style task queue whose only infrastructure is object storage: the generic engine.

Owns: states and their transition table, the status document (``status/``),
the work index (``queue/``), leases and heartbeats, execution, workers,
groups and chords (:mod:`.canvas`),
middleware, settings (``ERGO_*`` engine variables), logging, and the one
start-up path (:mod:`.bootstrap`).  May import: :mod:`statestore` only.

The layers above it live in subpackages and may import the engine, never the
other way round (enforced by import-linter, see ``setup.cfg``)::

    ergo_tasks.analysis   the product's job: the video analysis task and its files
    ergo_tasks.service    the job API, the HTTP gateway, RunPod dispatch, the API client
    ergo_tasks.cli        the `ergo` command

See ``docs/task-engine.md`` for the state machine, the status document and
the lease rules, and ``docs/writing-tasks.md`` for writing your own tasks.
"""

from .app import TaskApp
from .canvas import GroupResult, Signature, chord, group
from .errors import (
    CorruptStatus,
    EngineError,
    IllegalTransition,
    JobNotFound,
    OperationRefused,
    Retry,
    TaskError,
    TaskFailed,
    TaskRevoked,
    TimeLimitExceeded,
)
from .jobstore import JobStore
from .middleware import Middleware
from .result import AsyncResult
from .settings import TaskSettings
from .states import State
from .status import JobStatus
from .task import Task

__all__ = [
    "AsyncResult", "GroupResult", "Signature", "chord", "group", "CorruptStatus", "EngineError", "IllegalTransition", "JobNotFound", "JobStatus", "JobStore", "Middleware",
    "OperationRefused", "Retry", "State", "Task", "TaskApp", "TaskError", "TaskFailed", "TaskRevoked", "TaskSettings",
    "TimeLimitExceeded",
]
