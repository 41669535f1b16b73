"""Faces in a frame: MediaPipe's BlazeFace short-range detector and its post-processing, in Torch/numpy.

The posture pictures and the annotated video show employees and whoever else walks past; every face in them is
blurred, not only the worker's (whose face the pose model finds).  The network (``face_detection_short_range.tflite``
from the same MediaPipe wheel as BlazePose, run by :class:`~pipeline.pose.tflite_graph.TFLiteGraph`) scores 896
SSD anchors and regresses, per anchor, a box and six keypoints (eyes, nose tip, mouth, ears).

:meth:`FaceDetector.detect` is MediaPipe's ``FaceDetectionShortRangeCpu`` graph step by step (the frame
letterboxed into 128x128 in [-1, 1] with black borders, 896 anchors of strides 8, 16, 16, 16, scores above 0.5,
weighted non-maximum suppression at IoU 0.3, the letterbox undone), so its boxes can be checked against MediaPipe's
own.  That model is made for faces that fill a good part of the picture (a selfie, a person within about 2 m):
in a whole 960-pixel frame shrunk to 128 pixels, a worker's face across the hall is two pixels wide.
:meth:`FaceDetector.faces` therefore also reads the frame in overlapping square tiles, at scales down to
``SMALLEST_FACE_PX``, in batches (all at once on a GPU), and merges what they find.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from .assets import cached
from .base import default_device
from .blazepose_detector import ssd_anchors, weighted_nms
from .image_to_tensor import Rect, corners_to, letterbox_rect
from .tflite_graph import TFLiteGraph

INPUT_SIZE = 128
STRIDES = (8, 16, 16, 16)
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")
#: MediaPipe's face detection defaults (``min_detection_confidence``, the NMS overlap).
MIN_SCORE = 0.5
NMS_IOU = 0.3
#: The smallest face the network finds reliably, in pixels of its 128-pixel input: measured with the astronaut's
#: face shrunk onto a grey tile, found with a score of 0.55-0.76 at 16 px, 0.86-0.93 at 20, missed at 14 and below.
NETWORK_SMALLEST_FACE = 20
#: The smallest face searched for, in pixels of the frame (of the analysed size): a face smaller than this is
#: hardly recognisable.  It sets the finest tiles' side, ``128 * SMALLEST_FACE_PX / NETWORK_SMALLEST_FACE``.
SMALLEST_FACE_PX = 20
#: Tiles of one scale overlap by this share of their side, so that any face up to twice the smallest the scale
#: is for (larger ones are the next scale's) lies whole inside one tile: 2 x 20 / 128 = 0.31.
TILE_OVERLAP = 0.375
#: Tiles per network call on the CPU: 2.3 ms a tile in batches of 8, 3.0 alone and 4.7 in batches of 112 (one
#: call for all 109 inputs of a 960x540 frame is slower still: 5.9 ms a tile, its activations outgrow the caches).
TILE_BATCH = 8


#: What one square of a frame holds, before the squares' faces are merged: (scores, boxes, keypoints) of the anchors
#: above the score threshold, in image pixels.
Found = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class Face:
    score: float
    box: np.ndarray  # x1, y1, x2, y2 in image pixels
    keypoints: np.ndarray  # (6, 2) in image pixels, in the order of KEYPOINTS


class FaceDetector:
    """BlazeFace short range over whole frames (:meth:`detect`, MediaPipe's graph) or over frames and their
    tiles (:meth:`faces`, what the pictures are blurred by)."""

    def __init__(self, model_path: str | Path, device: str | None = None):
        self.device = torch.device(device or default_device())
        self.graph = TFLiteGraph(model_path).eval().to(self.device)
        self.anchors = ssd_anchors(INPUT_SIZE, STRIDES)
        self._order = np.argsort(self.graph.output_names)  # classificators, regressors
        self._frozen: dict[tuple, torch.jit.ScriptModule] = {}

    def detect(self, image: np.ndarray, min_score: float = MIN_SCORE) -> list[Face]:
        """Faces in an (h, w, 3) uint8 RGB image as MediaPipe's face detection finds them, best first."""
        return merge(self.search(image, [letterbox_rect(image.shape[1], image.shape[0])], min_score))

    def faces(self, image: np.ndarray, smallest: float = SMALLEST_FACE_PX, min_score: float = MIN_SCORE) -> list[Face]:
        """Faces of ``smallest`` pixels and up in an (h, w, 3) uint8 RGB image, best first: the whole frame as
        :meth:`detect` reads it, and the tiles of :func:`tiles` (:func:`squares`)."""
        return merge(self.search(image, squares(image.shape[1], image.shape[0], smallest), min_score))

    def search(self, image: np.ndarray, rects: list[Rect], min_score: float = MIN_SCORE) -> list[Found]:
        """What each of the squares ``rects`` of ``image`` holds (``TILE_BATCH`` per network call on the CPU), not
        yet merged: what a square holds depends on its pixels alone, so the annotated video searches again only the
        squares whose pixels changed and merges their answers with the others' (:mod:`pipeline.face_changes`)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"Faces are found in (height, width, 3) uint8 RGB images, not {image.dtype} of shape {image.shape}.")
        found: list[Found] = []
        size = max(1, len(rects)) if self.device.type == "cuda" else TILE_BATCH  # a GPU takes all the tiles at once
        for start in range(0, len(rects), size):
            batch = rects[start:start + size]
            with torch.inference_mode():
                tensor = crops(image, batch)
                outputs = self._network(tensor.to(self.device))
            logits, raw = (outputs[i].float().cpu().numpy() for i in self._order)
            scores = 1 / (1 + np.exp(-np.clip(logits[..., 0].astype(np.float64), -100, 100)))  # the batch's at once
            found += [self._decode(*tile, min_score) for tile in zip(raw, scores, batch, strict=True)]
        return found

    def _network(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        """The network on ``tensor``, as a TorchScript graph frozen for its shape (traced on the first call), as
        BlazePose's landmark network runs: the same operations with bit-identical outputs, 15% less time a tile on
        the CPU (the executor's Python dispatch around the network's small steps)."""
        key = (tuple(tensor.shape), tensor.device)
        if key not in self._frozen:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # TracerWarning: the graph's shapes are Python numbers, fixed here on purpose
                self._frozen[key] = torch.jit.freeze(torch.jit.trace(self.graph, tensor, check_trace=False))
        return self._frozen[key](tensor)

    def _decode(self, raw: np.ndarray, scores: np.ndarray, rect: Rect, min_score: float) -> Found:
        """(scores, boxes, keypoints) of the anchors above ``min_score`` (of their ``scores``), in image pixels of the
        square ``rect``."""
        keep = scores >= min_score
        raw, scores, anchors = raw[keep], scores[keep], self.anchors[keep]
        centres = raw[:, :2] / INPUT_SIZE + anchors  # offsets in 128 px units around the anchor (size fixed to 1)
        half = raw[:, 2:4] / INPUT_SIZE / 2
        corner, side = np.asarray(rect.center) - rect.width / 2, rect.width
        boxes = corner[[0, 1, 0, 1]] + np.concatenate([centres - half, centres + half], axis=1) * side
        keypoints = corner + (raw[:, 4:16].reshape(-1, len(KEYPOINTS), 2) / INPUT_SIZE + anchors[:, None, :]) * side
        return scores, boxes, keypoints


def crops(image: np.ndarray, rects: list[Rect]) -> torch.Tensor:
    """(n, 128, 128, 3) network inputs in [-1, 1] of the squares ``rects`` of ``image``, black outside it: what
    :func:`pipeline.pose.image_to_tensor.warp` makes of them, bit for bit (tests/test_face_speed_path.py).  The tiles
    (upright, 1, 2 or 4 times the input's side: a matrix exact in binary) are cut with OpenCV's affine warp, 0.14 ms a
    tile where the perspective warp takes 0.32; others (the whole frame letterboxed, shrunk by any factor) with the
    perspective warp, as there the two round some pixels apart."""
    frame = np.ascontiguousarray(image)
    inputs = np.empty((len(rects), INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
    for crop, rect in zip(inputs, rects, strict=True):
        matrix, size = corners_to(rect, INPUT_SIZE), (INPUT_SIZE, INPUT_SIZE)
        if rect.rotation == 0 and rect.width == rect.height and math.log2(rect.width / INPUT_SIZE).is_integer():
            cv2.warpAffine(frame, matrix[:2], size, dst=crop, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        else:
            cv2.warpPerspective(frame, matrix, size, dst=crop, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return torch.from_numpy(inputs).float().mul_(2 / 255).add_(-1.0)


def merge(found: list[Found]) -> list[Face]:
    """The faces of squares searched apart (:meth:`FaceDetector.search`), merged as MediaPipe merges one image's
    (weighted non-maximum suppression), best first."""
    if not found:
        return []
    scores, boxes, keypoints = (np.concatenate(part) for part in zip(*found, strict=True))
    return [Face(score, box, points) for score, box, points in weighted_nms(scores, boxes, keypoints, NMS_IOU)]


def squares(width: int, height: int, smallest: float = SMALLEST_FACE_PX) -> list[Rect]:
    """The squares :meth:`FaceDetector.faces` reads in a ``width`` x ``height`` frame: the whole frame (letterboxed)
    first, then the :func:`tiles`."""
    return [letterbox_rect(width, height), *tiles(width, height, smallest)]


def tiles(width: int, height: int, smallest: float = SMALLEST_FACE_PX) -> list[Rect]:
    """Overlapping squares covering a ``width`` x ``height`` frame, from the side at which a face of ``smallest``
    pixels fills ``NETWORK_SMALLEST_FACE`` of the network's input, doubling while smaller than the frame's long
    side (the whole frame, letterboxed, covers the largest faces)."""
    rects = []
    side = INPUT_SIZE * smallest / NETWORK_SMALLEST_FACE
    while side < max(width, height):
        step = side * (1 - TILE_OVERLAP)
        xs, ys = (_centres(length, side, step) for length in (width, height))
        rects += [Rect((float(x), float(y)), side, side) for y in ys for x in xs]
        side *= 2
    return rects


def _centres(length: int, side: float, step: float) -> np.ndarray:
    """Centres of tiles of ``side`` spread evenly over ``length``, at most ``step`` apart (one, centred, if it fits)."""
    if length <= side:
        return np.array([length / 2])
    count = math.ceil((length - side) / step) + 1
    return np.linspace(side / 2, length - side / 2, count)


@functools.lru_cache(maxsize=2)
def load_face_detector(models_dir: Path, device: str | None = None) -> FaceDetector:
    """The face detector of the verified model file in ``models_dir`` (ModelMissing, saying how to fetch it, if it
    is not there); loaded once per process."""
    return FaceDetector(cached("face_detection_short_range", models_dir), device)
