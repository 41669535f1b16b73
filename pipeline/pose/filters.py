"""MediaPipe's landmark filters over time: the One Euro filter and the low-pass filter, for arrays of values.

Reproduced from MediaPipe's ``util/filtering`` as its pose graph uses them
(``LandmarksSmoothingCalculator``, ``VisibilitySmoothingCalculator``), one
filter per value, all values of a bank stepping together (they share the
frame's timestamp):

* the low-pass filter returns its first value as is, then ``a * value + (1 - a) * last``;
* the One Euro filter (Casiez et al. 2012) low-passes the value with a cutoff
  that grows with its speed: ``min_cutoff + beta * |filtered speed|``, the speed
  estimated from the last raw value and scaled by ``value_scale`` (MediaPipe:
  the inverse of the person's size in pixels, so that smoothing does not
  depend on how large the person is in the picture).  Its frequency comes
  from the timestamps; like MediaPipe's, a timestamp not after the last one
  returns the value unfiltered, and a filter whose first timestamp was 0 keeps
  its default frequency (30 per second) for its second value.

A bank's state is a handful of arrays (:meth:`state` / :meth:`restore`), so a
checkpoint can carry it and a resumed analysis filters exactly as an
uninterrupted one.
"""

from __future__ import annotations

import math

import numpy as np

#: MediaPipe's OneEuroFilterOptions default frequency, used until two timestamps give the real one.
DEFAULT_FREQUENCY = 30.0
#: A filter's last timestamp before its first value (MediaPipe's: the smallest int64).
NEVER = -(2**63)


class LowPass:
    """Exponential smoothing with a fixed or per-call ``alpha``."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha
        self.raw: np.ndarray | None = None  # the last value given (None until the first)
        self.smoothed: np.ndarray | None = None

    def __call__(self, value: np.ndarray, alpha: float | np.ndarray | None = None) -> np.ndarray:
        alpha = self.alpha if alpha is None else alpha
        value = np.array(value, np.float64)  # a copy: the caller may write the result into the array it passed
        result = value if self.smoothed is None else alpha * value + (1.0 - alpha) * self.smoothed
        self.raw, self.smoothed = value, result
        return result

    def state(self) -> dict[str, np.ndarray]:
        return {} if self.raw is None else {"raw": self.raw, "smoothed": self.smoothed}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.raw, self.smoothed = state.get("raw"), state.get("smoothed")


def _alpha(frequency: float, cutoff: float | np.ndarray) -> float | np.ndarray:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau * frequency)


class OneEuro:
    """MediaPipe's ``OneEuroFilter`` for an array of values sharing timestamps (integer microseconds)."""

    def __init__(self, min_cutoff: float, beta: float, derivative_cutoff: float):
        self.min_cutoff, self.beta, self.derivative_cutoff = min_cutoff, beta, derivative_cutoff
        self.frequency = DEFAULT_FREQUENCY
        self.last_time = NEVER
        self.value = LowPass()
        self.speed = LowPass()

    def __call__(self, value: np.ndarray, time_us: int, value_scale: float = 1.0) -> np.ndarray:
        value = np.array(value, np.float64)
        if self.last_time >= time_us:
            return value  # MediaPipe: "results are unpredictable", the value is passed through
        if self.last_time != 0 and time_us != 0:
            self.frequency = 1e6 / (time_us - self.last_time)
        self.last_time = time_us
        speed = np.zeros_like(value) if self.value.raw is None else (value - self.value.raw) * value_scale * self.frequency
        smoothed_speed = self.speed(speed, _alpha(self.frequency, self.derivative_cutoff))
        return self.value(value, _alpha(self.frequency, self.min_cutoff + self.beta * np.abs(smoothed_speed)))

    def state(self) -> dict[str, np.ndarray]:
        own = {"frequency": np.float64(self.frequency), "last_time": np.int64(self.last_time)}
        return {**own, **{f"value.{k}": v for k, v in self.value.state().items()}, **{f"speed.{k}": v for k, v in self.speed.state().items()}}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.frequency, self.last_time = float(state["frequency"]), int(state["last_time"])
        for name, bank in (("value", self.value), ("speed", self.speed)):
            bank.restore({key.split(".", 1)[1]: v for key, v in state.items() if key.startswith(f"{name}.")})
