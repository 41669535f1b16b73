"""Save checkpoints behind the computation, in a background thread.

A chunk of poses takes a second or two to compute; writing it to a slow bucket
can take 50-100 ms per request, and more when the storage layer retries.  Saved
in line, every write stalls inference.  :class:`WriteBehind` hands each chunk to
a writer thread instead, with a bounded number waiting (the analysis blocks
only when the bucket falls that far behind), and leaving the ``with`` block
waits for every write: when the analysis returns, its checkpoints are stored.

A failed write is not lost: it is raised in the analysis at its next ``save``
or when the block ends, and the writes queued after it are dropped (the chunks
are computed again on resume, like any chunk whose checkpoint is missing).
"""

from __future__ import annotations

import queue
import threading
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .analysis import Checkpoints, ChunkResult

_STOP = object()


class WriteBehind:
    """A context manager around ``checkpoints`` whose ``save`` returns before the write is done."""

    def __init__(self, checkpoints: Checkpoints, depth: int = 2):
        self._checkpoints = checkpoints
        self._waiting: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._failure: BaseException | None = None  # the first failed write; nothing is written after it
        self._reported = False
        self._thread = threading.Thread(target=self._write, name="checkpoint-writer", daemon=True)

    def __enter__(self) -> WriteBehind:
        self._thread.start()
        return self

    def save(self, chunk: ChunkResult) -> None:
        """Queue ``chunk`` for writing (blocks while ``depth`` writes wait); raises an earlier write's failure."""
        self._raise_failure()
        self._waiting.put(chunk)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._waiting.put(_STOP)
        self._thread.join()
        if kind is None:  # an error in the block is the one to report; a write's failure would hide it
            self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None and not self._reported:
            self._reported = True
            raise self._failure

    def _write(self) -> None:
        while (chunk := self._waiting.get()) is not _STOP:
            if self._failure is None:
                try:
                    self._checkpoints.save(chunk)
                except BaseException as failure:  # noqa: BLE001 - handed to the analysis's thread
                    self._failure = failure
