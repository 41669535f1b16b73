"""How the ``ergo`` command prints: tables, JSON, a job's description, progress bars, the analysis summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from ..status import JobStatus
from ..timeutil import isoformat

if TYPE_CHECKING:
    from pipeline.result_model import Summary, Verdict


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    widths = {c: max([len(c)] + [len(str(row.get(c, ""))) for row in rows]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def job_row(doc: JobStatus) -> dict[str, Any]:
    return {
        "job_id": doc.job_id, "task": doc.task.rsplit(".", 1)[-1], "state": doc.state, "progress": f"{doc.progress:.0f}%",
        "stage": doc.stage, "attempts": doc.attempts, "updated": isoformat(doc.updated_at),
        "worker": doc.lease.worker_id if doc.lease else "",
    }


def describe(doc: JobStatus) -> str:
    lines = [f"{key:>12}: {value}" for key, value in job_row(doc).items()]
    lines.append(f"{'created':>12}: {isoformat(doc.created_at)}")
    lines.append(f"{'request':>12}: {json.dumps(doc.request.model_dump())}")
    if doc.checkpoint:
        lines.append(f"{'checkpoint':>12}: {doc.checkpoint}")
    if doc.lease:
        lines.append(f"{'lease until':>12}: {isoformat(doc.lease.expires_at)}")
    if doc.error:
        lines.append(f"{'error':>12}: {doc.error.type}: {doc.error.message}")
    for name, key in doc.result_keys.items():
        lines.append(f"{name:>12}: {key}")
    lines.append("     history:")
    for step in doc.history:
        who = f" by {step.worker}" if step.worker else ""
        lines.append(f"    {isoformat(step.at)}  {step.from_state or '-':>8} -> {step.to_state:<8}{who}  {step.reason}")
    return "\n".join(lines)


class JobProgress:
    """A progress bar (tqdm) on stderr that follows a job: percent, stage and frames done."""

    def __init__(self, show: bool):
        self.bar = tqdm(total=100.0, unit="%", bar_format="{l_bar}{bar}| {n:.1f}% [{elapsed}<{remaining}] {postfix}",
                        disable=not show, file=sys.stderr)

    def update(self, progress: float, stage: str, frames_done: int | None = None, frames_total: int | None = None) -> None:
        self.bar.update(progress - self.bar.n)
        frames = f" {frames_done}/{frames_total} frames" if frames_total else ""
        self.bar.set_postfix_str(f"{stage}{frames}", refresh=True)

    def close(self) -> None:
        self.bar.close()


def print_verdict(verdict: Verdict) -> None:
    """Whether the video could be assessed, why not fully, and what to do about it."""
    print(f"Verdict: {verdict.status}")
    for reason in verdict.reasons:
        print(f"  - {reason}")
    for advice in verdict.advice:
        print(f"  To do: {advice}")


def print_summary(summary: Summary) -> None:
    from pipeline.summary import shows_findings

    print_verdict(summary.verdict)
    rejected = f" ({summary.frames_rejected} rejected as not a person)" if summary.frames_rejected else ""
    print(f"Frames analysed: {summary.frames_analysed}, person detected in {summary.detection_rate:.0%}{rejected}")
    if not shows_findings(summary):
        return  # no score and no risk level stands for a video that could not be assessed
    for name, block in (("RULA", summary.rula), ("REBA", summary.reba)):
        if block.max is None:
            print(f"{name}: no frame could be scored")
            continue
        print(f"{name}: max {block.max}, mean {block.mean:.2f} (over {block.scored_frames} scored frames)")
        for level, row in block.levels.items():
            if row.frames:
                print(f"  level {level} ({row.label}): {row.share:.0%} of scored time ({row.seconds:.1f} s)")
        worst = ", ".join(f"{m.time_s:.1f} s (score {m.score})" for m in block.worst_moments[:3])
        print(f"  worst moments: {worst}")
    for run in summary.held_postures()[:5]:
        print(f"Sustained: {run.part} {run.band} from {run.start_s:.1f} s for {run.duration_s:.1f} s")
    for finding in summary.what_to_change:  # pipeline/advice.py's sourced table; the sources are in the PDF and summary.json
        print(f"What to change ({finding.part.replace('_', ' ')}): {finding.recommendation}")
    for damage in summary.damaged_spans:
        print(f"Skipped damaged video: {damage}")


def print_files(folder: Path) -> None:
    """Where the result files, the PDF report and the posture pictures are."""
    print(f"Result files in {folder}/: {', '.join(sorted(p.name for p in folder.iterdir() if p.is_file()))}")
    report = folder / "report.pdf"
    if report.exists():
        print(f"PDF report: {report}")
    pictures = sorted((folder / "frames").glob("*.jpg"))
    if pictures:
        print(f"Posture pictures ({len(pictures)}): " + ", ".join(str(p) for p in pictures))
