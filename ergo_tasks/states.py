"""Task states (Celery's names) and the one table of legal transitions.

::

    PENDING ──claim──▶ STARTED ──▶ PROGRESS ⟲
       ▲                 │            │
       │   lease lost /  ├────────────┼──▶ SUCCESS
       │   released /    ├────────────┼──▶ FAILURE ──resume──▶ PENDING
       │   waits for     │            │
       │   its parts     │            │
       ├─────────────────┤            │
       │                 └─retry──▶ RETRY ──claim──▶ STARTED
       └───────resume──── REVOKED ◀── cancel (from any unfinished state)

A PENDING job that waits for others (``waiting_for``: a chord's body, or a task
that handed out parts) is claimable once they have all succeeded, and goes
straight to FAILURE when one of them fails or is cancelled.

Anything not in :data:`TRANSITIONS` is an :class:`IllegalTransition`: a status
document is never silently overwritten with a state it cannot reach.
"""

from __future__ import annotations

import re
from enum import StrEnum

from .errors import IllegalTransition


class State(StrEnum):
    PENDING = "PENDING"
    STARTED = "STARTED"
    PROGRESS = "PROGRESS"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"


TRANSITIONS: dict[State, frozenset[State]] = {
    # claimed by a worker, cancelled before it ran, or failed by a job it waited for
    State.PENDING: frozenset({State.STARTED, State.REVOKED, State.FAILURE}),
    # running: report, finish, fail, retry, be cancelled, or go back to the
    # queue (lease expired or released by a worker that is shutting down)
    State.STARTED: frozenset({State.PROGRESS, State.SUCCESS, State.FAILURE, State.RETRY, State.REVOKED, State.PENDING}),
    State.PROGRESS: frozenset({State.PROGRESS, State.SUCCESS, State.FAILURE, State.RETRY, State.REVOKED, State.PENDING}),
    # waiting for its retry time; claimed like a pending job
    State.RETRY: frozenset({State.STARTED, State.REVOKED, State.FAILURE}),
    State.SUCCESS: frozenset(),
    # operator resume
    State.FAILURE: frozenset({State.PENDING}),
    State.REVOKED: frozenset({State.PENDING}),
}

#: What a task's own progress state (``update_state(state="UPLOADING")``) may be called, and the
#: ``meta`` key that carries it while the document itself is in PROGRESS.
CUSTOM_STATE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
CUSTOM_STATE_KEY = "custom_state"

#: States in which the job will not change by itself any more.
READY_STATES = frozenset({State.SUCCESS, State.FAILURE, State.REVOKED})
#: States a worker may claim.
CLAIMABLE_STATES = frozenset({State.PENDING, State.RETRY})
#: States in which a worker holds the lease.
RUNNING_STATES = frozenset({State.STARTED, State.PROGRESS})


def check_transition(current: State, target: State, job_id: str = "") -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target, job_id)
