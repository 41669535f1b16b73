"""A TFLite graph run on the CPU the way oneDNN runs it fastest: fused steps, weights packed once, fewer pixels.

BlazePose's detector network run step by step (as :class:`~pipeline.pose.tflite_graph.Frozen` runs it) took 1.5 times
the TFLite runtime's time per crop.  Most of the difference is not the arithmetic: XNNPACK skips the zeros that make
up 75% of the network's 1x1 convolution weights, but they are scattered (no whole input or output channel is zero,
so none can be removed), and dense kernels multiply them all.  What dense kernels waste around the arithmetic is
saved here, without changing what is computed:

* **weights packed once.**  ``F.conv2d`` hands oneDNN plain weights and oneDNN reorders them into its blocked layout
  at every call; here they are reordered once, at the first call with an input shape
  (``torch.ops.mkldnn._reorder_convolution_weight``).
* **fused steps.**  A convolution's activation (ReLU, ReLU6) runs inside it, and so does the residual ADD that is
  the only reader of a convolution's output: no extra pass over memory for either.
* **upsampling after, not before, a 1x1 convolution.**  Where a bilinear upsampling feeds only a 1x1 convolution, the
  convolution runs first, on a quarter of the pixels, and its output is upsampled (then activated).  Both steps are
  linear and the bilinear weights of each output pixel sum to one, so the two orders give the same values up to
  float rounding; the detector's two such convolutions drop from 58 to 14 of its 394 million multiply-adds.  The
  upsampling is plain multiplications and additions (:func:`_bilinear`), the same bits with any of Torch's kernels.
* **zeros skipped.**  Where the sparse kernel was built (:mod:`~pipeline.pose.sparse_kernel`), every 1x1
  convolution whose input channels come in eights runs through it, with its activation and residual ADD inside:
  only the non-zero weights are multiplied (a quarter of the detector's).  Its sums are in a fixed order with fused
  multiply-adds, so its outputs are the same bits on every CPU that runs it (and differ from oneDNN's by rounding).

Every other step runs as :class:`~pipeline.pose.tflite_graph.TFLiteGraph` runs it.  The results differ from the
step-by-step executor's by float rounding only (tests/test_fused_cpu.py: within the tolerance both are held to
against the TFLite runtime).  TorchScript cannot hold oneDNN's packed weights, so the program runs in Python: its
dispatch around its 86 calls costs less than the reorders it saves (benchmarks/executor_bench.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import torch

from ..errors import UnsupportedGraph
from . import sparse_kernel
from .tflite_graph import RUNNERS as _RUNNERS
from .tflite_graph import SAME, TFLiteGraph
from .tflite_graph import Step as _Step
from .tflite_graph import activate as _activate
from .tflite_graph import same_padding as _same_padding

#: TFLite's fused activations as oneDNN post-ops: (name, scalars).
_POST_OPS = {0: ("none", []), 1: ("relu", []), 3: ("hardtanh", [0.0, 6.0])}
_CONVOLUTIONS = ("CONV_2D", "DEPTHWISE_CONV_2D")

Values = dict[int, torch.Tensor]


@dataclass
class _Op:
    """One step of the program: computes tensor ``output`` from ``values``; ``reads``: the tensors it reads;
    ``kind``: what it does (a fusion's name, or the TFLite operator it runs as the executor does); ``sparse``: whether
    its 1x1 convolution runs through the sparse kernel."""

    output: int
    run: Callable[[Values], torch.Tensor]
    reads: list[int]
    kind: str
    sparse: bool = False


@dataclass(frozen=True)
class _Geometry:
    """A convolution as oneDNN takes it (4-D shapes NCHW, as Torch indexes them)."""

    padding: list[int]
    stride: list[int]
    dilation: list[int]
    groups: int


def available(device: torch.device | str) -> bool:
    """Whether :class:`FusedCpu` can run a graph on ``device``: a CPU with oneDNN (every x86-64 build of Torch)."""
    return torch.device(device).type == "cpu" and torch.backends.mkldnn.is_available()


@dataclass
class _Program:
    """The ops for one input shape; after each op, the activations no later op reads (dropped as it runs: the peak
    memory is then the widest layer's, as in :class:`TFLiteGraph`); the graph's constants the ops read by index."""

    ops: list[_Op]
    releases: list[list[int]]
    constants: list[int]

    @classmethod
    def of(cls, graph: TFLiteGraph, batch: int, kernel: ModuleType | None) -> _Program:
        ops = _compile(graph, batch, kernel)
        constants = set(graph.constant_ids)
        last_use = {index: position for position, op in enumerate(ops) for index in op.reads}
        keep = set(graph.output_ids) | constants
        releases = [sorted({i for i in op.reads if last_use[i] == position and i not in keep}) for position, op in enumerate(ops)]
        return cls(ops, releases, sorted({i for op in ops for i in op.reads if i in constants}))


class FusedCpu:
    """A float32 :class:`TFLiteGraph` on the CPU, compiled into fused oneDNN steps for each input shape it meets
    (on the first call with it).  Called like :class:`~pipeline.pose.tflite_graph.Frozen`: NHWC in, outputs out.
    The weights are packed from the graph's when a shape is first met: a graph whose weights change afterwards
    needs a new :class:`FusedCpu`.  ``sparse``: run the 1x1 convolutions through the sparse kernel where it was
    built (:attr:`sparse` says whether it was); False keeps oneDNN's for all (for comparisons)."""

    def __init__(self, graph: TFLiteGraph, sparse: bool = True):
        self.graph = graph
        self._kernel = sparse_kernel.load() if sparse else None
        self._programs: dict[tuple[int, ...], _Program] = {}

    @property
    def sparse(self) -> bool:
        """Whether the 1x1 convolutions run through the sparse kernel."""
        return self._kernel is not None

    def __call__(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        if inputs.device.type != "cpu" or inputs.dtype != torch.float32:
            raise ValueError(f"The fused CPU program runs float32 on the CPU, not {inputs.dtype} on {inputs.device}.")
        key = tuple(inputs.shape)
        if key not in self._programs:
            with torch.inference_mode():
                self._programs[key] = _Program.of(self.graph, key[0], self._kernel)
        program, graph = self._programs[key], self.graph
        values: Values = {index: getattr(graph, f"c{index}") for index in program.constants}
        values[graph.input_ids[0]] = inputs.contiguous().permute(0, 3, 1, 2)
        for op, release in zip(program.ops, program.releases):
            values[op.output] = op.run(values)
            for index in release:
                del values[index]
        return [values[i].permute(0, 2, 3, 1) if values[i].dim() == 4 else values[i] for i in graph.output_ids]


def _compile(graph: TFLiteGraph, batch: int, kernel: ModuleType | None = None) -> list[_Op]:
    """The graph's steps as ops for inputs of ``batch`` images, fused where the module's docstring says; 1x1
    convolutions through the sparse ``kernel`` where it is given."""
    readers: dict[int, list[_Step]] = {}
    for step in graph.steps:
        for index in step.inputs:
            readers.setdefault(index, []).append(step)
    only_reader = {index: users[0] for index, users in readers.items() if len(users) == 1}
    producer = {step.outputs[0]: step for step in graph.steps}
    # the 1x1 convolution -> the upsampling it runs before; the ADD -> the convolution that adds inside
    upsampling = {id(reader): step for step in graph.steps if (reader := _pointwise_after_upsampling(graph, step, only_reader))}
    residual = {id(step): conv for step in graph.steps if (conv := _convolution_before(graph, step, producer, only_reader, upsampling))}
    absorbed = {id(step) for step in (*upsampling.values(), *residual.values())}
    program = []
    for step in graph.steps:
        if id(step) in absorbed:
            continue  # computed by the op of the ADD that reads it, or of the convolution it feeds
        if id(step) in residual:
            program.append(_convolution_and_add(graph, batch, residual[id(step)], step, kernel))
        elif id(step) in upsampling:
            program.append(_pointwise_then_upsample(graph, batch, upsampling[id(step)], step, kernel))
        elif step.op in _CONVOLUTIONS and _geometry(graph, step) is not None:
            program.append(_convolution(graph, batch, step, kernel))
        else:
            program.append(_generic(graph, step))
    return program


def _nchw(graph: TFLiteGraph, index: int, batch: int) -> list[int]:
    _, height, width, channels = graph.shapes[index]
    return [batch, channels, height, width]


def _weights(graph: TFLiteGraph, step: _Step) -> tuple[torch.Tensor, torch.Tensor | None]:
    bias = getattr(graph, f"c{step.inputs[2]}") if len(step.inputs) > 2 and step.inputs[2] >= 0 else None
    return getattr(graph, f"c{step.inputs[1]}"), bias


def _geometry(graph: TFLiteGraph, step: _Step) -> _Geometry | None:
    """The convolution's padding, stride, dilation and groups; None where its SAME padding is uneven (oneDNN pads
    evenly: such a step runs as the executor runs it)."""
    options, (weight, _) = step.options, _weights(graph, step)
    _, channels, height, width = _nchw(graph, step.inputs[0], 1)
    padding = list(options.get("folded_padding", (0, 0)))
    if options["padding"] == SAME:
        (top, bottom), (left, right) = (_same_padding(size, weight.shape[2 + axis], options["stride"][axis], options["dilation"][axis])
                                        for axis, size in enumerate((height, width)))
        if top != bottom or left != right:
            return None
        padding = [top, left]
    return _Geometry(padding, list(options["stride"]), list(options["dilation"]), channels if step.op == "DEPTHWISE_CONV_2D" else 1)


def _packed(graph: TFLiteGraph, step: _Step, geometry: _Geometry, input_shape: list[int]) -> torch.Tensor:
    """The step's weights reordered once into the blocked layout oneDNN's kernel for this input shape reads."""
    weight, _ = _weights(graph, step)
    return torch.ops.mkldnn._reorder_convolution_weight(weight, geometry.padding, geometry.stride, geometry.dilation,
                                                        geometry.groups, input_shape)


def _sparse(graph: TFLiteGraph, step: _Step, kernel: ModuleType | None) -> Callable[..., torch.Tensor] | None:
    """``step`` through the sparse kernel, as ``run(input, activation, residual)``, if it is a plain 1x1 convolution
    (stride 1, no padding) of input channels in eights and the kernel is given; else None."""
    geometry, (weight, bias) = _geometry(graph, step), _weights(graph, step)
    plain = geometry == _Geometry([0, 0], [1, 1], [1, 1], 1) and tuple(weight.shape[2:]) == (1, 1)
    if kernel is None or step.op != "CONV_2D" or not plain or weight.shape[1] % 8:
        return None
    rows, columns, values = sparse_kernel.csr(weight[:, :, 0, 0])
    bias = torch.zeros(weight.shape[0]) if bias is None else bias.contiguous()

    def run(source: torch.Tensor, activation: int, residual: torch.Tensor | None) -> torch.Tensor:
        return kernel.sparse_pointwise(source, rows, columns, values, bias, activation, residual)

    return run


def _convolution(graph: TFLiteGraph, batch: int, step: _Step, kernel: ModuleType | None) -> _Op:
    """A convolution with its activation inside."""
    geometry, (_, bias) = _geometry(graph, step), _weights(graph, step)
    source = step.inputs[0]
    if sparse := _sparse(graph, step, kernel):
        activation = step.options["activation"]
        return _Op(step.outputs[0], lambda values: sparse(values[source], activation, None), [source], "convolution", True)
    weight = _packed(graph, step, geometry, _nchw(graph, source, batch))
    post_op, scalars = _POST_OPS[step.options["activation"]]

    def run(values: Values) -> torch.Tensor:
        return torch.ops.mkldnn._convolution_pointwise(values[source], weight, bias, geometry.padding, geometry.stride, geometry.dilation,
                                                       geometry.groups, post_op, scalars, "")

    return _Op(step.outputs[0], run, [source], "convolution")


def _convolution_before(graph: TFLiteGraph, add: _Step, producer: dict[int, _Step], only_reader: dict[int, _Step],
                        upsampling: dict[int, _Step]) -> _Step | None:
    """The convolution that can add the other input of ``add`` inside: one without activation whose output only
    ``add`` reads; None if there is none."""
    if add.op != "ADD" or add.options["activation"] not in _POST_OPS or len(add.inputs) != 2 or add.inputs[0] == add.inputs[1]:
        return None
    for index in add.inputs:
        step = producer.get(index)
        if (step is not None and step.op in _CONVOLUTIONS and only_reader.get(index) is add and step.options["activation"] == 0
                and id(step) not in upsampling and _geometry(graph, step) is not None):
            return step
    return None


def _convolution_and_add(graph: TFLiteGraph, batch: int, step: _Step, add: _Step, kernel: ModuleType | None) -> _Op:
    """The convolution ``step`` adding the other input of ``add`` to its output inside (the same sum: IEEE addition
    commutes), then the ADD's activation: inside too for a ReLU, in place after it for a ReLU6 (oneDNN fuses no
    other activation after an addition)."""
    geometry, (_, bias) = _geometry(graph, step), _weights(graph, step)
    source, other = step.inputs[0], next(i for i in add.inputs if i != step.outputs[0])
    activation = add.options["activation"]
    if sparse := _sparse(graph, step, kernel):
        return _Op(add.outputs[0], lambda values: sparse(values[source], activation, values[other]), [source, other], "convolution+add",
                   True)
    weight = _packed(graph, step, geometry, _nchw(graph, source, batch))
    inside, after = ("relu", 0) if activation == 1 else (None, activation)

    def run(values: Values) -> torch.Tensor:
        total = torch.ops.mkldnn._convolution_pointwise.binary(values[source], values[other], weight, bias, geometry.padding, geometry.stride,
                                                               geometry.dilation, geometry.groups, "add", None, inside, [], None)
        return _activate(total, after)

    return _Op(add.outputs[0], run, [source, other], "convolution+add")


def _pointwise_after_upsampling(graph: TFLiteGraph, step: _Step, only_reader: dict[int, _Step]) -> _Step | None:
    """The 1x1 convolution (stride 1, no padding) that is the only reader of ``step``, if ``step`` is a bilinear
    upsampling; else None."""
    reader = only_reader.get(step.outputs[0]) if step.op == "RESIZE_BILINEAR" else None
    if reader is None or reader.op != "CONV_2D" or reader.inputs[0] != step.outputs[0]:
        return None
    geometry, (weight, _) = _geometry(graph, reader), _weights(graph, reader)
    pointwise = geometry is not None and tuple(weight.shape[2:]) == (1, 1) and geometry.stride == [1, 1] and geometry.padding == [0, 0]
    return reader if pointwise else None


def _pointwise_then_upsample(graph: TFLiteGraph, batch: int, resize: _Step, step: _Step, kernel: ModuleType | None) -> _Op:
    """The 1x1 convolution ``step`` on the input of the upsampling ``resize`` that fed it, then the upsampling, then
    the convolution's activation."""
    geometry, (_, bias) = _geometry(graph, step), _weights(graph, step)
    source = resize.inputs[0]
    upsample, activation = _bilinear(graph, resize), step.options["activation"]
    sparse = _sparse(graph, step, kernel)
    if sparse is None:
        weight = _packed(graph, step, geometry, _nchw(graph, source, batch))

    def run(values: Values) -> torch.Tensor:
        small = sparse(values[source], 0, None) if sparse else torch.ops.mkldnn._convolution_pointwise(
            values[source], weight, bias, geometry.padding, geometry.stride, geometry.dilation, geometry.groups, "none", [], "")
        return _activate(upsample(small), activation)

    return _Op(step.outputs[0], run, [source], "pointwise+upsample", sparse is not None)


def _bilinear(graph: TFLiteGraph, resize: _Step) -> Callable[[torch.Tensor], torch.Tensor]:
    """TFLite's bilinear resizing as two weighted sums of neighbours, one axis then the other: only multiplications
    and additions, which round the same with any instruction set (Torch's own upsampling kernel gave other bits
    with its oldest kernels than with AVX2)."""
    options = resize.options
    if not options["half_pixel_centers"] and not options["align_corners"]:
        raise UnsupportedGraph("legacy (asymmetric) bilinear resizing is not supported")
    (_, height, width, _), (_, tall, wide, _) = graph.shapes[resize.inputs[0]], graph.shapes[resize.outputs[0]]
    rows, columns = (_neighbours(size, out, bool(options["align_corners"])) for size, out in ((height, tall), (width, wide)))

    def run(small: torch.Tensor) -> torch.Tensor:
        pixels = small.permute(0, 2, 3, 1)  # NHWC: a channels-last tensor's memory as it is
        (top, bottom, upper, lower), (left, right, near, far) = rows, columns
        pixels = pixels[:, top] * upper[:, None, None] + pixels[:, bottom] * lower[:, None, None]
        pixels = pixels[:, :, left] * near[:, None] + pixels[:, :, right] * far[:, None]
        return pixels.permute(0, 3, 1, 2)

    return run


def _neighbours(size: int, out: int, align_corners: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each of ``out`` positions along an axis of ``size`` pixels: the two pixels it lies between and their
    weights (as ``F.interpolate`` places them)."""
    place = torch.arange(out, dtype=torch.float64)
    place = place * ((size - 1) / max(out - 1, 1)) if align_corners else ((place + 0.5) * (size / out) - 0.5).clamp(min=0)
    first = place.floor().long().clamp(max=size - 1)
    second = (first + 1).clamp(max=size - 1)
    far = (place - first).float()
    return first, second, 1 - far, far


def _generic(graph: TFLiteGraph, step: _Step) -> _Op:
    """A step as the executor runs it."""
    runner, inputs = _RUNNERS[step.op], [i for i in step.inputs if i >= 0]

    def run(values: Values) -> torch.Tensor:
        return runner(graph, step, [values[i] for i in inputs])

    return _Op(step.outputs[0], run, inputs, step.op)
