"""The product's job: analysing a work video, on top of the engine.

Owns: the analysis task and its checkpoints (:mod:`.task`), the re-score task (:mod:`.rescore`), the files both leave
under ``results/`` (:mod:`.job_files`), its scratch folders on a worker's disk (:mod:`.scratch`), the key layout of
``uploads/``, ``checkpoints/`` and ``results/`` (:mod:`.keys`), webhook
notifications (:mod:`.notify`), retention (:mod:`.retention`), analysing a
file on this machine (:mod:`.local`), the demo and its check (:mod:`.demo`),
and its settings (:mod:`.settings`).  May import: the engine (``ergo_tasks``),
:mod:`pipeline` and :mod:`statestore`.

Register it on an app through the start-up path::

    app = bootstrap.start(TASK_MODULES)
"""

from __future__ import annotations

from ..app import TaskApp
from .notify import WebhookNotifier
from .rescore import RESCORE_TASK, register_rescore
from .retention import CheckpointCleanup
from .scratch import ScratchSweep
from .settings import AnalysisSettings
from .task import ANALYZE_TASK, Preload, register_analysis

#: What to give :func:`ergo_tasks.bootstrap.start` for an app that runs analyses.
TASK_MODULES = (__name__,)


def register(app: TaskApp, settings: AnalysisSettings | None = None) -> None:
    """Register the analysis and re-score tasks, and its webhook notifier when ``ERGO_WEBHOOK_URL`` is set."""
    settings = settings or AnalysisSettings()
    settings.prepare_process()  # before any analysis imports Torch in this process
    register_analysis(app, settings)
    register_rescore(app, settings)
    if not any(isinstance(m, CheckpointCleanup) for m in app.middleware):
        app.middleware.add(CheckpointCleanup())
    if not any(isinstance(m, Preload) for m in app.middleware):
        app.middleware.add(Preload())
    if not any(isinstance(m, ScratchSweep) for m in app.middleware):
        app.middleware.add(ScratchSweep())
    if settings.webhook_url and not any(isinstance(m, WebhookNotifier) for m in app.middleware):
        app.middleware.add(WebhookNotifier(settings.webhook_url))


__all__ = ["ANALYZE_TASK", "RESCORE_TASK", "TASK_MODULES", "AnalysisSettings", "register"]
