"""The result's type (pipeline/result_model.py): a real analysis validates against it and round-trips through its
files, the schema published by /api/info describes what the files hold, and a malformed result is refused in words."""

from __future__ import annotations

import json
import pickle

import jsonschema
import numpy as np
import pytest
from fastapi.testclient import TestClient

from ergo_tasks.analysis import TASK_MODULES
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.http import create_gateway
from ergo_tasks.service.settings import GatewaySettings, ServiceSettings
from pipeline.assessment import RANGE_FIELDS, REBA_FIELDS, RULA_FIELDS
from pipeline.errors import MalformedResult, UnsafeResult
from pipeline.result_model import RESULT_VERSION, AnalysisResult, RebaColumns, ResultDocument, RulaColumns, read_document, validated
from pipeline.results import load_result, write_results
from pipeline.synthetic import make_video
from tests.helpers import make_app


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """A real analysis (keypointrcnn with random weights: every stage runs) of a small generated clip, its files
    written: (result, folder of the files)."""
    from pipeline.analysis import AnalysisOptions, analyze_video
    from pipeline.pose.keypointrcnn import KeypointRCNN
    from pipeline.presets import get_preset

    folder = tmp_path_factory.mktemp("result")
    video = make_video(folder / "station.mp4", frames=40, width=96, height=64, fps=10)
    result = analyze_video(video, KeypointRCNN("random", device="cpu", precision="fp32"), AnalysisOptions(get_preset("low"), chunk_size=4))
    write_results(result, folder / "files", video)
    return result, folder / "files"


def test_the_schema_and_its_version_are_published_by_api_info(local_store):
    service = build_service(make_app(local_store, eager=False, tasks=TASK_MODULES), ServiceSettings(dispatch_mode="worker"))
    client = TestClient(create_gateway(GatewaySettings(), service=service), base_url="http://127.0.0.1")
    published = client.get("/api/info").json()["result"]
    assert published["version"] == RESULT_VERSION
    schema = published["schema"]
    assert schema == AnalysisResult.model_json_schema(mode="serialization")
    assert {"format", "version", "summary", "inputs", "frame_indices", "rula", "reba"} <= set(schema["required"])
    assert schema["properties"]["version"]["const"] == RESULT_VERSION
    assert "grand_score_max" in schema["$defs"]["RulaColumns"]["properties"]
    assert set(schema["$defs"]["Verdict"]["properties"]["status"]["enum"]) == {"assessable", "partly assessable", "not assessable"}


def test_a_real_result_validates_and_its_files_keep_the_shape_the_schema_publishes(analysed):
    result, files = analysed
    assert isinstance(result, AnalysisResult) and result.video.name == "station.mp4"
    assert len(result.frame_indices) == 8 and result.keypoints.shape == (8, 17, 3) and result.summary.frames_analysed == 8
    stored = pickle.loads((files / "result.pkl").read_bytes())
    assert type(stored) is dict and stored["version"] == RESULT_VERSION  # plain data, as before the type
    assert isinstance(stored["rula"]["grand_score"], np.ndarray) and isinstance(stored["summary"]["verdict"], dict)
    loaded = load_result(files / "result.pkl")
    assert loaded.summary == result.summary and loaded.inputs == result.inputs and loaded.pictures == result.pictures
    np.testing.assert_array_equal(loaded.rula.grand_score, result.rula.grand_score)
    document = json.loads((files / "summary.json").read_text())
    assert read_document(document) == ResultDocument.model_validate(result.document()) and document == result.document()
    # what the files hold is what the published schema says: the JSON document, and the whole result as JSON
    schema = AnalysisResult.model_json_schema(mode="serialization")
    jsonschema.validate(document, {**schema, "required": [name for name in schema["required"] if name in document]})
    whole = json.loads(result.model_dump_json())
    jsonschema.validate(whole, schema)
    assert set(whole) == set(stored)


def test_the_score_columns_are_the_ones_scoring_makes():
    """The per-frame models list each score column by name: the scoring's fields, then the range's ends."""
    assert tuple(RulaColumns.model_fields) == (*RULA_FIELDS, *RANGE_FIELDS["rula"])
    assert tuple(RebaColumns.model_fields) == (*REBA_FIELDS, *RANGE_FIELDS["reba"])


@pytest.mark.parametrize("spoil,words", [
    (lambda data: data["summary"].pop("frames_scored"), "summary.frames_scored: Field required"),
    (lambda data: data["summary"]["rula"].update(max="high"), "summary.rula.max: Input should be a valid integer"),
    (lambda data: data["summary"]["verdict"].update(status="fine"), "summary.verdict.status: Input should be 'assessable'"),
    (lambda data: data.update(detected=data["detected"].astype(float)), "detected: Value error, expected an array of booleans"),
    (lambda data: data["angles"].update(trunk_flexion=np.array(["a"] * 8, dtype=object)), "angles.trunk_flexion: Value error"),
    (lambda data: data["rula"].update(grand_score=data["rula"]["grand_score"][:5]), "rula.grand_score has 5"),
    (lambda data: data.update(surprise=1), "surprise: Extra inputs are not permitted"),
])
def test_a_malformed_result_is_refused_saying_what_is_wrong(analysed, spoil, words):
    result, _ = analysed
    data = result.model_dump()
    spoil(data)
    with pytest.raises(MalformedResult, match="The result is malformed") as refused:
        validated(data)
    assert words in str(refused.value)
    with pytest.raises(UnsafeResult, match=words.split(":")[0]):  # the same from a result file
        load_result(pickle.dumps(data, protocol=5))
