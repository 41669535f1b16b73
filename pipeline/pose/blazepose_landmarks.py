"""BlazePose landmarks: rotated 256x256 crops, the landmark network, and projection back to the image.

Each region of interest (from :func:`~pipeline.pose.blazepose_detector.region_of_interest`) is cut
out of its frame as an upright 256x256 crop, exactly as MediaPipe cuts it (:mod:`.image_to_tensor`).
The network's 39 points (33 body landmarks and 6 auxiliary ones, two of which MediaPipe uses for
tracking) come back in crop pixels, are refined from its heatmap as MediaPipe refines them, and are
turned and scaled back into the image.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .blazepose_detector import RegionOfInterest
from .image_to_tensor import Rect, warp
from .tflite_graph import Frozen, TFLiteGraph, output_shapes

CROP = 256
POINTS = 39
#: MediaPipe's refinement of the landmarks from the heatmap.  The graph's text in MediaPipe's repository sets a
#: kernel of 7, but mediapipe 0.10.21 refines with 9, the option's default: with 9 its landmarks are matched to
#: 0.01 px on a photo's first frame, with 7 they are up to 3 px off.  The minimum confidence is the default, 0.5.
HEATMAP_KERNEL = 9
MIN_HEATMAP_CONFIDENCE = 0.5
#: The heatmap's logits are read no lower than this: float32's ``exp`` overflows past 88.7 (a NumPy warning, for
#: cells the network is sure hold nothing), and from here down a cell's confidence is below 2e-38, nothing beside a
#: window's peak of 0.5 or more; the confidence of every logit above it is the same to the bit.
HEATMAP_LOGIT_FLOOR = -87.0
#: The landmark network's outputs the pipeline reads, told apart by shape.  The fifth, the 256x256
#: segmentation mask, is never computed (20 of the network's 140 steps, at full crop resolution: the
#: network takes 1.45x less time without it).  The heatmap is kept for MediaPipe's refinement of the
#: landmarks from it (15 steps).
OUTPUTS = {"landmarks": [1, POINTS * 5], "presence": [1, 1], "heatmap": [1, 64, 64, POINTS], "world": [1, POINTS * 3]}


def crop_axes(rotation: float) -> tuple[np.ndarray, np.ndarray]:
    """The crop's x and y axes in image coordinates (y grows downwards)."""
    return np.array([math.cos(rotation), math.sin(rotation)]), np.array([-math.sin(rotation), math.cos(rotation)])


def crop_regions(frames: np.ndarray, rois: list[RegionOfInterest]) -> torch.Tensor:
    """(n, 256, 256, 3) crops in [0, 1] of ``frames`` ((n, h, w, 3) uint8, one per ROI), the border replicated."""
    rects = [Rect((float(roi.center[0]), float(roi.center[1])), roi.size, roi.size, roi.rotation) for roi in rois]
    return warp(frames, rects, CROP, "replicate", (0.0, 1.0))


def refine_from_heatmap(points: np.ndarray, heatmap: np.ndarray, kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = MIN_HEATMAP_CONFIDENCE) -> np.ndarray:
    """MediaPipe's ``RefineLandmarksFromHeatmapCalculator``: each point moves to the confidence-weighted mean cell of
    the ``kernel`` x ``kernel`` heatmap window around it, when the window's peak confidence reaches ``min_confidence``.

    ``points``: (n, 39, 2) in crop pixels; ``heatmap``: (n, 64, 64, 39) logits.  Returns the refined (n, 39, 2).
    Reproduced as MediaPipe computes it: the window's cell is the point's coordinate truncated towards zero, a cell
    stands for its top-left corner (``col / 64``), the window shrinks at the heatmap's edges, and points left of or
    above the heatmap are kept as they are (those below it are refined from what of the window is left).
    """
    n, rows, cols, count = heatmap.shape
    half = (kernel - 1) // 2
    confidence = heatmap_confidence(heatmap)
    padded = np.pad(confidence, ((0, 0), (half, 2 * half + 1), (half, half), (0, 0)))  # zeros: cells outside count for nothing
    col = np.trunc(points[..., 0] / CROP * cols).astype(np.int64)
    row = np.trunc(points[..., 1] / CROP * rows).astype(np.int64)
    # MediaPipe skips points left of, right of or above the heatmap (it tests the column twice, never row >= rows)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows + half + 1)
    col, row = np.where(inside, col, 0), np.where(inside, row, 0)
    offsets = np.arange(-half, half + 1)
    window_rows = row[..., None] + offsets  # (n, 39, k)
    window_cols = col[..., None] + offsets
    image = np.arange(n)[:, None, None, None]
    point = np.arange(count)[None, :, None, None]
    window = padded[image, window_rows[..., :, None] + half, window_cols[..., None, :] + half, point]  # (n, 39, k, k)
    weight = window.sum(axis=(2, 3))
    refine = inside & (window.max(axis=(2, 3)) >= min_confidence) & (weight > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (window.sum(axis=2) * window_cols).sum(-1) / weight / cols * CROP
        y = (window.sum(axis=3) * window_rows).sum(-1) / weight / rows * CROP
    return np.where(refine[..., None], np.stack([x, y], axis=-1), points)


def heatmap_confidence(heatmap: np.ndarray) -> np.ndarray:
    """The heatmap's logits as float32 confidences (a sigmoid), without ``exp`` overflowing on very negative ones."""
    return 1 / (1 + np.exp(-np.maximum(heatmap.astype(np.float32), HEATMAP_LOGIT_FLOOR)))


def to_image(points: np.ndarray, roi: RegionOfInterest) -> np.ndarray:
    """Crop-pixel (x, y) points back to image pixels."""
    x_axis, y_axis = crop_axes(roi.rotation)
    offsets = points[..., :2] / CROP - 0.5
    return roi.center + roi.size * (offsets[..., :1] * x_axis + offsets[..., 1:2] * y_axis)


def world_to_image_axes(world: np.ndarray, roi: RegionOfInterest) -> np.ndarray:
    """Metric points from the crop's axes to the image's: turned by the ROI rotation, as MediaPipe does."""
    x_axis, y_axis = crop_axes(roi.rotation)
    xy = world[..., :1] * x_axis + world[..., 1:2] * y_axis
    return np.concatenate([xy, world[..., 2:3]], axis=-1)


#: The landmark network's precisions: the float type its weights and activations are kept in.
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class LandmarkModel:
    def __init__(self, model_path: str | Path, device: str = "cpu", precision: str = "fp32"):
        self.device = torch.device(device)
        shapes = output_shapes(model_path)
        self.graph = TFLiteGraph(model_path, outputs=[shapes.index(shape) for shape in OUTPUTS.values()]).eval().to(self.device)
        self._network = Frozen(self.graph)  # bit-identical outputs
        self.precision = "fp32"
        self.set_precision(precision)

    def set_precision(self, precision: str) -> None:
        """Keep the network's weights and activations in ``precision`` (the outputs are always float32)."""
        self.graph.to(PRECISIONS[precision])  # floating-point buffers only: the integer shapes stay as they are
        self._network.clear()
        self.precision = precision

    def predict(self, frames: np.ndarray, rois: list[RegionOfInterest], frame_index: list[int]) -> dict[str, np.ndarray]:
        """For each ROI: image landmarks (39, 3: x, y, visibility), presence, and world landmarks (39, 3) in metres.

        World landmarks are in the image's axes (x right, y down, z away from the camera), centred between the hips.
        """
        with torch.inference_mode():
            # cropped on the CPU, as MediaPipe crops: only the 256x256 crops go to the device
            crops = crop_regions(frames[frame_index], rois)
            outputs = self._network(crops.to(self.device, PRECISIONS[self.precision]))
        raw, presence, heatmap, world = (output.float().cpu().numpy() for output in outputs)
        raw = raw.reshape(len(rois), POINTS, 5)
        refined = refine_from_heatmap(raw[..., :2], heatmap)
        image = np.stack([to_image(refined[i], roi) for i, roi in enumerate(rois)])
        visibility = 1 / (1 + np.exp(-np.clip(raw[..., 3].astype(np.float64), -50, 50)))
        world = world.reshape(len(rois), POINTS, 3).astype(np.float64)
        world = np.stack([world_to_image_axes(world[i], roi) for i, roi in enumerate(rois)]).astype(np.float32)
        return {"landmarks": np.concatenate([image, visibility[..., None]], axis=-1).astype(np.float32),
                "presence": presence.reshape(len(rois)), "world": world}
