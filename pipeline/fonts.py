"""The one typeface of every text the project draws: posture pictures, the annotated video and the PDF report.

Open Sans, from the ``ttf-opensans`` package (Apache-2.0, the project's own licence), so ``pip install`` brings it
with the code: no system font is looked for.  Pillow's built-in font and the PDF's core fonts lack characters the
texts use (the dash of an unscored frame, the degree sign), and print a box or nothing in their place.
"""

from __future__ import annotations

import functools
import logging
from importlib.resources import files
from pathlib import Path

FAMILY = "Open Sans"
# fpdf2 embeds the typeface through fontTools' subsetter, which logs each font table it prunes at INFO: dozens of
# lines per PDF in a service's log (a comparison is drawn in the API's own process).  Its warnings still show.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


def _path(style: str) -> Path:
    return Path(str(files("ttf_opensans") / "ttf" / f"OpenSans-{style}.ttf"))


REGULAR = _path("Regular")
BOLD = _path("Bold")


@functools.lru_cache(maxsize=16)
def image_font(size: int, bold: bool = False):
    """The typeface at ``size`` pixels, for Pillow."""
    from PIL import ImageFont

    return ImageFont.truetype(str(BOLD if bold else REGULAR), size)
