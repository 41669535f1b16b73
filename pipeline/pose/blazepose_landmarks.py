"""BlazePose landmarks: rotated 256x256 crops, the landmark network, and projection back to the image.

Each region of interest (from :func:`~pipeline.pose.blazepose_detector.region_of_interest`) is cut
out of its frame as an upright 256x256 crop with one affine sampling grid, so the crops of a whole
chunk go through the landmark network as one batch.  The network's 39 points (33 body landmarks and
6 auxiliary ones MediaPipe uses for tracking) come back in crop pixels and are turned and scaled
back into the image.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .blazepose_detector import RegionOfInterest
from .tflite_graph import TFLiteGraph, output_shapes

CROP = 256
POINTS = 39
#: The landmark network's outputs the pipeline reads, told apart by shape.  The fifth, the 256x256
#: segmentation mask, is never computed (20 of the network's 140 steps, at full crop resolution: the
#: network takes 1.45x less time without it).  The heatmap is kept for MediaPipe's refinement of the
#: landmarks from it (15 steps).
OUTPUTS = {"landmarks": [1, POINTS * 5], "presence": [1, 1], "heatmap": [1, 64, 64, POINTS], "world": [1, POINTS * 3]}


def crop_axes(rotation: float) -> tuple[np.ndarray, np.ndarray]:
    """The crop's x and y axes in image coordinates (y grows downwards)."""
    return np.array([math.cos(rotation), math.sin(rotation)]), np.array([-math.sin(rotation), math.cos(rotation)])


def crop_regions(frames: torch.Tensor, rois: list[RegionOfInterest], frame_index: list[int]) -> torch.Tensor:
    """(n, 256, 256, 3) crops in [0, 1] of ``frames`` ((f, h, w, 3) uint8) around each ROI."""
    _, height, width, _ = frames.shape
    theta = []
    for roi in rois:
        (ax, ay), (bx, by) = crop_axes(roi.rotation)
        s = roi.size
        theta.append([[s * ax / width, s * bx / width, 2 * roi.center[0] / width - 1],
                      [s * ay / height, s * by / height, 2 * roi.center[1] / height - 1]])
    source = frames[frame_index].permute(0, 3, 1, 2).float()
    grid = F.affine_grid(torch.tensor(theta, dtype=source.dtype, device=source.device), [len(rois), 3, CROP, CROP], align_corners=False)
    # scaled to [0, 1] after sampling (it is linear): a pass over 256x256 crops instead of over whole frames
    return F.grid_sample(source, grid, mode="bilinear", padding_mode="zeros", align_corners=False).div_(255).permute(0, 2, 3, 1)


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
        self.precision = "fp32"
        self.set_precision(precision)

    def set_precision(self, precision: str) -> None:
        """Keep the network's weights and activations in ``precision`` (the outputs are always float32)."""
        self.graph.to(PRECISIONS[precision])  # floating-point buffers only: the integer shapes stay as they are
        self.precision = precision

    def predict(self, frames: np.ndarray, rois: list[RegionOfInterest], frame_index: list[int]) -> dict[str, np.ndarray]:
        """For each ROI: image landmarks (39, 3: x, y, visibility), presence, and world landmarks (39, 3) in metres.

        World landmarks are in the image's axes (x right, y down, z away from the camera), centred between the hips.
        """
        with torch.inference_mode():
            # only the frames cropped from go to the device, not the whole chunk
            selected = torch.from_numpy(frames[frame_index]).to(self.device)
            crops = crop_regions(selected, rois, list(range(len(rois))))
            outputs = self.graph(crops.to(PRECISIONS[self.precision]))
        raw, presence, _, world = (output.float().cpu().numpy() for output in outputs)
        raw = raw.reshape(len(rois), POINTS, 5)
        image = np.stack([to_image(raw[i], roi) for i, roi in enumerate(rois)])
        visibility = 1 / (1 + np.exp(-np.clip(raw[..., 3].astype(np.float64), -50, 50)))
        world = world.reshape(len(rois), POINTS, 3).astype(np.float64)
        world = np.stack([world_to_image_axes(world[i], roi) for i, roi in enumerate(rois)]).astype(np.float32)
        return {"landmarks": np.concatenate([image, visibility[..., None]], axis=-1).astype(np.float32),
                "presence": presence.reshape(len(rois)), "world": world}
