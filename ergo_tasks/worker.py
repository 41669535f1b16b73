"""``ergo worker``: processes that claim jobs from storage and run them.

Each process runs :class:`Worker` alone (one job at a time); ``--concurrency
N`` starts N such processes under a small supervisor (:class:`WorkerPool`),
which replaces a child that died unasked (OOM-killed, say).  Shutdown is clean:

* first SIGTERM / SIGINT: stop claiming; the running job may finish within
  ``ERGO_SHUTDOWN_GRACE_SECONDS``, after which it is handed back to the queue
  at its next checkpoint (keeping its checkpoint, without using an attempt);
* second signal (a second or more later): exit now; the job's lease expires and another worker takes it.

The signal handlers only assign: a handler runs in the main thread between two of its instructions, and one that
logged (or took any lock) while that thread held the same lock, writing a log line, would wait for itself forever.
What a signal asked for is logged by the loop, or at the running task's next checkpoint.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from types import FrameType

import structlog

from . import bootstrap
from .app import TaskApp, default_worker_id
from .execution import execute

log = structlog.get_logger(__name__)

#: A second signal makes a worker leave at once only this long after the first (seconds): Ctrl-C in a terminal reaches
#: the pool and its children together, and the pool forwards it as well, so each child gets one request twice, within
#: milliseconds.
REPEATED_SIGNAL_SECONDS = 1.0


class Worker:
    def __init__(self, app: TaskApp, worker_id: str | None = None):
        self.app = app
        self.worker_id = worker_id or default_worker_id()
        self.stopping = threading.Event()
        self._stop_requested_at: float | None = None
        self._stop_signal: str | None = None  # the signal that asked, until the stop is logged
        self.log = log.bind(worker_id=self.worker_id)

    def request_stop(self) -> None:
        """Stop after the running job (from any thread; a signal handler calls :meth:`signalled`)."""
        if self._stop_requested_at is None:
            self._stop_requested_at = time.monotonic()
        self.stopping.set()

    def signalled(self, signum: int) -> None:
        """What SIGTERM / SIGINT do: assignments only, no lock taken, nothing logged (see the module's docstring).
        The first asks for a stop, as :meth:`request_stop` does; a second one (:data:`REPEATED_SIGNAL_SECONDS` or
        more later) leaves now."""
        now = time.monotonic()
        if self._stop_requested_at is None:
            self._stop_signal = signal.Signals(signum).name
            self._stop_requested_at = now
        elif now - self._stop_requested_at >= REPEATED_SIGNAL_SECONDS:
            raise SystemExit(128 + signum)  # leave now; the job's lease will expire

    def _stop_asked(self) -> bool:
        """Whether a stop was asked for; the first call after a signal logs it (outside the handler)."""
        if self._stop_signal is not None:
            self.log.info("worker.stopping", signal=self._stop_signal)
            self._stop_signal = None
        return self._stop_requested_at is not None

    def _must_release(self) -> bool:
        """True once a stop was requested and the grace period is over."""
        started = self._stop_requested_at
        return self._stop_asked() and time.monotonic() - started >= self.app.settings.shutdown_grace_seconds

    def run_once(self) -> bool:
        """Claim and run one job; False if there was nothing to do."""
        claimed = self.app.queue.claim(self.worker_id, tasks=set(self.app.tasks))
        if claimed is None:
            return False
        settings = self.app.settings
        execute(self.app.tasks[claimed.doc.task], claimed, self.app.queue, worker_id=self.worker_id,
                write_interval=settings.status_write_interval, heartbeat_seconds=settings.heartbeat_seconds,
                should_stop=self._must_release)
        return True

    def run(self, max_jobs: int | None = None) -> int:
        """Work until asked to stop (or after ``max_jobs``); returns how many jobs ran."""
        structlog.contextvars.bind_contextvars(worker_id=self.worker_id)
        self.app.middleware.after_worker_boot(self.app)
        self.log.info("worker.started", tasks=sorted(self.app.tasks))
        done = 0
        while not self._stop_asked() and (max_jobs is None or done < max_jobs):
            try:
                worked = self.run_once()
            except Exception as error:  # noqa: BLE001 - storage trouble: log, back off, go on
                self.log.error("worker.loop_error", error=str(error), error_type=type(error).__name__)
                worked = False
            done += worked
            if not worked:
                # jitter keeps a fleet of idle workers from polling in lockstep (a signal is seen when the wait ends)
                self.stopping.wait(self.app.settings.poll_seconds * random.uniform(0.5, 1.5))
        self.log.info("worker.stopped", jobs=done)
        return done


def _install_signal_handlers(worker: Worker) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        worker.signalled(signum)

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _child_main(modules: list[str], index: int) -> None:
    app = bootstrap.start(modules)  # a spawned child starts like any ergo process: logging, then tasks
    worker = Worker(app, f"{default_worker_id()}-{index}")
    _install_signal_handlers(worker)
    worker.run()


def run_workers(app: TaskApp, modules: list[str], concurrency: int = 1) -> None:
    """Run ``concurrency`` worker processes until SIGTERM / SIGINT.

    ``app`` was started with the task ``modules``; child processes start their
    own app from the same list.
    """
    if concurrency <= 1:
        worker = Worker(app)
        _install_signal_handlers(worker)
        worker.run()
        return
    WorkerPool(app, modules, concurrency).run()


class WorkerPool:
    """``size`` worker processes, kept at ``size``: a child that dies while the pool is not stopping is replaced,
    with an error in the log and an alert (the app's middleware, ``on_worker_lost``), as RQ's ``WorkerPool`` does.

    Signals are forwarded to the children (the first asks them to stop, a second makes them leave now).
    """

    #: How often the supervisor looks at its children, in seconds.
    check_seconds = 0.5

    def __init__(self, app: TaskApp, modules: list[str], size: int):
        self.app, self.modules, self.size = app, modules, size
        self.context = multiprocessing.get_context("spawn")  # fresh interpreters: boto3 clients are not fork-safe
        self.children: dict[int, multiprocessing.process.BaseProcess] = {}
        self.stopping = False  # set by a signal's handler: an assignment (see the module's docstring)

    def run(self) -> None:
        for index in range(self.size):
            self._start(index)
        signal.signal(signal.SIGTERM, self._forward)
        signal.signal(signal.SIGINT, self._forward)
        while not self.stopping:
            for index, child in list(self.children.items()):
                if child.exitcode is not None and not self.stopping:
                    self._replace(index, child)
            time.sleep(self.check_seconds)
        log.info("worker.pool_stopping", children=len(self.children))
        for child in self.children.values():
            child.join()

    def _start(self, index: int) -> None:
        child = self.context.Process(target=_child_main, args=(self.modules, index), name=f"ergo-worker-{index}")
        child.start()
        self.children[index] = child

    def _replace(self, index: int, child: multiprocessing.process.BaseProcess) -> None:
        code = child.exitcode or 0
        cause = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        log.error("worker.child_died", worker=child.name, pid=child.pid, exitcode=code,
                  signal=signal.Signals(-code).name if code < 0 else None, cause=cause)
        self._start(index)
        self.app.middleware.on_worker_lost(self.app, child.name, cause)

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for child in self.children.values():
            if child.is_alive() and child.pid:
                os.kill(child.pid, signum)
