"""The transition table and job ids, checked exhaustively and by property."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ergo_tasks.ids import InvalidJobId, job_id_time, new_job_id, validate_job_id
from ergo_tasks.states import READY_STATES, TRANSITIONS, IllegalTransition, State, check_transition
from ergo_tasks.status import JobStatus, TaskRequest


def test_every_pair_is_either_in_the_table_or_illegal():
    for current, target in itertools.product(State, State):
        if target in TRANSITIONS[current]:
            check_transition(current, target)
        else:
            with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
                check_transition(current, target)


def test_success_is_final_and_failures_can_only_be_resumed():
    assert TRANSITIONS[State.SUCCESS] == frozenset()
    assert TRANSITIONS[State.FAILURE] == TRANSITIONS[State.REVOKED] == frozenset({State.PENDING})
    assert all(State.REVOKED in TRANSITIONS[s] for s in State if s not in READY_STATES)


def _doc() -> JobStatus:
    return JobStatus.new(new_job_id(), "t", TaskRequest(), max_retries=3)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(State)), max_size=25))
def test_random_walks_only_take_legal_steps_and_history_records_each_change(targets):
    doc = _doc()
    for target in targets:
        before = doc.model_copy(deep=True)
        try:
            doc = doc.moved(target, worker="w", reason="walk")
        except IllegalTransition:
            assert target not in TRANSITIONS[before.state]
            assert doc == before  # a refused transition changes nothing
            continue
        assert target in TRANSITIONS[before.state]
        changed = before.state != target
        assert len(doc.history) == len(before.history) + changed
        if changed:
            assert (doc.history[-1].from_state, doc.history[-1].to_state) == (before.state, target)
    replay = [step.to_state for step in doc.history]
    for current, target in zip(replay, replay[1:]):
        assert target in TRANSITIONS[current]


def test_job_ids_sort_by_creation_time_and_are_unique():
    ids = [new_job_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert abs(job_id_time(new_job_id()) - time.time()) < 1.0


@pytest.mark.parametrize("bad", ["../x", "", None, 42, "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVX",
                                 "01ARZ3NDEKTSV4RRFFQ69G5FAI", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEK/SV4RRFFQ69G5FAV"])
def test_malformed_job_ids_are_rejected(bad):
    with pytest.raises(InvalidJobId):
        validate_job_id(bad)


def test_status_documents_refuse_unknown_fields_and_versions():
    raw = _doc().model_dump(mode="json", by_alias=True)
    with pytest.raises(ValueError):
        JobStatus.model_validate({**raw, "schema_version": 2})
    with pytest.raises(ValueError):
        JobStatus.model_validate({**raw, "surprise": 1})
    with pytest.raises(ValueError):
        JobStatus.model_validate({**raw, "progress": 101})
