"""Quality presets: how many frames per second are analysed.

Posture changes slowly next to a video's frame rate, so analysing every frame
buys little; the presets trade detail in time for analysis time.  They do not
change the size frames are read at: every preset reads them with the long side
at ``ANALYSIS_LONG_SIDE`` (never upscaled), so a frame shows the same pixels,
and so the same posture, whichever preset analyses it.  (Reading ``low`` at
480 px and ``high`` at 960 px once gave the same frame angles up to 20 degrees
apart: BlazePose's single-frame estimate moves by several degrees with the
resolution alone; benchmarks/preset_consistency.py.)

=========  ==============  ===========================================
preset     frames/second   use
=========  ==============  ===========================================
low        2               quick screening; 1 h of video -> 7,200 frames
medium     5               the default; catches most posture changes
high       10              short clips, fast movements
=========  ==============  ===========================================

A worker smaller than ``MIN_PERSON_PX`` in the frames read is measured less
reliably; the analysis says so (see :func:`person_size_warning`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: The long side of the frames every preset reads (pixels; smaller videos are read at their own size).
ANALYSIS_LONG_SIDE = 960
#: The smallest worker (height of the body's landmarks in the frames read, pixels) whose angles the analysis
#: stands by: on benchmarks/preset_consistency.py's full-body figure, down to 150 px the trunk and neck angles stay
#: within 4 degrees of the figure's at 600 px (the arms within 8, as they vary at any size); at 100 px the trunk is
#: 13.5 degrees off.
MIN_PERSON_PX = 150


def analysis_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) frames are read at: the long side about ``ANALYSIS_LONG_SIDE`` (never upscaled).

    The width is a multiple of 32 (decord's decode-time resize fails on some other widths) and the height
    follows the exact aspect ratio, so angles measured on the frame are not distorted.
    """
    scale = min(1.0, ANALYSIS_LONG_SIDE / max(width, height))
    target_w = max(32, int(round(width * scale / 32)) * 32)
    if target_w > width:  # tiny video: keep its own width
        target_w = width - width % 2
    target_h = max(2, int(round(target_w * height / width / 2)) * 2)
    return target_w, target_h


def person_size_warning(height_px: float | None, preset: str) -> str | None:
    """Words for the person who reads the result when the worker (median ``height_px`` in the frames read) is
    smaller than ``MIN_PERSON_PX``; None otherwise."""
    if height_px is None or height_px >= MIN_PERSON_PX:
        return None
    return (f"The worker is about {height_px:.0f} px tall in the analysed frames, below the {MIN_PERSON_PX} px this analysis "
            f"measures reliably: angles may be several degrees off. Film closer, or at a higher resolution, so that the "
            f"worker fills most of the frame's height (the quality preset, '{preset}', does not change this).")


@dataclass(frozen=True)
class Preset:
    name: str
    sample_fps: float
    description: str
    #: Whether a job at this preset writes the annotated video (overlay.mp4) unless it says otherwise.
    overlay: bool = True

    def as_dict(self) -> dict:
        """The preset for clients, with its analysis time relative to the fastest preset."""
        fastest = min(preset.sample_fps for preset in PRESETS.values())
        return {**asdict(self), "relative_time": round(self.sample_fps / fastest, 1), "default": self.name == DEFAULT_PRESET}


PRESETS: dict[str, Preset] = {
    "low": Preset("low", 2.0, "2 frames per second: quick screening", overlay=False),
    "medium": Preset("medium", 5.0, "5 frames per second: the default"),
    "high": Preset("high", 10.0, "10 frames per second: short clips and fast movements"),
}


#: The preset of a job that names none.
DEFAULT_PRESET = "medium"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"Unknown quality '{name}'; choose one of: {', '.join(PRESETS)}.") from None
