"""The analysis of one video: frames in, per-frame postures and scores out.

The pipeline knows nothing of queues or storage.  It reads the video in
chunks, runs the pose model on each and hands every finished chunk to a
:class:`Checkpoints` object (the task stores them in object storage), written
behind the computation by a background thread (:mod:`.writebehind`); chunks
already finished by an earlier, interrupted run are taken from there instead
of being computed again.

The pose model follows the person from chunk to chunk, as MediaPipe follows
them through a stream: each chunk's checkpoint carries the tracker's state,
and the next chunk starts from it, so a resumed run continues exactly where
the interrupted one stopped.  Tracking restarts only where a long video may
be split into parts (every ``part_chunks`` chunks), primed on the chunk
before, so the result is the same whether the parts ran side by side or one
after the other.  Everything after pose estimation (choosing the worker,
angles, scoring) is cheap and runs once over all chunks; scoring the chosen worker's poses (:func:`score_poses`) is
all a re-score of a stored result runs again (:mod:`.rescore`).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from . import numerics
from .angles import (
    AngleSettings,
    camera_tilt,
    clean_angles,
    hidden_trunk_angles,
    missing_spans,
)
from .assessment import AssessmentParams, parts_out_of_view, score_frames
from .bands import time_in_bands
from .errors import UnreadableVideo
from .plausibility import judge
from .pose.base import PoseModel, PoseOutput
from .prefetch import prefetch
from .presets import Preset, analysis_size, person_size_warning
from .result_model import RESULT_FORMAT, RESULT_VERSION, AnalysisResult, validated
from .scene_vertical import SceneVertical, frame_lines, scene_vertical
from .sides import keep_sides
from .summary import summarize
from .time_range import TimeRange, restrict
from .tracking import MainPerson, select_main_person
from .video import FrameReader, VideoInfo, frame_times_us, probe, sample_indices
from .viewpoint import measured_angles, on_image, trunk_uncertainty, viewpoint
from .writebehind import WriteBehind

#: A person missing for at least this long is reported as a gap.
REPORTED_GAP_S = 1.0


#: The scene's lines are read in the first frame of every this-many chunks (:func:`_scene_lines`).
SCENE_EVERY_CHUNKS = 2

#: Prefix of the tracker's arrays in a chunk's checkpoint.
_STATE = "state."


@dataclass
class ChunkResult:
    index: int
    frame_indices: np.ndarray
    pose: PoseOutput | None  # None when none of its frames could be decoded
    error: str | None = None  # which frames could not be decoded
    state: dict[str, np.ndarray] = field(default_factory=dict)  # the pose model's tracker after this chunk
    #: Its frames decord failed on and PyAV read (see :meth:`FrameReader.read_each`): recorded in the result.
    fallbacks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: The scene's near-vertical segments in its first readable frame (:func:`.scene_vertical.frame_lines`; every
    #: :data:`SCENE_EVERY_CHUNKS`-th chunk): kept so that a resumed analysis finds the same vertical.
    scene_lines: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        arrays = {"frame_indices": self.frame_indices, "index": np.array(self.index),
                  **{_STATE + name: value for name, value in self.state.items()}}
        if self.pose is not None:
            arrays.update(keypoints=self.pose.keypoints, boxes=self.pose.boxes)
            if self.pose.world is not None:
                arrays["world"] = self.pose.world
            if self.pose.ended is not None:
                arrays["ended"] = self.pose.ended
            if self.pose.cuts is not None:
                arrays["cuts"] = self.pose.cuts
        if self.error:
            arrays["error"] = np.array(self.error)
        if len(self.fallbacks):
            arrays["fallbacks"] = self.fallbacks
        if len(self.scene_lines):
            arrays["scene_lines"] = self.scene_lines
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ChunkResult:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            pose = None
            if "keypoints" in arrays:
                pose = PoseOutput(arrays["keypoints"], arrays["boxes"], arrays.get("world"), arrays.get("ended"), arrays.get("cuts"))
            error = str(arrays["error"]) if "error" in arrays else None
            state = {name[len(_STATE):]: arrays[name] for name in arrays.files if name.startswith(_STATE)}
            fallbacks = arrays["fallbacks"] if "fallbacks" in arrays else np.zeros(0, np.int64)
            lines = arrays["scene_lines"] if "scene_lines" in arrays else np.zeros((0, 4), np.float32)
            return cls(int(arrays["index"]), arrays["frame_indices"], pose, error, state, fallbacks, lines)


class Checkpoints(Protocol):
    """Where finished chunks are kept, so an interrupted analysis can resume."""

    def load(self, fingerprint: str, only: range | None = None) -> dict[int, ChunkResult]:
        """Chunks finished earlier with the same settings (others are discarded); ``only`` those, when given."""

    def save(self, chunk: ChunkResult) -> None:
        """Keep a finished chunk."""


@dataclass
class MemoryCheckpoints:
    chunks: dict[int, ChunkResult] = field(default_factory=dict)

    def load(self, fingerprint: str, only: range | None = None) -> dict[int, ChunkResult]:
        return {i: c for i, c in self.chunks.items() if only is None or i in only}

    def save(self, chunk: ChunkResult) -> None:
        self.chunks[chunk.index] = chunk


@dataclass(frozen=True)
class Progress:
    stage: str
    frames_done: int
    frames_total: int
    eta_s: float | None
    percent: float


@dataclass
class AnalysisOptions:
    preset: Preset
    params: AssessmentParams = field(default_factory=AssessmentParams)
    angles: AngleSettings = field(default_factory=AngleSettings)
    #: Sampled frames per chunk: the unit of checkpointing (and of work lost to a crash).
    chunk_size: int = 32
    #: Tracking restarts every this many chunks (primed on the chunk before), and a long video's parts, which
    #: workers may analyse side by side, are this long: the result is the same either way (0: never restarts).
    part_chunks: int = 32
    #: Chunks decoded ahead of the pose model, and checkpoints waiting to be written behind it.
    prefetch_depth: int = 2
    write_behind_depth: int = 2
    #: Only the frames shown within this part of the video are decoded and analysed (None: the whole video).
    time_range: TimeRange | None = None

    def __post_init__(self) -> None:
        """A camera angle given with the job (the task details) overrides the estimate from the video."""
        if self.params.camera_pitch is not None:
            self.angles = replace(self.angles, camera_pitch=self.params.camera_pitch, camera_roll=self.params.camera_roll)


def fingerprint(info: VideoInfo, options: AnalysisOptions, model: PoseModel) -> str:
    """Identifies what a chunk depends on; checkpoints made with other settings are not reused."""
    basis = {"video": [info.frame_count, info.fps, info.width, info.height, info.rotation, info.size_bytes,
                       info.reader],  # the readers resize alike only to within a level: never mix their chunks
             "preset": options.preset.as_dict(), "chunk_size": options.chunk_size,
             "part_chunks": options.part_chunks, "model": model.describe()}
    if options.time_range is not None:  # only when set: a whole video's checkpoints keep the fingerprint they had
        basis["time_range"] = [options.time_range.start_s, options.time_range.end_s]
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _chunks(indices: np.ndarray, size: int) -> list[np.ndarray]:
    return [indices[start:start + size] for start in range(0, len(indices), size)]


@dataclass(frozen=True)
class _Step:
    """One chunk to compute, and where its tracking starts from."""

    index: int
    frame_indices: np.ndarray
    #: The frames to prime a restarted tracker on (the chunk before), or None.
    prime: np.ndarray | None = None
    #: Restart tracking here (a part's first chunk), else continue from ``state`` or, when None, the step before.
    restart: bool = False
    state: dict[str, np.ndarray] | None = None


def _decode(reader: FrameReader, steps: list[_Step]) -> Iterator[tuple[_Step, list[np.ndarray | None], list[np.ndarray | None], np.ndarray]]:
    """Each step's frames, the frames it primes on, and which of its frames PyAV read where decord failed."""
    for step in steps:
        frames = reader.read_each(step.frame_indices)
        fallbacks = np.intersect1d(step.frame_indices, np.asarray(reader.fallbacks, np.int64))
        yield step, frames, [] if step.prime is None else reader.read_each(step.prime), fallbacks


def _frames_read(steps: list[_Step]) -> np.ndarray:
    """Every frame the steps read, their chunks' and those they prime on (what the reader must not skip)."""
    read = [step.frame_indices for step in steps] + [step.prime for step in steps if step.prime is not None]
    return np.unique(np.concatenate(read)) if read else np.zeros(0, np.int64)


def _unreadable(frame_indices: np.ndarray, frames: list[np.ndarray | None]) -> str | None:
    """Which of a chunk's frames could not be decoded, in words (runs of consecutive sampled frames)."""
    missing = [position for position, frame in enumerate(frames) if frame is None]
    if not missing:
        return None
    runs = np.split(np.asarray(missing), np.flatnonzero(np.diff(missing) > 1) + 1)
    spans = [f"{int(frame_indices[run[0]])}" if len(run) == 1 else f"{int(frame_indices[run[0]])}-{int(frame_indices[run[-1]])}"
             for run in runs]
    return f"frames {', '.join(spans)} could not be decoded"


def _track(model: PoseModel, frames: list[np.ndarray | None], frame_indices: np.ndarray, fps: float,
           state: dict[str, np.ndarray]) -> tuple[PoseOutput | None, dict[str, np.ndarray]]:
    """The model's poses for a chunk's readable frames, continuing its tracking from ``state``; unreadable frames
    are NaN rows, like frames without a person (the tracker never sees them)."""
    readable = [position for position, frame in enumerate(frames) if frame is not None]
    if not readable:
        return None, state
    found, state = model.track(np.stack([frames[position] for position in readable]), frame_times_us(frame_indices[readable], fps), state)
    if len(readable) == len(frames):
        return found, state
    pose = PoseOutput.empty(len(frames), found.keypoints.shape[1], found.keypoints.shape[2], found.world is not None)
    pose.keypoints[readable], pose.boxes[readable] = found.keypoints, found.boxes
    if found.world is not None:
        pose.world[readable] = found.world
    if found.ended is not None:
        pose.ended = np.zeros(len(frames), np.int8)
        pose.ended[readable] = found.ended
    if found.cuts is not None:  # a frame that could not be read is no shot of its own: a cut stays with the next one read
        pose.cuts = np.zeros(len(frames), bool)
        pose.cuts[readable] = found.cuts
    return pose, state


@dataclass(frozen=True)
class Plan:
    """What an analysis of one video with given options will read: the sampled frames, chunk by chunk."""

    info: VideoInfo
    size: tuple[int, int]  # frames are read at this (width, height)
    chunks: list[np.ndarray]  # sampled frame indices, chunk by chunk

    @classmethod
    def of(cls, path: str | Path, options: AnalysisOptions) -> Plan:
        info = probe(path)
        indices = restrict(sample_indices(info, options.preset.sample_fps), info.fps, info.duration, options.time_range)
        return cls(info, analysis_size(info.width, info.height), _chunks(indices, options.chunk_size))

    @property
    def frames(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)

    @property
    def indices(self) -> np.ndarray:
        """Every sampled frame, in order."""
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int64)


def parts(chunks: int, chunks_per_part: int) -> list[range]:
    """The chunks of a long video split into parts of ``chunks_per_part`` consecutive chunks (the last may be
    shorter), to be analysed side by side.  They depend on the video and the setting only, never on how many
    workers there are; tracking restarts at each (see :func:`analyze_chunks`), so the result does not depend on
    how the work was split."""
    if chunks_per_part < 1:
        return [range(chunks)]
    return [range(start, min(start + chunks_per_part, chunks)) for start in range(0, chunks, chunks_per_part)] or [range(0)]


def _steps(plan: Plan, options: AnalysisOptions, wanted: range, saved: dict[int, ChunkResult]) -> tuple[dict[int, ChunkResult], list[_Step]]:
    """Which of the ``wanted`` chunks come from the checkpoints and which are computed, and how each computed one
    starts tracking.  Within a part, saved chunks are used up to the first missing one; from there on every chunk
    is computed, continuing from the last saved chunk's tracker (or restarting at the part's start)."""
    done, steps = {}, []
    for part in parts(len(plan.chunks), options.part_chunks):
        chunks = [index for index in part if index in wanted]
        if not chunks:
            continue
        if chunks[0] != part.start:
            raise ValueError(f"Chunks {wanted.start}-{wanted.stop - 1} do not begin where tracking restarts (every {options.part_chunks} chunks).")
        missing = next((index for index in chunks if index not in saved), None)
        done.update({index: saved[index] for index in chunks if missing is None or index < missing})
        for index in chunks[chunks.index(missing):] if missing is not None else []:
            restart = index == part.start
            steps.append(_Step(index, plan.chunks[index], prime=plan.chunks[index - 1] if restart and index > 0 else None, restart=restart,
                               state=saved[index - 1].state if index == missing and not restart else None))
    return done, steps


def _scene_lines(index: int, frames: list[np.ndarray | None], pose: PoseOutput | None) -> np.ndarray:
    """The scene's segments in a chunk's first readable frame, outside everyone's box, on every
    :data:`SCENE_EVERY_CHUNKS`-th chunk: one frame in a few seconds is enough for a still scene and costs ~1% of the
    pose model's time."""
    first = next((i for i, frame in enumerate(frames) if frame is not None), None)
    if index % SCENE_EVERY_CHUNKS or first is None:
        return np.zeros((0, 4), np.float32)
    return frame_lines(frames[first], np.zeros((0, 4)) if pose is None else pose.boxes[first])


def analyze_chunks(path: str | Path, model: PoseModel, options: AnalysisOptions, plan: Plan, *, only: range | None = None,
                   checkpoints: Checkpoints | None = None, on_progress: Callable[[Progress], None] | None = None,
                   on_chunk: Callable[[ChunkResult], None] | None = None) -> dict[int, ChunkResult]:
    """The poses of the plan's chunks (``only`` those, when given: a part), from the checkpoints where an earlier
    run left them, else computed (and checkpointed).  Progress counts the frames of the chunks asked for."""
    checkpoints = checkpoints or MemoryCheckpoints()
    report = on_progress or (lambda progress: None)
    wanted = only if only is not None else range(len(plan.chunks))
    done, steps = _steps(plan, options, wanted, checkpoints.load(fingerprint(plan.info, options, model), only))
    total = sum(len(plan.chunks[i]) for i in wanted)
    finished = sum(len(chunk.frame_indices) for chunk in done.values())
    started, computed = time.monotonic(), 0
    report(Progress("analysing poses", finished, total, None, 95.0 * finished / max(total, 1)))
    reader = FrameReader(path, plan.info, plan.size, sampled=_frames_read(steps))
    fps = plan.info.fps
    state: dict[str, np.ndarray] = {}
    with WriteBehind(checkpoints, options.write_behind_depth) as saving:
        for step, frames, prime, fallbacks in prefetch(_decode(reader, steps), options.prefetch_depth):
            if step.restart:
                state = {} if step.prime is None else _track(model, prime, step.prime, fps, {})[1]  # its poses are the chunk before's
            elif step.state is not None:
                state = step.state
            pose, state = _track(model, frames, step.frame_indices, fps, state)
            chunk = ChunkResult(step.index, step.frame_indices, pose, _unreadable(step.frame_indices, frames), state, fallbacks,
                                _scene_lines(step.index, frames, pose))
            saving.save(chunk)
            if on_chunk:
                on_chunk(chunk)
            done[step.index] = chunk
            finished += len(step.frame_indices)
            computed += len(step.frame_indices)
            rate = computed / max(time.monotonic() - started, 1e-6)
            report(Progress("analysing poses", finished, total, (total - finished) / rate, 95.0 * finished / total))
    return done


def analyze_video(path: str | Path, model: PoseModel, options: AnalysisOptions, *,
                  checkpoints: Checkpoints | None = None, on_progress: Callable[[Progress], None] | None = None,
                  on_chunk: Callable[[ChunkResult], None] | None = None, job_id: str | None = None,
                  video_name: str | None = None) -> AnalysisResult:
    """Analyse a video file; returns its result (:class:`pipeline.result_model.AnalysisResult`).

    ``video_name`` is the file name the person knows the video by (the upload's), recorded in the results;
    by default the file's own name.
    """
    report = on_progress or (lambda progress: None)
    plan = Plan.of(path, options)
    done = analyze_chunks(path, model, options, plan, checkpoints=checkpoints, on_progress=report, on_chunk=on_chunk)
    chunks = [done[i] for i in range(len(plan.chunks))]
    if all(chunk.pose is None for chunk in chunks):
        raise UnreadableVideo("No frame of the video could be decoded: the file is damaged. Export or copy it again and upload it anew.")
    report(Progress("scoring", plan.frames, plan.frames, 0.0, 96.0))
    result = assemble(plan.info, options, model, chunks, job_id, video_name or Path(path).name)
    report(Progress("done", plan.frames, plan.frames, 0.0, 100.0))
    return result


def worker_height(keypoints: np.ndarray, frame_height: int) -> float | None:
    """The worker's median height in the frames read (pixels): the extent of the body's landmarks within the frame."""
    if not len(keypoints):
        return None
    ys = np.clip(keypoints[..., 1], 0, frame_height)
    return round(float(np.nanmedian(np.nanmax(ys, axis=1) - np.nanmin(ys, axis=1))), 1)


def reject_implausible(main: MainPerson, names: tuple[str, ...], times: np.ndarray, pose: PoseOutput) -> list[str]:
    """Judge each frame's pose (:mod:`.plausibility`); a rejected one becomes a frame without a person, in place.
    Returns why each frame was rejected ("" where it was not), with why the pose model ended its track
    (``pose.ended``); ``pose.cuts`` says where shots change (the continuity rule holds within a shot)."""
    rejections = judge(main.boxes, main.world, main.detected, names, pose.ended, keypoints=main.keypoints, times=times, cuts=pose.cuts)
    rejected = np.array([bool(reason) for reason in rejections], bool)
    main.detected[rejected] = False
    for points in (main.keypoints, main.boxes, main.world):
        if points is not None:
            points[rejected] = np.nan
    return rejections


def assemble(info: VideoInfo, options: AnalysisOptions, model: PoseModel, chunks: list[ChunkResult], job_id: str | None,
             video_name: str = "") -> AnalysisResult:
    """Everything after pose estimation: the main worker chosen, judged and their sides kept, then scored
    (:func:`score_poses`); validated as the result's type."""
    points = len(model.keypoint_names)
    poses = [c.pose if c.pose is not None else PoseOutput.empty(len(c.frame_indices), model.max_persons, points, model.world_landmarks)
             for c in chunks]
    pose = PoseOutput.concatenate(poses)
    frame_indices = np.concatenate([c.frame_indices for c in chunks]).astype(np.int64)
    times = frame_indices / info.fps
    main = select_main_person(pose, model.min_person_score)
    rejections = reject_implausible(main, model.keypoint_names, times, pose)
    keep_sides(main, model.keypoint_names, times, options.angles)  # BlazePose's left/right swaps undone before any angle is measured
    lines = np.concatenate([c.scene_lines for c in chunks]) if chunks else np.zeros((0, 4), np.float32)
    read_in = np.concatenate([np.full(len(c.scene_lines), i) for i, c in enumerate(chunks)]) if chunks else np.zeros(0, int)
    worker = WorkerPoses(frame_indices, times, list(model.keypoint_names), main.keypoints, main.world, main.boxes, main.detected, rejections,
                         scene_vertical(lines, *analysis_size(info.width, info.height), frames=read_in))
    video = {"name": video_name, **info.as_dict(), "fallback_frames": [int(i) for c in chunks for i in c.fallbacks]}
    return score_poses(worker, options, video=video, model={**model.describe(), "numerics": numerics.in_force(model.unpinned())},
                       damaged=[c.error for c in chunks if c.error], job_id=job_id)


@dataclass
class WorkerPoses:
    """The main worker's poses once chosen, judged (:func:`reject_implausible`) and their sides kept: everything the
    scores stand on.  ``result.pkl`` keeps them (:class:`pipeline.result_model.FrameColumns`), so a re-score
    (:mod:`.rescore`) starts here from a stored result, without the video or the pose model."""

    frame_indices: np.ndarray
    times: np.ndarray  # seconds
    keypoint_names: list[str]
    keypoints: np.ndarray
    world: np.ndarray | None
    boxes: np.ndarray
    detected: np.ndarray
    rejections: list[str]
    #: The scene's vertical vanishing point (:mod:`.scene_vertical`), None where no lines met.
    scene: SceneVertical | None = None

    def rows(self, keep: np.ndarray) -> WorkerPoses:
        """Only the frames where ``keep`` (an (n,) bool mask) is true."""
        return WorkerPoses(self.frame_indices[keep], self.times[keep], self.keypoint_names, self.keypoints[keep],
                           None if self.world is None else self.world[keep], self.boxes[keep], self.detected[keep],
                           [reason for reason, kept in zip(self.rejections, keep) if kept], self.scene)


def score_poses(poses: WorkerPoses, options: AnalysisOptions, *, video: dict, model: dict, damaged: list[str],
                job_id: str | None) -> AnalysisResult:
    """The worker's poses scored: angles, RULA and REBA, bands, summary; validated as the result's type.  The one
    way to score poses, for an analysis (:func:`assemble`) and a re-score alike.  ``video`` and ``model`` are the
    result's records of them (:class:`~.result_model.VideoRecord`, :class:`~.result_model.ModelRecord`);
    ``damaged`` says which frames could not be decoded."""
    names, keypoints, detected, times = poses.keypoint_names, poses.keypoints, poses.detected, poses.times
    frame_seconds = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / options.preset.sample_fps
    tilt = None if poses.world is None else camera_tilt(poses.world, keypoints, names, options.angles, poses.scene)
    measured, angle_sources = measured_angles(poses.world, keypoints, names, options.angles, tilt)
    angles = {name: np.where(detected, series, np.nan)  # gap filling bridges a body part, never a frame without the worker
              for name, series in clean_angles(measured, times, options.angles).items()}
    hidden = None if tilt is None else {name: np.where(detected[:, None], series, np.nan) for name, series in
                                        hidden_trunk_angles(on_image(poses.world, keypoints, options.angles.min_confidence),
                                                            keypoints, names, options.angles, tilt).items()}
    seen_from = viewpoint(poses.world, keypoints, names, options.angles, tilt)
    if seen_from is not None:
        seen_from = seen_from.knees_seen(~np.isnan(angles["knee_left"]) | ~np.isnan(angles["knee_right"]))
    rula, reba, inputs = score_frames(angles, options.params, hidden, trunk_uncertainty(tilt, seen_from),
                                      None if seen_from is None else seen_from.knee_uncertainty)
    out_of_view = parts_out_of_view(angles, detected, hidden)
    inputs["angle_sources"] = angle_sources
    inputs["camera_tilt"] = tilt.as_dict() if tilt else None
    inputs["viewpoint"] = seen_from.as_dict() if seen_from else None
    bands, sustained = time_in_bands(angles, times, frame_seconds, options.params)
    height = worker_height(keypoints[detected], analysis_size(video["width"], video["height"])[1])
    summary = summarize(rula=rula, reba=reba, detected=detected, times=times, frame_indices=poses.frame_indices,
                        frame_seconds=frame_seconds, bands=bands, sustained=sustained,
                        missing=missing_spans(detected, times, REPORTED_GAP_S), damaged=damaged,
                        rejected=sum(bool(reason) for reason in poses.rejections), out_of_view=out_of_view, worker_height_px=height,
                        warnings=[warning for warning in [person_size_warning(height, options.preset.name)] if warning],
                        camera_tilt=inputs["camera_tilt"], viewpoint=inputs["viewpoint"])
    return validated({
        "format": RESULT_FORMAT, "version": RESULT_VERSION, "job_id": job_id, "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "video": video, "preset": options.preset.as_dict(), "model": model,
        "angle_settings": options.angles, "frame_indices": poses.frame_indices, "timestamps": times,
        "keypoint_names": list(names), "keypoints": keypoints, "world_keypoints": poses.world, "boxes": poses.boxes, "detected": detected,
        "rejections": poses.rejections, "out_of_view": out_of_view,
        "angles": angles, "angle_sources": angle_sources, "rula": rula, "reba": reba, "inputs": inputs, "summary": summary,
        "time_range": _range_record(options.time_range, video["duration"]),
    })


def _range_record(span: TimeRange | None, duration_s: float) -> dict | None:
    """The part of the video analysed, as the result records it (None: all of it); an end asked for past the video's
    end is kept beside the end analysed, so the reader is told it was clipped."""
    if span is None:
        return None
    fitted = span.fitted(duration_s)
    clipped = span.end_s is not None and span.end_s > fitted.end_s
    return {"start_s": fitted.start_s, "end_s": fitted.end_s, "asked_end_s": span.end_s if clipped else None}
