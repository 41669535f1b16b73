"""Run a float TFLite model's graph with Torch ops, for any batch size.

MediaPipe's pose models ship only as ``.tflite`` flatbuffers, and converters
fail on them (the detector's weights are sparse).  This reads the flatbuffer
(with the ``tflite`` bindings), folds the constant work once at load time
(float16 -> float32 ``DEQUANTIZE``, sparse -> dense ``DENSIFY``) and replays the
operators with Torch: no TensorFlow at run time, batched, on any device.

Only the steps the wanted outputs depend on are run (``outputs=``): the
landmark network's segmentation mask, which the pipeline never reads, is
computed at full crop resolution and would cost a fifth of its steps.  PAD
steps that only feed convolutions are folded into them.

Layout: TFLite is NHWC; 4-D activations are indexed NCHW inside (what Torch's
convolutions want) and turned back at reshapes and outputs, so inputs and
outputs look exactly as in TFLite.  In memory they stay NHWC (Torch's
``channels_last``), and so do the convolution weights: an NHWC input comes in
without a copy, oneDNN's convolutions take activations and weights as they are
(no reordering at each call), and depthwise convolutions run twice as fast as on
NCHW memory.  Every operator keeps that layout, so no step converts.  Only the operators these models use are
implemented; anything else fails loudly at load time, never silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UnsupportedGraph

_NUMPY_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
# In place: activations are memory-bound, and a fused activation's input is never read again.
_ACTIVATIONS = {0: None, 1: lambda x: F.relu(x, inplace=True), 3: lambda x: F.relu6(x, inplace=True)}
SAME, VALID = 0, 1


@dataclass
class Step:
    """One operator of the graph as replayed: public because :mod:`.fused_cpu` plans its fused kernels over the same steps."""

    op: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any]


def _operator_names() -> dict[int, str]:
    import tflite

    return {value: name for name, value in vars(tflite.BuiltinOperator).items() if not name.startswith("_")}


def _options(op_name: str, operator: Any) -> dict[str, Any]:
    import tflite

    table = operator.BuiltinOptions()
    if table is None:
        return {}

    def read(cls: type) -> Any:
        options = cls()
        options.Init(table.Bytes, table.Pos)
        return options

    if op_name == "CONV_2D":
        o = read(tflite.Conv2DOptions)
        return {"padding": o.Padding(), "stride": (o.StrideH(), o.StrideW()), "dilation": (o.DilationHFactor(), o.DilationWFactor()),
                "activation": o.FusedActivationFunction()}
    if op_name == "DEPTHWISE_CONV_2D":
        o = read(tflite.DepthwiseConv2DOptions)
        return {"padding": o.Padding(), "stride": (o.StrideH(), o.StrideW()), "dilation": (o.DilationHFactor(), o.DilationWFactor()),
                "activation": o.FusedActivationFunction(), "multiplier": o.DepthMultiplier()}
    if op_name == "ADD":
        return {"activation": read(tflite.AddOptions).FusedActivationFunction()}
    if op_name == "CONCATENATION":
        o = read(tflite.ConcatenationOptions)
        return {"axis": o.Axis(), "activation": o.FusedActivationFunction()}
    if op_name == "MAX_POOL_2D":
        o = read(tflite.Pool2DOptions)
        return {"padding": o.Padding(), "stride": (o.StrideH(), o.StrideW()), "kernel": (o.FilterHeight(), o.FilterWidth()),
                "activation": o.FusedActivationFunction()}
    if op_name == "RESIZE_BILINEAR":
        o = read(tflite.ResizeBilinearOptions)
        return {"align_corners": o.AlignCorners(), "half_pixel_centers": o.HalfPixelCenters()}
    if op_name == "DEPTH_TO_SPACE":
        return {"block": read(tflite.DepthToSpaceOptions).BlockSize()}
    return {}


def _densify(tensor: Any, values: np.ndarray) -> np.ndarray:
    """Expand a sparse constant (dense leading dimensions, CSR last dimension, no blocks)."""
    sparsity = tensor.Sparsity()
    shape = tensor.ShapeAsNumpy().tolist()
    formats = [sparsity.DimMetadata(d).Format() for d in range(sparsity.DimMetadataLength())]
    order = sparsity.TraversalOrderAsNumpy().tolist()
    if sparsity.BlockMapLength() or order != list(range(len(shape))) or formats[:-1] != [0] * (len(shape) - 1) or formats[-1] != 1:
        raise UnsupportedGraph(f"sparse format {formats} (order {order}) is not supported")
    last = sparsity.DimMetadata(len(shape) - 1)
    segments = _index_vector(last.ArraySegments(), last.ArraySegmentsType())
    indices = _index_vector(last.ArrayIndices(), last.ArrayIndicesType())
    dense = np.zeros((int(np.prod(shape[:-1])), shape[-1]), values.dtype)
    for row in range(dense.shape[0]):
        start, stop = segments[row], segments[row + 1]
        dense[row, indices[start:stop]] = values[start:stop]
    return dense.reshape(shape)


def _index_vector(table: Any, kind: int) -> np.ndarray:
    import tflite

    cls = {tflite.SparseIndexVector.Int32Vector: tflite.Int32Vector, tflite.SparseIndexVector.Uint16Vector: tflite.Uint16Vector,
           tflite.SparseIndexVector.Uint8Vector: tflite.Uint8Vector}[kind]
    vector = cls()
    vector.Init(table.Bytes, table.Pos)
    return vector.ValuesAsNumpy().astype(np.int64)


def _needed(steps: list[Step], wanted: list[int]) -> list[Step]:
    """The steps (in graph order) that the ``wanted`` tensors depend on."""
    producer = {step.outputs[0]: step for step in steps}
    needed: set[int] = set()
    pending = list(wanted)
    while pending:
        step = producer.get(pending.pop())
        if step is not None and id(step) not in needed:
            needed.add(id(step))
            pending += step.inputs
    return [step for step in steps if id(step) in needed]


def _fold_pads(steps: list[Step], constants: dict[int, np.ndarray]) -> list[Step]:
    """Drop each PAD whose zeros only feed VALID convolutions and lie evenly around the image: the convolution
    pads by itself then, without a padded copy of its input (the pads before the strided depthwise
    convolutions: 6-8% of the networks' time)."""
    readers: dict[int, list[Step]] = {}
    for step in steps:
        for index in step.inputs:
            readers.setdefault(index, []).append(step)
    kept = []
    for step in steps:
        paddings = constants.get(step.inputs[1]) if step.op == "PAD" and len(step.inputs) > 1 else None
        users = readers.get(step.outputs[0], [])
        if paddings is not None and paddings.shape == (4, 2):
            (batch, (top, bottom), (left, right), channels) = paddings.tolist()
            if (batch == [0, 0] and channels == [0, 0] and top == bottom and left == right and users
                    and all(u.op in ("CONV_2D", "DEPTHWISE_CONV_2D") and u.options["padding"] == VALID and u.inputs[0] == step.outputs[0]
                            for u in users)):
                for user in users:
                    user.inputs[0] = step.inputs[0]
                    user.options = {**user.options, "folded_padding": (top, left)}
                continue
        kept.append(step)
    return kept


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite's SAME padding (before, after) along one axis; :mod:`.fused_cpu` pads its fused convolutions alike."""
    effective = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _read(source: str | Path | bytes) -> Any:
    import tflite

    return tflite.Model.GetRootAsModel(source if isinstance(source, bytes) else Path(source).read_bytes(), 0)


def output_shapes(source: str | Path | bytes) -> list[list[int]]:
    """The shapes of a model's outputs, in its order (to pick outputs by what they are)."""
    model = _read(source)
    graph = model.Subgraphs(0)
    return [graph.Tensors(graph.Outputs(i)).ShapeAsNumpy().tolist() for i in range(graph.OutputsLength())]


class TFLiteGraph(nn.Module):
    """A TFLite model as a Torch module: ``forward(*inputs)`` takes and returns NHWC tensors like TFLite.

    ``outputs``: the positions, among the model's outputs, of those to compute (in that order); by default all.
    ``fold_pads``: let convolutions do the zero padding of the PAD steps before them (off only to measure the gain).
    ``channels_last``: keep convolution weights channels last in memory (off only to measure the gain).
    """

    def __init__(self, source: str | Path | bytes, outputs: Sequence[int] | None = None, *, fold_pads: bool = True,
                 channels_last: bool = True):
        super().__init__()
        self.weight_format = torch.channels_last if channels_last else torch.contiguous_format
        model = _read(source)
        graph = model.Subgraphs(0)
        names = _operator_names()
        self.input_ids = [graph.Inputs(i) for i in range(graph.InputsLength())]
        positions = range(graph.OutputsLength()) if outputs is None else outputs
        self.output_ids = [graph.Outputs(i) for i in positions]
        self.output_names = [graph.Tensors(i).Name().decode() for i in self.output_ids]
        self.shapes = {i: graph.Tensors(i).ShapeAsNumpy().tolist() if graph.Tensors(i).ShapeLength() else []
                       for i in range(graph.TensorsLength())}
        constants: dict[int, np.ndarray] = {}
        for index in range(graph.TensorsLength()):
            tensor = graph.Tensors(index)
            raw = model.Buffers(tensor.Buffer()).DataAsNumpy()
            if isinstance(raw, np.ndarray) and raw.size:
                values = np.frombuffer(raw.tobytes(), _NUMPY_TYPES[tensor.Type()])
                constants[index] = values if tensor.Sparsity() is not None else values.reshape(self.shapes[index])
        self.steps: list[Step] = []
        for position in range(graph.OperatorsLength()):
            operator = graph.Operators(position)
            code = model.OperatorCodes(operator.OpcodeIndex())
            op = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
            inputs = [operator.Inputs(i) for i in range(operator.InputsLength())]
            outputs = [operator.Outputs(i) for i in range(operator.OutputsLength())]
            if op == "DENSIFY":  # constant folding: sparse weights become dense once
                constants[outputs[0]] = _densify(graph.Tensors(inputs[0]), constants[inputs[0]])
            elif op == "DEQUANTIZE" and inputs[0] in constants:  # float16 weights become float32 once
                constants[outputs[0]] = constants[inputs[0]].astype(np.float32)
            elif op not in RUNNERS:
                raise UnsupportedGraph(f"operator {op} is not supported by this executor")
            else:
                self.steps.append(Step(op, inputs, outputs, _options(op, operator)))
        self.steps = _needed(self.steps, self.output_ids)
        if fold_pads:
            self.steps = _fold_pads(self.steps, constants)
        self.constant_ids = sorted(i for i in constants if any(i in s.inputs for s in self.steps))
        # Activations no later step reads are dropped as the graph runs: peak memory is then the widest
        # layer's, not the sum of all of them (a batch of 16 crops held about 500 MB more without this).
        last_use = {i: position for position, step in enumerate(self.steps) for i in step.inputs}
        keep = set(self.output_ids) | set(self.constant_ids)
        self.release_after = [[i for i in step.inputs if last_use.get(i) == position and i not in keep and i >= 0]
                              for position, step in enumerate(self.steps)]
        for index in self.constant_ids:
            value = constants[index]
            tensor = torch.from_numpy(np.ascontiguousarray(value).astype(np.float32 if value.dtype.kind == "f" else np.int64))
            self.register_buffer(f"c{index}", self._prepare_constant(index, tensor), persistent=False)

    def _prepare_constant(self, index: int, value: torch.Tensor) -> torch.Tensor:
        """Weights indexed as Torch wants them (OHWI -> OIHW for convolutions, 1HWC -> C1HW for depthwise), kept
        in memory as TFLite has them (channels last)."""
        for step in self.steps:
            if len(step.inputs) > 1 and step.inputs[1] == index:
                if step.op == "CONV_2D":
                    return value.permute(0, 3, 1, 2).contiguous(memory_format=self.weight_format)
                if step.op == "DEPTHWISE_CONV_2D":
                    return value.permute(3, 0, 1, 2).contiguous(memory_format=self.weight_format)
        return value

    def forward(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        values: dict[int, torch.Tensor] = {index: getattr(self, f"c{index}") for index in self.constant_ids}
        for index, tensor in zip(self.input_ids, inputs):
            values[index] = tensor.permute(0, 3, 1, 2) if tensor.dim() == 4 else tensor
        for step, release in zip(self.steps, self.release_after):
            values[step.outputs[0]] = RUNNERS[step.op](self, step, [values[i] for i in step.inputs if i >= 0])
            for index in release:
                del values[index]
        return [values[i].permute(0, 2, 3, 1) if values[i].dim() == 4 else values[i] for i in self.output_ids]


class Frozen:
    """A :class:`TFLiteGraph` run as a TorchScript graph frozen for each input shape, dtype and device it meets
    (traced on the first call with it).

    One crop or frame at a time, as tracking runs the networks, the executor's Python dispatch around 100-140 small
    steps costs 10-18% of the time; the frozen graph runs the same operations.  :meth:`clear` after changing the
    graph's weights (their precision)."""

    def __init__(self, graph: TFLiteGraph):
        self.graph = graph
        self._traced: dict[tuple, torch.jit.ScriptModule] = {}

    def __call__(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        key = (tuple(inputs.shape), inputs.dtype, inputs.device)
        if key not in self._traced:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # TracerWarning: the graph's shapes are Python numbers, fixed here on purpose
                self._traced[key] = torch.jit.freeze(torch.jit.trace(self.graph, inputs, check_trace=False))
        return self._traced[key](inputs)

    def clear(self) -> None:
        self._traced.clear()


# -- operators (4-D activations are NCHW here) --------------------------------------------------
def activate(x: torch.Tensor, code: int) -> torch.Tensor:
    """A TFLite fused activation (by its code), in place; shared with :mod:`.fused_cpu` so both apply the same ones."""
    if code not in _ACTIVATIONS:
        raise UnsupportedGraph(f"fused activation {code} is not supported")
    function = _ACTIVATIONS[code]
    return function(x) if function else x


def _pad_same(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int], value: float = 0.0) -> torch.Tensor:
    top, bottom = same_padding(x.shape[2], kernel[0], stride[0], dilation[0])
    left, right = same_padding(x.shape[3], kernel[1], stride[1], dilation[1])
    return F.pad(x, (left, right, top, bottom), value=value) if top or bottom or left or right else x


def _conv(graph: TFLiteGraph, step: Step, args: list[torch.Tensor]) -> torch.Tensor:
    x, weight = args[0], args[1]
    bias = args[2] if len(args) > 2 else None
    o = step.options
    depthwise = step.op == "DEPTHWISE_CONV_2D"
    padding = o.get("folded_padding", (0, 0))
    if o["padding"] == SAME:
        (top, bottom), (left, right) = (same_padding(x.shape[2 + axis], weight.shape[2 + axis], o["stride"][axis], o["dilation"][axis])
                                        for axis in (0, 1))
        if top == bottom and left == right:
            padding = (top, left)  # symmetric: let the convolution pad, saving a padded copy of the input
        else:
            x = F.pad(x, (left, right, top, bottom))
    y = F.conv2d(x, weight, bias, stride=o["stride"], padding=padding, dilation=o["dilation"], groups=x.shape[1] if depthwise else 1)
    return activate(y, o["activation"])


def _add(graph: TFLiteGraph, step: Step, args: list[torch.Tensor]) -> torch.Tensor:
    return activate(args[0] + args[1], step.options["activation"])


def _pad(graph: TFLiteGraph, step: Step, args: list[torch.Tensor]) -> torch.Tensor:
    x, paddings = args[0], args[1].tolist()  # NHWC pairs
    if x.dim() != 4 or paddings[0] != [0, 0]:
        raise UnsupportedGraph("PAD is supported on 4-D tensors without batch padding")
    (top, bottom), (left, right), (front, back) = paddings[1], paddings[2], paddings[3]
    return F.pad(x, (left, right, top, bottom, front, back))


def _max_pool(graph: TFLiteGraph, step: Step, args: list[torch.Tensor]) -> torch.Tensor:
    o = step.options
    x = args[0]
    if o["padding"] == SAME:
        x = _pad_same(x, o["kernel"], o["stride"], (1, 1), value=float("-inf"))
    return activate(F.max_pool2d(x, o["kernel"], o["stride"]), o["activation"])


def _resize(graph: TFLiteGraph, step: Step, args: list[torch.Tensor]) -> torch.Tensor:
    o = step.options
    if not o["half_pixel_centers"] and not o["align_corners"]:
        raise UnsupportedGraph("legacy (asymmetric) bilinear resizing is not supported")
    size = [int(v) for v in args[1].tolist()]
    return F.interpolate(args[0], size=size, mode="bilinear", align_corners=bool(o["align_corners"]))


def _depth_to_space(graph: TFLiteGraph, step: Step, args: list[torch.Tensor]) -> torch.Tensor:
    x, block = args[0], step.options["block"]
    n, c, h, w = x.shape
    depth = c // (block * block)
    # TFLite: out[h*b+i, w*b+j, d] = in[h, w, (i*b + j)*depth + d], done in NHWC memory so the output stays channels last
    x = x.permute(0, 2, 3, 1).reshape(n, h, w, block, block, depth).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(n, h * block, w * block, depth).permute(0, 3, 1, 2)


def _reshape(graph: TFLiteGraph, step: Step, args: list[torch.Tensor]) -> torch.Tensor:
    x = args[0]
    if x.dim() == 4:
        x = x.permute(0, 2, 3, 1)  # back to TFLite's element order
    shape = list(graph.shapes[step.outputs[0]])
    shape[0] = x.shape[0]  # any batch size
    y = x.reshape(shape)
    return y.permute(0, 3, 1, 2) if y.dim() == 4 else y


def _concat(graph: TFLiteGraph, step: Step, args: list[torch.Tensor]) -> torch.Tensor:
    axis = step.options["axis"]
    rank = args[0].dim()
    axis = axis % rank
    if rank == 4:
        axis = {0: 0, 1: 2, 2: 3, 3: 1}[axis]
    return activate(torch.cat(args, dim=axis), step.options["activation"])


def _logistic(graph: TFLiteGraph, step: Step, args: list[torch.Tensor]) -> torch.Tensor:
    return torch.sigmoid(args[0])


def _relu(graph: TFLiteGraph, step: Step, args: list[torch.Tensor]) -> torch.Tensor:
    return F.relu(args[0])  # not in place: unlike a fused activation, its input may have other readers


#: Each supported operator's Torch replay; :mod:`.fused_cpu` falls back to these for steps it does not fuse.
RUNNERS = {"CONV_2D": _conv, "DEPTHWISE_CONV_2D": _conv, "ADD": _add, "PAD": _pad, "MAX_POOL_2D": _max_pool,
          "RESIZE_BILINEAR": _resize, "DEPTH_TO_SPACE": _depth_to_space, "RESHAPE": _reshape,
          "CONCATENATION": _concat, "LOGISTIC": _logistic, "RELU": _relu}
