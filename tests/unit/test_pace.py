from __future__ import annotations

import itertools

from kling_gateway.worker.pace import Pace


class FakeTime:
    def __init__(self, oversleep: float = 0.0) -> None:
        self.now = 100.0
        self.oversleep = oversleep
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds + self.oversleep


def test_pace_spreads_requests_evenly():
    time = FakeTime()
    pace = Pace(4.0, clock=lambda: time.now, sleep=time.sleep)
    for _ in range(3):
        pace.wait()
    assert time.slept == [0.25, 0.25]


def test_a_late_wake_up_pushes_the_next_start_back():
    time = FakeTime(oversleep=0.1)
    pace = Pace(4.0, clock=lambda: time.now, sleep=time.sleep)
    starts = []
    for _ in range(3):
        pace.wait()
        starts.append(time.now)
    assert [round(b - a, 6) for a, b in itertools.pairwise(starts)] == [0.35, 0.35]


def test_pace_does_not_wait_after_a_quiet_spell():
    time = FakeTime()
    pace = Pace(4.0, clock=lambda: time.now, sleep=time.sleep)
    pace.wait()
    time.now += 10
    pace.wait()
    assert time.slept == []
