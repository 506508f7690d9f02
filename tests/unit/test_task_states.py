from __future__ import annotations

import pytest

from kling_gateway.domain.tasks import TaskStatus, can_move, upstream_status

S = TaskStatus


@pytest.mark.parametrize(("current", "new"), [
    (S.SUBMITTING, S.SUBMITTED), (S.SUBMITTING, S.PROCESSING), (S.SUBMITTING, S.SUCCEED),
    (S.SUBMITTING, S.FAILED), (S.SUBMITTED, S.PROCESSING), (S.SUBMITTED, S.FAILED),
    (S.PROCESSING, S.SUCCEED), (S.PROCESSING, S.FAILED), (S.SUBMITTING, S.QUEUED),
    (S.QUEUED, S.SUBMITTING), (S.QUEUED, S.FAILED)])
def test_forward_moves_are_allowed(current, new):
    assert can_move(current, new)


@pytest.mark.parametrize(("current", "new"), [
    (S.PROCESSING, S.SUBMITTED), (S.SUBMITTED, S.SUBMITTED), (S.SUCCEED, S.FAILED),
    (S.FAILED, S.SUCCEED), (S.FAILED, S.FAILED), (S.SUCCEED, S.PROCESSING),
    (S.QUEUED, S.SUBMITTED), (S.SUBMITTED, S.QUEUED), (S.PROCESSING, S.SUBMITTING)])
def test_backward_moves_and_moves_out_of_a_final_state_are_refused(current, new):
    assert not can_move(current, new)


def test_clients_never_see_the_gateways_own_states():
    assert S.SUBMITTING.public == S.QUEUED.public == "submitted"
    assert [s.public for s in S if s not in (S.SUBMITTING, S.QUEUED)] == [
        "submitted", "processing", "succeed", "failed"]


def test_upstream_status_accepts_only_the_official_values():
    assert upstream_status("succeed") is S.SUCCEED
    assert upstream_status("submitting") is None
    assert upstream_status("queued") is None
    assert upstream_status("succeeded") is None
    assert upstream_status(None) is None

