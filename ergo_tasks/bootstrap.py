"""The one start-up path of every ergo process.

``ergo worker`` (and each of its child processes), ``ergo serve``, ``ergo
analyze`` and the RunPod handler all begin here::

    app = bootstrap.start(["ergo_tasks.analysis"])

It reads the engine's settings, configures logging once for the process, and
registers tasks explicitly: each named module has a ``register(app)`` function
(importing a module registers nothing).  Modules named in ``ERGO_IMPORTS`` are
registered too.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from statestore import ObjectStore

from .app import TaskApp
from .errors import TaskModuleInvalid
from .logs import configure_logging
from .settings import TaskSettings


def configure(settings: TaskSettings | None = None, log_level: str | None = None) -> TaskSettings:
    """Read the engine's settings and configure logging from them (for commands that need no app)."""
    settings = settings or TaskSettings()
    configure_logging(settings.log_format, log_level or settings.log_level)
    return settings


def start(task_modules: Sequence[str] = (), *, settings: TaskSettings | None = None, store: ObjectStore | None = None,
          log_level: str | None = None) -> TaskApp:
    """Configure logging and build the process's app with the tasks of ``task_modules`` registered."""
    settings = configure(settings, log_level)
    app = TaskApp(store=store, settings=settings)
    register_tasks(app, [*task_modules, *settings.imports])
    return app


def register_tasks(app: TaskApp, modules: Sequence[str]) -> None:
    """Call ``register(app)`` of each module, once each, in order."""
    for name in dict.fromkeys(modules):
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            raise TaskModuleInvalid(f"The task module '{name}' cannot be imported ({error}).") from None
        register = getattr(module, "register", None)
        if not callable(register):
            raise TaskModuleInvalid(f"The task module '{name}' has no register(app) function to register its tasks.")
        register(app)
