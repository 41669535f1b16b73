"""The faces found in a job's pictured frames, remembered so that a re-score does not search the same frames again.

Searching a frame for faces (BlazeFace over the whole frame and its tiles, :meth:`FaceDetector.faces`) is most of
what a posture picture costs: about a second a picture on a CPU, where scoring a whole video's poses takes a few.
What it finds depends on the frame alone, not on the scores drawn over it, and a re-score pictures mostly the frames
its original pictured (the postures held are the same; only the worst moments may move).  So the faces are
remembered by the frame's content (a hash of its pixels: a frame decoded differently is simply searched again) and
kept beside the pictures (``frames/faces.json``); a re-score starts from its original's.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .pose.blazeface import Face, FaceDetector

#: The file beside the pictures that keeps what was found.
FACES_FILE = "faces.json"


def frame_key(image: np.ndarray) -> str:
    """The frame's content: its shape and a hash of its pixels."""
    digest = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()
    return f"{'x'.join(map(str, image.shape))}:{digest}"


class RememberedFaces:
    """A face detector (``faces(image)``, as :class:`FaceDetector`) that answers from memory for a frame it, or the
    job it starts from (``known``, :meth:`to_bytes`'s), searched before, and searches the others."""

    def __init__(self, detector: FaceDetector, known: bytes | None = None):
        self.detector = detector
        self.found: dict[str, list[Face]] = _read(known) if known else {}
        self.searched = 0  # frames searched here (not remembered)

    def faces(self, image: np.ndarray) -> list[Face]:
        key = frame_key(image)
        if key not in self.found:
            self.found[key] = self.detector.faces(image)
            self.searched += 1
        return self.found[key]

    def to_bytes(self) -> bytes:
        return json.dumps({key: [{"score": float(face.score), "box": face.box.tolist(), "keypoints": face.keypoints.tolist()}
                                 for face in faces] for key, faces in self.found.items()}).encode()


def _read(data: bytes) -> dict[str, list[Face]]:
    """What :meth:`RememberedFaces.to_bytes` wrote; nothing where it cannot be read (the frames are searched again)."""
    from .pose.blazeface import Face

    try:
        return {key: [Face(float(face["score"]), np.asarray(face["box"]), np.asarray(face["keypoints"]))
                      for face in faces] for key, faces in json.loads(data).items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}
