"""Quality presets: how many frames per second are analysed, and at what size.

Posture changes slowly next to a video's frame rate, so analysing every frame
buys little; the presets trade detail for time.  The inference size is the
long side of the decoded frame (never upscaled).

=========  ==============  ==========  ===========================================
preset     frames/second   long side   use
=========  ==============  ==========  ===========================================
low        2               480 px      quick screening; 1 h of video -> 7,200 frames
medium     5               640 px      the default; catches most posture changes
high       10              960 px      short clips, fast movements, small workers
=========  ==============  ==========  ===========================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    sample_fps: float
    long_side: int
    description: str
    #: Whether a job at this preset writes the annotated video (overlay.mp4) unless it says otherwise.
    overlay: bool = True

    def as_dict(self) -> dict:
        """The preset for clients, with its analysis time relative to the fastest preset."""
        fastest = min(preset.sample_fps for preset in PRESETS.values())
        return {**asdict(self), "relative_time": round(self.sample_fps / fastest, 1), "default": self.name == DEFAULT_PRESET}

    def target_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) with the long side about ``long_side`` (never upscaled).

        The width is a multiple of 32 (decord's decode-time resize fails on
        some other widths) and the height follows the exact aspect ratio, so
        angles measured on the frame are not distorted.
        """
        scale = min(1.0, self.long_side / max(width, height))
        target_w = max(32, int(round(width * scale / 32)) * 32)
        if target_w > width:  # tiny video: keep its own width
            target_w = width - width % 2
        target_h = max(2, int(round(target_w * height / width / 2)) * 2)
        return target_w, target_h


PRESETS: dict[str, Preset] = {
    "low": Preset("low", 2.0, 480, "2 frames per second at 480 px: quick screening", overlay=False),
    "medium": Preset("medium", 5.0, 640, "5 frames per second at 640 px: the default"),
    "high": Preset("high", 10.0, 960, "10 frames per second at 960 px: short clips and fast movements"),
}


#: The preset of a job that names none.
DEFAULT_PRESET = "medium"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"Unknown quality '{name}'; choose one of: {', '.join(PRESETS)}.") from None
