from __future__ import annotations

from kling_gateway.services.sync import Pace


def test_pace_spreads_requests_evenly():
    now = [100.0]
    slept: list[float] = []
    pace = Pace(4.0, clock=lambda: now[0], sleep=slept.append)
    for _ in range(3):
        pace.wait()
    assert slept == [0.25, 0.5]


def test_pace_does_not_wait_after_a_quiet_spell():
    now = [100.0]
    slept: list[float] = []
    pace = Pace(4.0, clock=lambda: now[0], sleep=slept.append)
    pace.wait()
    now[0] += 10
    pace.wait()
    assert slept == []
