"""Time in band and sustained postures for every body part RULA and REBA score (issue 28, item 7), on hand-made
angle series: each part's share of time in each band, its sustained runs, and bands that agree with the scoring."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import ergonomics as E
from pipeline.angles import ANGLE_NAMES
from pipeline.assessment import AssessmentParams
from pipeline.bands import ALWAYS, PARTS, SUSTAINED_S, band_of, bands, time_in_bands

FPS = 10.0
DEFAULTS = AssessmentParams()


def series(*pieces: tuple[float, float]) -> np.ndarray:
    """An angle held at each (degrees, seconds) in turn, at ``FPS`` frames a second."""
    return np.concatenate([np.full(round(seconds * FPS), degrees, float) for degrees, seconds in pieces])


def analyse(params: AssessmentParams = DEFAULTS, **measured: np.ndarray) -> tuple[dict, list[dict]]:
    """Time in band of the angles given, every other angle never measured."""
    frames = len(next(iter(measured.values())))
    angles = {name: np.full(frames, np.nan) for name in ANGLE_NAMES} | measured
    return time_in_bands(angles, np.arange(frames) / FPS, 1 / FPS, params)


def shares(table: dict, part: str) -> dict[str, float]:
    return {band: value["share"] for band, value in table[part].items()}


def test_the_lower_arm_is_normal_in_the_worksheets_60_to_100_degrees_and_a_long_hold_outside_it_is_sustained():
    table, sustained = analyse(elbow_left=series((30, 5), (80, 2), (120, 3)), elbow_right=series((90, 10)))
    assert shares(table, "lower_arm_left") == {"extended": 0.5, "normal": 0.2, "flexed": 0.3}
    assert table["lower_arm_left"]["extended"]["seconds"] == pytest.approx(5.0)
    assert shares(table, "lower_arm_right") == {"extended": 0.0, "normal": 1.0, "flexed": 0.0}
    runs = [(run["part"], run["band"], run["start_s"], run["duration_s"]) for run in sustained]
    assert runs == [("lower_arm_left", "extended", 0.0, 5.0), ("lower_arm_right", "normal", 0.0, 10.0)]


def test_the_wrist_takes_rulas_neutral_up_to_15_and_beyond_whichever_way_it_bends():
    table, sustained = analyse(wrist_right=series((3, 2), (10, 2), (-20, 4), (15, 2)))
    assert shares(table, "wrist_right") == {"normal": 0.2, "slightly bent": 0.4, "bent": 0.4}
    assert [(run["band"], run["start_s"], run["end_s"]) for run in sustained] == [("bent", 4.0, 8.0)]
    # a wider neutral tolerance widens the normal band, as it does the score; past 15 the middle band is empty
    wide, _ = analyse(AssessmentParams(neutral_tolerance=20), wrist_right=series((18, 1), (21, 1)))
    assert shares(wide, "wrist_right") == {"normal": 0.5, "slightly bent": 0.0, "bent": 0.5}


def test_the_knees_take_rebas_30_and_60_degree_bends_each_side_on_its_own():
    table, sustained = analyse(knee_left=series((30, 1), (45, 4.5), (60, 0.5), (61, 4)), knee_right=series((10, 10)))
    assert shares(table, "knee_left") == {"normal": 0.1, "moderate flexion": 0.5, "strong flexion": 0.4}
    assert shares(table, "knee_right")["normal"] == 1.0
    assert [(run["part"], run["band"], run["duration_s"]) for run in sustained] == [
        ("knee_right", "normal", 10.0), ("knee_left", "moderate flexion", 5.0), ("knee_left", "strong flexion", 4.0)]


def test_a_side_bend_counts_past_the_jobs_threshold():
    bend = series((20, 3), (25, 5), (12, 2))
    table, sustained = analyse(trunk_side_bend=bend, neck_side_bend=bend)
    assert shares(table, "trunk_side_bend") == shares(table, "neck_side_bend") == {"normal": 0.5, "side-bent": 0.5}
    assert {(run["part"], run["band"], run["start_s"]) for run in sustained} == {
        ("trunk_side_bend", "side-bent", 3.0), ("neck_side_bend", "side-bent", 3.0)}
    strict, _ = analyse(AssessmentParams(side_bend_threshold=10), trunk_side_bend=bend)
    assert shares(strict, "trunk_side_bend") == {"normal": 0.0, "side-bent": 1.0}


def test_a_frame_without_a_measurement_ends_a_run_and_the_shares_are_of_the_measured_frames():
    elbow = series((30, 3), (np.nan, 1), (30, 3))
    table, sustained = analyse(elbow_left=elbow)
    assert shares(table, "lower_arm_left")["extended"] == 1.0
    assert table["lower_arm_left"]["extended"]["seconds"] == pytest.approx(6.0)
    assert SUSTAINED_S > 3.0 and sustained == []  # two 3 s holds, each shorter than a sustained posture


def test_a_part_never_measured_is_left_out_but_trunk_neck_and_upper_arms_are_always_reported():
    table, sustained = analyse(elbow_left=series((80, 1)))
    assert set(table) == set(ALWAYS) | {"lower_arm_left"}
    assert all(value["seconds"] == 0.0 for value in table["trunk"].values())
    assert sustained == []
    # every part the worksheets score has its bands: lower arms, wrists, knees, side bends, each side of each limb
    assert {"lower_arm_left", "lower_arm_right", "wrist_left", "wrist_right", "knee_left", "knee_right",
            "trunk_side_bend", "neck_side_bend"} <= set(PARTS)


@pytest.mark.parametrize("tolerance", [0.0, 5.0, 12.0, 20.0])
def test_the_bands_agree_with_the_scores_the_worksheets_give(tolerance):
    """One source: a band's edges are the scoring's, for any neutral tolerance or side-bend threshold."""
    params = AssessmentParams(neutral_tolerance=tolerance, side_bend_threshold=tolerance)
    every, sweep = bands(params), np.arange(0.0, 180.01, 0.25)
    assert np.array_equal(band_of(every["lower_arm"], sweep) == 1, E.lower_arm_base(sweep) == 1)
    assert np.array_equal(band_of(every["wrist"], sweep), E.rula_wrist_base(sweep, tolerance) - 1)
    assert np.array_equal(band_of(every["knee"], sweep), E.reba_legs(sweep) - 1)
    assert np.array_equal(band_of(every["side_bend"], sweep) == 1, sweep > params.side_bend_threshold)
    labels = {kind: [label for label, _ in kind_bands] for kind, kind_bands in every.items()}
    assert all("normal" in names for names in labels.values())  # what a held posture is judged against
