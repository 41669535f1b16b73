"""The summary a safety engineer reads first."""

from __future__ import annotations

import numpy as np

from .advice import what_to_change
from .assessment import PARTS_JOINED
from .ergonomics import level_labels
from .result_model import Summary, Verdict

WORST_MOMENTS = 5
WORST_SEPARATION_S = 1.0


def _levels(levels: np.ndarray, labels: dict[int, str], frame_seconds: float) -> dict:
    scored = levels[~np.isnan(levels)]
    return {
        str(level): {"label": label, "frames": int((scored == level).sum()),
                     "seconds": round(float((scored == level).sum() * frame_seconds), 3),
                     "share": round(float((scored == level).mean()), 4) if len(scored) else 0.0}
        for level, label in labels.items()
    }


def worst_moments(scores: np.ndarray, times: np.ndarray, frame_indices: np.ndarray) -> list[dict]:
    """The highest scores, at least WORST_SEPARATION_S apart, highest first (earliest on ties)."""
    order = sorted(np.flatnonzero(~np.isnan(scores)), key=lambda i: (-scores[i], times[i]))
    chosen: list[int] = []
    for index in order:
        if all(abs(times[index] - times[c]) >= WORST_SEPARATION_S for c in chosen):
            chosen.append(index)
        if len(chosen) == WORST_MOMENTS:
            break
    return [{"time_s": round(float(times[i]), 3), "frame_index": int(frame_indices[i]), "score": int(scores[i])} for i in chosen]


def _method(scores: np.ndarray, highest: np.ndarray, levels: dict, times: np.ndarray, frame_indices: np.ndarray) -> dict:
    scored = scores[~np.isnan(scores)]
    ranged = np.isnan(scores) & ~np.isnan(highest)
    return {
        "scored_frames": int(len(scored)),
        # frames with a body part not seen: their score lies in a range; the highest it could reach
        "ranged_frames": int(ranged.sum()),
        "ranged_max": int(highest[ranged].max()) if ranged.any() else None,
        "shares_of": "scored_frames",
        "max": int(scored.max()) if len(scored) else None,
        "mean": round(float(scored.mean()), 3) if len(scored) else None,
        "levels": levels,
        "worst_moments": worst_moments(scores, times, frame_indices),
    }


def _worker_only(scores: dict[str, np.ndarray], detected: np.ndarray) -> dict[str, np.ndarray]:
    """The scores with every frame without the worker (none found, or the pose rejected) blanked: no headline figure
    may come from one, whatever the scoring left there."""
    return {name: np.where(detected, values, np.nan) for name, values in scores.items()}


def summarize(*, rula: dict[str, np.ndarray], reba: dict[str, np.ndarray], detected: np.ndarray, times: np.ndarray,
              frame_indices: np.ndarray, frame_seconds: float, bands: dict, sustained: list[dict],
              missing: list, damaged: list, rejected: int = 0, out_of_view: list[str] | None = None,
              worker_height_px: float | None = None, warnings: list[str] = (), camera_tilt: dict | None = None,
              viewpoint: dict | None = None) -> Summary:
    """The headline figures, over the frames with the worker only (a frame without one carries no score), the counts
    they stand on and the verdict; ``out_of_view``: per frame, the body parts not seen
    (:func:`pipeline.assessment.parts_out_of_view`); ``warnings`` for the reader (a worker too small in the picture);
    ``camera_tilt``: the camera's tilt as the result records it (``inputs.camera_tilt``), for the verdict to say
    where gravity's vertical was not known with confidence; ``viewpoint`` (``inputs.viewpoint``), to say where the
    trunk's bend lay in the camera's depth (filmed from behind), and the knees' (from the front or behind)."""
    rula, reba = _worker_only(rula, detected), _worker_only(reba, detected)
    scored = int((~np.isnan(rula["grand_score"])).sum())
    ranged = int((np.isnan(rula["grand_score"]) & ~np.isnan(rula["grand_score_max"])).sum())
    # what the result stands on: frames scored exactly, as a range (a body part not seen), not at all; frames whose
    # pose was rejected as not a person (pipeline/plausibility.py) count as without one
    counts = {"frames_analysed": int(len(times)), "frames_with_person": int(detected.sum()), "frames_rejected": rejected,
              "frames_scored": scored, "frames_ranged": ranged}
    hidden = _out_of_view(out_of_view or [])
    summary = Summary.model_validate({
        **counts, "frames_unscored": int(len(times)) - scored - ranged,
        "detection_rate": round(float(detected.mean()), 4) if len(detected) else 0.0,
        # of the frames with the worker, how many left each body part out of view
        "parts_out_of_view": hidden,
        "rula": _method(rula["grand_score"], rula["grand_score_max"], _levels(rula["action_level"], level_labels("rula"), frame_seconds),
                        times, frame_indices),
        "reba": _method(reba["reba_score"], reba["reba_score_max"], _levels(reba["risk_level"], level_labels("reba"), frame_seconds),
                        times, frame_indices),
        "time_in_band": bands,
        "sustained_postures": sustained,
        "person_missing_spans": missing,
        "damaged_spans": damaged,
        "worker_height_px": worker_height_px,
        "warnings": list(warnings),
        "verdict": verdict(**counts, parts_out_of_view=hidden, damaged=damaged, worker_too_small=bool(warnings),
                           vertical=vertical_doubt(camera_tilt, rula, reba), depth=depth_doubt(viewpoint, rula, reba),
                           knees=knee_doubt(viewpoint, reba, counts["frames_with_person"])),
    })
    if shows_findings(summary):  # a job that is not assessable is told what to film, not what to change
        worst = {method: [m.frame_index for m in block.worst_moments] for method, block in (("rula", summary.rula), ("reba", summary.reba))}
        summary.what_to_change = what_to_change({"rula": rula, "reba": reba}, worst, frame_indices, frame_seconds)
    return summary


def _out_of_view(out_of_view: list[str]) -> dict[str, int]:
    """Frames each body part was out of view in, most first."""
    counts: dict[str, int] = {}
    for parts in out_of_view:
        for part in filter(None, parts.split(PARTS_JOINED)):
            counts[part] = counts.get(part, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


#: The verdicts, best first.
ASSESSABLE, PARTLY_ASSESSABLE, NOT_ASSESSABLE = "assessable", "partly assessable", "not assessable"
#: A job is fully assessable when the worker is accepted in at least this share of the frames read, and scored or
#: ranged in at least this share of those.
ASSESSABLE_SHARE = 0.8
#: A body part out of view in more than this share of the frames with the worker is named in the verdict.
HIDDEN_SHARE = 0.5
#: More than this share of the poses found rejected as not a person makes the job only partly assessable.
REJECTED_SHARE = 0.1


def vertical_doubt(camera_tilt: dict | None, rula: dict[str, np.ndarray], reba: dict[str, np.ndarray]) -> tuple[str, str] | None:
    """Where the camera's tilt was not known with confidence (no estimate, or a low one), the verdict's reason and
    advice: how far the trunk's angle may be off and the highest scores within that (the widened ranges of
    :func:`pipeline.assessment.score_frames`); None where it was known (or the model gives no 3D points)."""
    if not camera_tilt or camera_tilt["confidence"] not in ("none", "low"):
        return None
    if camera_tilt["confidence"] == "none":
        how = (f"The camera's angle could not be estimated (the worker's legs were seen straight in {camera_tilt['frames']} "
               "frames, too few), so the trunk is measured against the camera's own up")
    else:
        how = (f"The camera's angle was estimated with low confidence (from {camera_tilt['frames']} frames with straight legs, "
               f"within {camera_tilt['spread']:.0f}° of each other)")
    return (f"{how}: the trunk's angle may be off by up to {camera_tilt['uncertainty']:.0f}°, and its scores are given as a range "
            f"over that{_reach(rula, reba)}.",
            "Give the camera's angle with the job (its pitch and roll), or film the worker standing with straight legs, "
            "feet in the picture, for a few seconds.")


def depth_doubt(viewpoint: dict | None, rula: dict[str, np.ndarray], reba: dict[str, np.ndarray]) -> tuple[str, str] | None:
    """Where the worker was filmed from behind, so that the trunk's forward bend lay along the camera's line of sight
    (``inputs.viewpoint``'s ``trunk_uncertainty``, :func:`pipeline.viewpoint.depth_uncertainty`), the verdict's reason
    and advice: how far the trunk's angle may be off and the highest scores within that; None otherwise."""
    if not viewpoint or not viewpoint.get("trunk_uncertainty"):
        return None
    return (f"The worker was filmed mostly from behind (median azimuth {viewpoint['median_azimuth']:.0f}°), where the trunk's "
            "forward bend lies along the camera's line of sight, whose depth one camera judges least well: the trunk's angle "
            f"may be off by up to {viewpoint['trunk_uncertainty']:.0f}°, and its scores are given as a range over that"
            f"{_reach(rula, reba)}.",
            "Film from the side or at 45°, where the trunk's bend lies across the picture, rather than from behind.")


def knee_doubt(viewpoint: dict | None, reba: dict[str, np.ndarray], frames_with_person: int) -> tuple[str, str] | None:
    """Where most frames with the worker had the knees' bend along the camera's line of sight (filmed from the front or
    behind: ``inputs.viewpoint``'s ``knee_frames``, :func:`pipeline.viewpoint.sagittal_along_sight`), the verdict's reason
    and advice: how much more the knees may be bent and REBA's highest score within that (RULA's legs do not count
    the knee); None otherwise."""
    if not viewpoint or not viewpoint.get("knee_uncertainty") or viewpoint["knee_frames"] <= HIDDEN_SHARE * frames_with_person:
        return None
    reach = "" if np.isnan(reba["reba_score_max"]).all() else f" (at most REBA {int(np.nanmax(reba['reba_score_max']))})"
    return (f"In {viewpoint['knee_frames']} of {frames_with_person} frames with the worker, the knees were seen from the front or "
            "behind, where a knee bends along the camera's line of sight, whose depth one camera reads too straight: a knee "
            f"may be bent up to {viewpoint['knee_uncertainty']:.0f}° more than measured, and REBA's scores are given as a range "
            f"up to that{reach}.",
            "Film from the side, where the knees' bend lies across the picture, rather than from the front or behind.")


def _reach(rula: dict[str, np.ndarray], reba: dict[str, np.ndarray]) -> str:
    """The highest scores of the frames' ranges, in words (" (at most RULA 6 and REBA 9)"), or nothing."""
    reach = [f"{name} {int(np.nanmax(block[high]))}" for name, block, high in (("RULA", rula, "grand_score_max"), ("REBA", reba, "reba_score_max"))
             if not np.isnan(block[high]).all()]
    return f" (at most {' and '.join(reach)})" if reach else ""


def verdict(*, frames_analysed: int, frames_with_person: int, frames_rejected: int, frames_scored: int, frames_ranged: int,
            parts_out_of_view: dict[str, int], damaged: list[str], worker_too_small: bool,
            vertical: tuple[str, str] | None = None, depth: tuple[str, str] | None = None,
            knees: tuple[str, str] | None = None) -> Verdict:
    """Whether the job can be assessed ("assessable", "partly assessable", "not assessable"), why, and what to do.

    Computed once, from the summary's counts, for every output to show; ``vertical``: the reason and advice of a
    camera angle not known with confidence (:func:`vertical_doubt`); ``depth``: those of a trunk seen bending along the
    line of sight, from behind (:func:`depth_doubt`); ``knees``: those of knees seen bending along it, from the front or
    behind (:func:`knee_doubt`).
    """
    frames, person, rejected = frames_analysed, frames_with_person, frames_rejected
    judged = frames_scored + frames_ranged
    reasons, advice = [], []
    if person == 0 or judged == 0:
        reasons.append("No person was found in the video." if person == 0 else
                       "A person was found, but too little of the body was in view to score any frame.")
        if rejected:
            reasons.append(f"{rejected} of {frames} frames held a shape the pose model took for a person, rejected as not one.")
        advice.append("Film the worker at work, the whole body in the picture, from the side, close enough to fill most of its height.")
        return Verdict(status=NOT_ASSESSABLE, reasons=reasons, advice=advice)
    if person < ASSESSABLE_SHARE * frames:
        reasons.append(f"The worker is in view in only {person / frames:.0%} of the video.")
        advice.append("Keep the worker in the picture for the whole task.")
    hidden = {part: count for part, count in parts_out_of_view.items() if count > HIDDEN_SHARE * person}
    if hidden or judged < ASSESSABLE_SHARE * person:
        parts = ", ".join(f"the {part} in {count}" for part, count in hidden.items())
        reasons.append(f"Body parts were out of view most of the time{': ' + parts + f' of {person} frames with the worker' if parts else ''}. "
                       f"{frames_scored} frames were scored exactly, {frames_ranged} as a range of what the "
                       f"hidden parts could be, {person - judged} not at all.")
        advice.append("Film the whole body, from the side, with nothing in front of the worker.")
    if rejected > REJECTED_SHARE * (person + rejected):
        reasons.append(f"{rejected} frames were rejected as implausible (the pose found was not a person's).")
    for doubt in (vertical, depth, knees):
        if doubt:
            reasons.append(doubt[0])
            advice.append(doubt[1])
    if worker_too_small:
        reasons.append("The worker is small in the picture, so angles are less reliable.")
        advice.append("Film closer, so the worker fills most of the picture's height.")
    if damaged:
        more = f"; and {len(damaged) - 3} more chunks" if len(damaged) > 3 else ""
        reasons.append(f"Parts of the video could not be read ({'; '.join(damaged[:3])}{more}).")
        advice.append("Export or copy the video again.")
    return Verdict(status=PARTLY_ASSESSABLE if reasons else ASSESSABLE, reasons=reasons, advice=advice)


def shows_findings(summary: Summary) -> bool:
    """Whether a job's outputs may show scores and levels: not when its verdict is *not assessable*."""
    return summary.verdict.status != NOT_ASSESSABLE
