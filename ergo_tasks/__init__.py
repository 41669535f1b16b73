"""A Celery-style task queue whose only infrastructure is object storage.

See ``docs/task-engine.md`` for the state machine, the status document and
the lease rules.
"""

from .app import AsyncResult, Task, TaskApp
from .config import TaskSettings
from .errors import Retry, TaskError, TaskFailed, TaskRevoked, TimeLimitExceeded
from .jobstore import CorruptStatus, JobNotFound, JobStore
from .models import JobStatus
from .states import IllegalTransition, State

#: The application ``ergo worker`` runs; its storage comes from the environment.
default_app = TaskApp()

__all__ = [
    "AsyncResult", "CorruptStatus", "IllegalTransition", "JobNotFound", "JobStatus", "JobStore", "Retry", "State",
    "Task", "TaskApp", "TaskError", "TaskFailed", "TaskRevoked", "TaskSettings", "TimeLimitExceeded", "default_app",
]
