"""What to change: for each body part whose score drives the result, a short recommendation from a fixed, sourced table.

The words are never made up per job: each body part's raised band (a RULA or REBA part score at or above a
threshold) has one recommendation in :data:`ADVICE`, with the published sources it rests on (:data:`SOURCES`).
A figure from a standard is stated only where the standard states it; elsewhere the document is cited without one.

Which parts *drive the result* (:func:`what_to_change`, documented in docs/pipeline.md): a body part
whose score is in a raised band in at least :data:`DRIVING_SHARE` of the method's exactly scored frames, or at
least at :data:`DRIVING_MOMENTS` of the method's worst moments (the frames with its highest scores).  Of a part's
bands that drive, the highest is told.  Computed once, in :func:`pipeline.summary.summarize`; a job that is not
assessable gets none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

#: The publications the recommendations rest on, by key: (short name, full citation).
SOURCES: dict[str, tuple[str, str]] = {
    "rula": ("McAtamney & Corlett 1993 (RULA)",
             "McAtamney L., Corlett E.N. (1993). RULA: a survey method for the investigation of work-related upper limb "
             "disorders. Applied Ergonomics 24(2), 91-99."),
    "reba": ("Hignett & McAtamney 2000 (REBA)",
             "Hignett S., McAtamney L. (2000). Rapid Entire Body Assessment (REBA). Applied Ergonomics 31(2), 201-205."),
    "iso11226": ("ISO 11226:2000",
                 "ISO 11226:2000. Ergonomics - Evaluation of static working postures."),
    "en1005-4": ("EN 1005-4:2005+A1:2008",
                 "EN 1005-4:2005+A1:2008. Safety of machinery - Human physical performance - Part 4: Evaluation of "
                 "working postures and movements in relation to machinery."),
}


@dataclass(frozen=True)
class Advice:
    """One body part's raised band (the part's ``method`` score at or above ``min_score``), what it means in words,
    what to change, and the keys of its :data:`SOURCES`."""

    part: str
    method: Literal["rula", "reba"]
    min_score: int
    band: str
    recommendation: str
    sources: tuple[str, ...]


#: The table: per body part, its raised bands, lowest first.  RULA's part scores for the upper body (its bands are the
#: finer), REBA's for the legs (RULA's legs score is a task detail, REBA's measures the knees).
ADVICE: tuple[Advice, ...] = (
    Advice("trunk", "rula", 3,
           "bent forward more than 20°, or bent and twisted or bent to the side (RULA trunk score 3 or more)",
           "Raise the work or bring it closer so the worker can stand upright: set the bench height to the worker, put "
           "parts and bins within reach in front of the body, and keep storage off the floor.",
           ("rula", "iso11226", "en1005-4")),
    Advice("trunk", "rula", 4,
           "bent forward more than 60°, or more than 20° while twisted or bent to the side (RULA trunk score 4 or more)",
           "Remove the deep stoop first: lift the work to the worker (lift tables, raised pallets, tilted bins) or give "
           "tools with long handles. ISO 11226 treats a trunk inclined more than 60° as not acceptable.",
           ("rula", "iso11226", "en1005-4")),
    Advice("neck", "rula", 3,
           "bent forward more than 20°, bent back, or bent while twisted or to the side (RULA neck score 3 or more)",
           "Bring what the worker looks at (parts, labels, displays) higher and closer, in front of the body, so the head "
           "stays upright over the trunk; lower work that makes the worker look up, or raise the worker.",
           ("rula", "iso11226", "en1005-4")),
    Advice("upper_arm", "rula", 3,
           "raised more than 45° from the trunk, or raised with the shoulder lifted or the arm out to the side "
           "(RULA upper arm score 3 or more)",
           "Keep the elbows near the body: place parts, tools and controls lower and closer, in front of the worker, "
           "and support the forearm where the task allows. ISO 11226 treats upper-arm elevation over 60° as not "
           "acceptable, and between 20° and 60° limits how long it may be held.",
           ("rula", "iso11226", "en1005-4")),
    Advice("upper_arm", "rula", 4,
           "raised more than 90° (above the shoulder), or more than 45° with the shoulder lifted or the arm out to the "
           "side (RULA upper arm score 4 or more)",
           "Stop work above the shoulder: lower the work, or raise the worker on a stable platform, so the hands work "
           "below shoulder height; use extension tools for occasional high reach. ISO 11226 treats upper-arm "
           "elevation over 60° as not acceptable.",
           ("rula", "iso11226", "en1005-4")),
    Advice("lower_arm", "rula", 2,
           "elbow bent less than 60° or more than 100°, or the forearm working across the body or out to the side "
           "(RULA lower arm score 2 or more)",
           "Place the work in front of the body, at a height and distance that let the elbow stay bent between about 60° "
           "and 100° (the methods' neutral band) and the hands work in front of the body, not across it or out to the side.",
           ("rula", "reba")),
    Advice("wrist", "rula", 3,
           "bent up or down more than 15°, or bent and turned to the side (RULA wrist score 3 or more)",
           "Keep the wrist straight, in line with the forearm: change the tool's handle or the angle and height of the "
           "work so the hand need not bend, rather than bending the hand to the work.",
           ("rula", "reba")),
    Advice("legs", "reba", 2,
           "knees bent more than 30°, or the weight on one leg or an unstable stance (REBA legs score 2 or more)",
           "Let the worker stand on both feet on a firm, level floor with the knees nearly straight, or sit: raise work "
           "done crouching or kneeling, leave room for the feet under the bench, and give a seat or a sit-stand support "
           "for long tasks.",
           ("reba",)),
)
#: A part drives the result when in a raised band in at least this share of the method's exactly scored frames...
DRIVING_SHARE = 0.25
#: ...or at at least this many of the method's worst moments (of pipeline.summary.WORST_MOMENTS, the frames with its
#: highest scores: a part raised there is what makes them the worst).
DRIVING_MOMENTS = 3
#: The rule in words, for the reader.
RULE = (f"A body part is listed when its score is in a raised band in at least {DRIVING_SHARE:.0%} of the exactly "
        f"scored time, or at {DRIVING_MOMENTS} or more of the method's worst moments. The words come from a fixed "
        "table, each with its published sources.")

#: How the parts read in words.
PART_WORDS = {"trunk": "Trunk", "neck": "Neck", "upper_arm": "Upper arm", "lower_arm": "Lower arm", "wrist": "Wrist", "legs": "Legs"}


def what_to_change(scores: dict[str, dict[str, np.ndarray]], worst_frames: dict[str, list[int]], frame_indices: np.ndarray,
                   frame_seconds: float) -> list[dict]:
    """The findings (``pipeline.result_model.Finding``'s fields) of the parts that drive the result, the part most
    often raised first: ``scores`` per method ("rula", "reba") its per-frame columns (frames without the worker
    already blank), ``worst_frames`` per method the frame numbers of its worst moments."""
    findings: dict[str, dict] = {}
    for advice in ADVICE:  # lowest band first: a higher band that drives replaces the lower
        finding = _finding(advice, scores[advice.method], worst_frames.get(advice.method, []), frame_indices, frame_seconds)
        if finding:
            findings[advice.part] = finding
    return sorted(findings.values(), key=lambda f: -f["share"])


def _finding(advice: Advice, columns: dict[str, np.ndarray], worst: list[int], frame_indices: np.ndarray,
             frame_seconds: float) -> dict | None:
    grand = columns["grand_score" if advice.method == "rula" else "reba_score"]
    part = columns[advice.part]
    scored = ~np.isnan(grand) & ~np.isnan(part)
    raised = scored & (np.nan_to_num(part) >= advice.min_score)
    share = float(raised.sum() / scored.sum()) if scored.any() else 0.0
    positions = np.flatnonzero(np.isin(frame_indices, worst))
    moments = int(raised[positions].sum())
    if not scored.any() or (share < DRIVING_SHARE and moments < DRIVING_MOMENTS):
        return None
    seconds = raised.sum() * frame_seconds
    at_worst = f", and at {moments} of the {len(positions)} worst {advice.method.upper()} moments" if moments else ""
    return {
        "part": advice.part, "method": advice.method, "min_score": advice.min_score, "share": round(share, 4),
        "why": f"{PART_WORDS[advice.part]} {advice.band}: {share:.0%} of the exactly scored time ({seconds:.1f} s){at_worst}.",
        "recommendation": advice.recommendation,
        "sources": [{"name": SOURCES[key][0], "citation": SOURCES[key][1]} for key in advice.sources],
    }
