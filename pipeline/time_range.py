"""Part of a video to analyse (a task cycle): the rule for a range, which frames fall in it, and the words for it.

A range is half-open, ``start_s <= t < end_s`` in the video's own time (``end_s`` None: to the video's end).  Only
sampled frames in it are decoded and analysed; they are the very frames a whole-video analysis samples there
(:func:`within` filters the same sampling grid), so timestamps stay the video's own and a range of a stored
analysis picks the same frames as a fresh analysis of that range.  The API's request model, the CLI and the
worker all check a range with :meth:`TimeRange.checked`, so it is refused in the same words everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import PipelineError


class RangeOutsideVideo(PipelineError):
    """The time range asked for starts at or after the video's end, or holds no analysed frame."""

    code = "range_outside_video"


@dataclass(frozen=True)
class TimeRange:
    """Seconds into the video: ``start_s`` (inclusive) to ``end_s`` (exclusive; None: the video's end)."""

    start_s: float = 0.0
    end_s: float | None = None

    @classmethod
    def checked(cls, start_s: float | None, end_s: float | None) -> TimeRange | None:
        """The range ``start_s``-``end_s`` (either may be None), or None when neither is given (the whole video);
        a range that cannot be one is refused with a ValueError in words."""
        if start_s is None and end_s is None:
            return None
        for name, value in (("start", start_s), ("end", end_s)):
            if value is not None and not (np.isfinite(value) and value >= 0):
                raise ValueError(f"The range's {name} ({value}) must be a number of seconds, 0 or more.")
        start = float(start_s or 0.0)
        if end_s is not None and end_s <= start:
            raise ValueError(f"The range's end ({end_s:g} s) must come after its start ({start:g} s).")
        return cls(start, None if end_s is None else float(end_s))

    def fitted(self, duration_s: float) -> TimeRange:
        """This range within a video of ``duration_s``: an end past the video's end is clipped to it (and said, in
        :func:`range_words`); a range that starts at or after the end is refused in words."""
        if self.start_s >= duration_s:
            raise RangeOutsideVideo(f"The range starts at {self.start_s:g} s, but the video is only {long_duration(duration_s)} "
                                    f"long; choose a start before its end.")
        end = duration_s if self.end_s is None else min(self.end_s, duration_s)
        return TimeRange(self.start_s, end)

    def as_kwargs(self) -> dict[str, float]:
        """As a job's keyword arguments (``start_s``/``end_s``; an unset end left out)."""
        return {"start_s": self.start_s, **({} if self.end_s is None else {"end_s": self.end_s})}


def within(indices: np.ndarray, fps: float, span: TimeRange | None) -> np.ndarray:
    """The frames of ``indices`` shown within ``span`` (all of them when it is None)."""
    if span is None:
        return indices
    times = np.asarray(indices, np.float64) / fps
    keep = times >= span.start_s
    if span.end_s is not None:
        keep &= times < span.end_s
    return indices[keep]


def restrict(indices: np.ndarray, fps: float, duration_s: float, span: TimeRange | None) -> np.ndarray:
    """The sampled ``indices`` within ``span`` fitted to the video; refused in words when none is left."""
    if span is None:
        return indices
    fitted = span.fitted(duration_s)
    kept = within(indices, fps, fitted)
    if not len(kept):
        raise RangeOutsideVideo(f"The range {fitted.start_s:g}-{fitted.end_s:g} s holds no analysed frame at this quality "
                                f"(about {len(indices) / max(duration_s, 1e-9):.0f} a second); choose a longer one.")
    return kept


def long_duration(seconds: float) -> str:
    """A video's length for people: 47.5 s, 2 min 10 s."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s"


def range_words(start_s: float, end_s: float, duration_s: float, asked_end_s: float | None = None) -> str:
    """"analysed 12.0 s – 47.5 s of 2 min 10 s", as the report, the workbook and the page say it."""
    clipped = (f" (the range asked for ended at {asked_end_s:.1f} s, after the video's end)"
               if asked_end_s is not None and asked_end_s > end_s else "")
    return f"analysed {start_s:.1f} s – {end_s:.1f} s of {long_duration(duration_s)}{clipped}"


def clock(seconds: float) -> str:
    """A moment in the video as a clock shows it: 1:40, with tenths only where there are some (0:12.5)."""
    minutes, tenths = divmod(round(seconds * 10), 600)
    whole = f"{minutes}:{tenths // 10:02d}"
    return whole if tenths % 10 == 0 else f"{whole}.{tenths % 10}"


def asked_words(span: TimeRange) -> str:
    """"0:12–1:40 of the video": the part a job was asked to analyse, in words that need no video length (a job
    queued or running does not know it yet; its result then says :func:`range_words`)."""
    if span.end_s is None:
        return f"{clock(span.start_s)} to the end of the video"
    return f"{clock(span.start_s)}–{clock(span.end_s)} of the video"


def parse_time(text: str) -> float:
    """Seconds from the command line: ``47.5``, ``1:05`` or ``1:02:03`` (h:mm:ss); refused in words otherwise."""
    parts = text.strip().split(":")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise ValueError(f"'{text}' is not a time: give seconds (47.5) or minutes and seconds (1:05).") from None
    if len(numbers) > 3 or any(number < 0 for number in numbers) or any(number >= 60 for number in numbers[1:]):
        raise ValueError(f"'{text}' is not a time: give seconds (47.5) or minutes and seconds (1:05).")
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return seconds
