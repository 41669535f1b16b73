"""Scoring from records (issue 25): ``rula_score(posture, factors)`` and ``reba_score(posture, factors)``, and
``score_frames`` with its exact case vectorised, give the very scores the keyword-argument scoring gave.

``tests/data/frozen_scores.npz`` holds, for the demo clip (medium preset) and the two real clips, the angles and
3D points the analysis measured and every RULA and REBA field the scoring gave them before the refactor, under each
task-detail set of :data:`PARAMS` (frozen with the code of commit "Docs: the verdict in the PDF and the workbook").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.angles import AngleSettings, camera_tilt, hidden_trunk_angles
from pipeline.assessment import RANGE_FIELDS, REBA_FIELDS, RULA_FIELDS, AssessmentParams, score_frames
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS

FROZEN = Path(__file__).parent / "data" / "frozen_scores.npz"
CLIPS = ("demo_medium", "carphone", "bikes")
#: Task details the frozen scores were made under: the defaults, a heavy seated task, and every flag set.
PARAMS = (
    {},
    {"load_kg": 12, "coupling": 2, "neutral_tolerance": 15, "sitting": True, "static_posture": True},
    {"arm_abducted": True, "trunk_side_bent": True, "neck_twisted": True, "wrist_flexion": 20, "shoulder_raised": True,
     "legs_supported": False, "unilateral_stance": True, "assumed_knee_flexion": 45, "side_bend_threshold": 10,
     "abduction_threshold": 40, "arm_supported": True, "across_midline": True, "shock": True, "wrist_deviated": True,
     "wrist_twist_end_of_range": True, "load_kg": 4, "rapid_changes": True},
)


def clip_inputs(frozen, clip: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The clip's angles, and the trunk-dependent angles of every trunk it could have where its hips were hidden."""
    angles = dict(zip(frozen["angle_names"], frozen[f"{clip}.angles"], strict=True))
    world, keypoints, detected = frozen[f"{clip}.world"], frozen[f"{clip}.keypoints"], frozen[f"{clip}.detected"]
    tilt = camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS)
    hidden = {name: np.where(detected[:, None], values, np.nan)
              for name, values in hidden_trunk_angles(world, keypoints, BLAZEPOSE_KEYPOINTS, AngleSettings(), tilt).items()}
    return angles, hidden


@pytest.mark.parametrize("clip", CLIPS)
def test_the_scores_are_those_the_keyword_scoring_gave(clip):
    frozen = np.load(FROZEN)
    angles, hidden = clip_inputs(frozen, clip)
    for index, params in enumerate(PARAMS):
        rula, reba, _ = score_frames(angles, AssessmentParams(**params), hidden)
        for method, fields, scores in (("rula", (*RULA_FIELDS, *RANGE_FIELDS["rula"]), rula), ("reba", (*REBA_FIELDS, *RANGE_FIELDS["reba"]), reba)):
            expected = dict(zip(fields, frozen[f"{clip}.{method}.{index}"], strict=True))
            for name in fields:
                np.testing.assert_array_equal(scores[name], expected[name], err_msg=f"{clip} {method} {name} under {params}")
