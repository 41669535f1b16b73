"""BlazePose person detection: MediaPipe's pose detector and its post-processing, in Torch/numpy.

The network (``pose_detection.tflite``, run by :class:`~pipeline.pose.tflite_graph.TFLiteGraph`)
scores 2254 SSD anchors and regresses, per anchor, a box and four alignment keypoints.  This module
reproduces the graph around it (MediaPipe's ``pose_detection_cpu`` settings): letterboxing to
224x224, anchor generation, decoding, weighted non-maximum suppression, and the rotated square
region of interest that the landmark model crops (``AlignmentPointsRectsCalculator`` from the hip
centre towards the full-body point, 90 degrees target, then scaled 1.25x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..boxes import iou
from . import fused_cpu
from .image_to_tensor import Rect, letterbox_rect, warp
from .tflite_graph import Frozen, TFLiteGraph

INPUT_SIZE = 224
MIN_SCORE = 0.5
NMS_IOU = 0.3
ROI_SCALE = 1.25


def ssd_anchors(input_size: int = INPUT_SIZE, strides=(8, 16, 32, 32, 32), min_scale: float = 0.1484375,
                max_scale: float = 0.75) -> np.ndarray:
    """(2254, 2) anchor centres in [0, 1], in the network's output order (fixed anchor size 1)."""
    layers = len(strides)
    centres = []
    layer = 0
    while layer < layers:
        per_location = 0
        last = layer
        while last < layers and strides[last] == strides[layer]:
            per_location += 2  # aspect ratio 1.0, plus the interpolated scale between this layer and the next
            last += 1
        cells = math.ceil(input_size / strides[layer])
        for y in range(cells):
            for x in range(cells):
                centres += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_location
        layer = last
    return np.asarray(centres, np.float32)


@dataclass
class Detection:
    score: float
    box: np.ndarray  # x1, y1, x2, y2 in image pixels
    keypoints: np.ndarray  # (4, 2) in image pixels: hip centre, full-body point, shoulder centre, upper-body point


@dataclass
class RegionOfInterest:
    """A rotated square in image pixels: what the landmark model sees."""

    center: np.ndarray  # (x, y)
    size: float
    rotation: float  # radians; 0 for an upright person


def _letterbox(images: np.ndarray, device: torch.device) -> tuple[torch.Tensor, Rect]:
    """(n, h, w, 3) uint8 images fitted into 224x224 (NHWC, [-1, 1], black borders) and the square they fill."""
    height, width = images.shape[1:3]
    frame = letterbox_rect(width, height)
    tensor = warp(images, [frame] * len(images), INPUT_SIZE, "zero", (-1.0, 1.0)).to(device)
    return tensor, frame


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, threshold: float = NMS_IOU):
    """MediaPipe's WEIGHTED suppression: each kept detection is the score-weighted mean of those it absorbs."""
    order = np.argsort(-scores)
    kept = []
    while len(order):
        overlap = iou(boxes[order[0]], boxes[order]) > threshold
        group = order[overlap]
        weights = scores[group] / scores[group].sum()
        kept.append((float(scores[order[0]]), (boxes[group] * weights[:, None]).sum(0),
                     (keypoints[group] * weights[:, None, None]).sum(0)))
        order = order[~overlap]
    return kept


class PoseDetector:
    def __init__(self, model_path: str | Path, device: str = "cpu"):
        self.device = torch.device(device)
        self.graph = TFLiteGraph(model_path).eval().to(self.device)
        # on a CPU, fused oneDNN steps (pipeline/pose/fused_cpu.py); elsewhere the frozen TorchScript graph
        self._network = fused_cpu.FusedCpu(self.graph) if fused_cpu.available(self.device) else Frozen(self.graph)
        self.anchors = ssd_anchors()

    @property
    def executor(self) -> str:
        """How the network runs here, for the result's record: its last bits depend on it (the sparse kernel's sums
        are the same on every CPU that runs it, and differ by rounding from oneDNN's dense ones)."""
        if isinstance(self._network, fused_cpu.FusedCpu):
            return "fused oneDNN program, 1x1 convolutions by the sparse kernel" if self._network.sparse else "fused oneDNN program"
        return "frozen TorchScript graph"

    @property
    def pinned(self) -> bool:
        """Whether the network gives the same bits on every CPU of this kind: only through the sparse kernel."""
        return isinstance(self._network, fused_cpu.FusedCpu) and self._network.sparse

    def detect(self, image: np.ndarray, max_people: int = 1) -> list[Detection]:
        """People in an (h, w, 3) uint8 RGB image, best first."""
        return self.detect_batch(image[None], max_people)[0]

    def detect_batch(self, images: np.ndarray, max_people: int = 1) -> list[list[Detection]]:
        """People in each of (n, h, w, 3) uint8 RGB images (one network call), best first."""
        with torch.inference_mode():
            tensor, frame = _letterbox(images, self.device)
            outputs = self._network(tensor)
        order = np.argsort(self.graph.output_names)
        raw_all, logits_all = (outputs[i].float().cpu().numpy() for i in order)
        return [self._decode(raw, logits, frame, max_people) for raw, logits in zip(raw_all, logits_all)]

    def _decode(self, raw: np.ndarray, logits: np.ndarray, frame: Rect, max_people: int) -> list[Detection]:
        scores = 1 / (1 + np.exp(-np.clip(logits[:, 0].astype(np.float64), -100, 100)))
        keep = scores >= MIN_SCORE
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep], scores[keep], self.anchors[keep]
        # offsets are in 224 px units around the anchor centre (anchor size fixed to 1)
        centres = raw[:, :2] / INPUT_SIZE + anchors
        half = raw[:, 2:4] / INPUT_SIZE / 2
        boxes = np.concatenate([centres - half, centres + half], axis=1)
        keypoints = raw[:, 4:12].reshape(-1, 4, 2) / INPUT_SIZE + anchors[:, None, :]

        corner = np.asarray(frame.center) - frame.width / 2

        def to_image(points: np.ndarray) -> np.ndarray:  # undo the letterbox: [0, 1] of the square -> frame pixels
            return corner + points * frame.width

        return [Detection(score, np.concatenate([to_image(box[:2]), to_image(box[2:])]), to_image(points))
                for score, box, points in weighted_nms(scores, boxes, keypoints)[:max_people]]


def region_from_alignment(centre: np.ndarray, towards: np.ndarray) -> RegionOfInterest:
    """MediaPipe's rotated square from two alignment points (hip centre, full-body point): size 2 * distance * 1.25."""
    dx, dy = np.asarray(towards, np.float64) - centre
    size = 2 * math.hypot(dx, dy) * ROI_SCALE
    rotation = math.pi / 2 - math.atan2(-dy, dx)  # image y grows downwards
    rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
    return RegionOfInterest(center=np.asarray(centre, np.float64), size=size, rotation=rotation)


def region_of_interest(detection: Detection) -> RegionOfInterest:
    """The rotated square around a detected person: centred on the hips, oriented from hips to the full-body point."""
    return region_from_alignment(detection.keypoints[0], detection.keypoints[1])
