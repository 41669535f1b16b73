"""structlog setup: JSON lines in production, readable lines on a terminal.

Every line a worker writes about a job carries ``job_id`` and ``worker_id``
(bound in :mod:`ergo_tasks.execution` and :mod:`ergo_tasks.worker`).  The
standard library's loggers (uvicorn, botocore) and Python's warnings go
through the same renderer, so a JSON process prints nothing but JSON, and a
logged exception keeps its traceback (as a structured ``exception`` field in
JSON).
"""

from __future__ import annotations

import logging
import sys

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def configure_logging(log_format: str = "auto", level: str = "INFO") -> None:
    """Configure structlog and the standard library's root logger alike; safe to call again."""
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    if use_json:
        tail = [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    else:
        tail = [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    numeric_level = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[*_SHARED, *tail],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        # one write per line (PrintLogger writes the newline separately), so the lines of worker processes
        # sharing one stderr pipe never interleave mid-line
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric_level)
    logging.captureWarnings(True)
