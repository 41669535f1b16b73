"""Exponential backoff with full jitter, for transient storage failures.

One policy object is shared by the storage backends (throttling, 5xx and
connection errors) and the task engine (task retries), so "backoff" means the
same thing everywhere.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delays of ``base * 2**attempt`` seconds, capped, optionally fully jittered.

    Full jitter (a uniform draw in ``[0, delay]``) spreads out clients that
    failed together, which is what a throttled service needs.
    """

    base: float = 0.2
    cap: float = 10.0
    jitter: bool = True

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt)))
        if not self.jitter:
            return ceiling
        return (rng or random).uniform(0, ceiling)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry ``fn`` while ``is_transient(error)`` says so, up to ``attempts`` tries."""

    attempts: int = 5
    backoff: Backoff = Backoff()
    sleep: Callable[[float], None] = time.sleep

    def call(self, fn: Callable[[], T], is_transient: Callable[[BaseException], bool]) -> T:
        for attempt in range(self.attempts):
            try:
                return fn()
            except Exception as error:  # noqa: BLE001 - the predicate decides
                if attempt + 1 >= self.attempts or not is_transient(error):
                    raise
                self.sleep(self.backoff.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover
