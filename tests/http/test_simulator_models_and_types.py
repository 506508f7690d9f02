"""The simulator takes what Kling takes (issue 15): any well-formed model name."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.bodies import TASK_FAMILIES, FamilyCase

T2V = "/v1/videos/text2video"
NEW_MODEL = "kling-v9-turbo"


def finished(sim, path: str, body: dict[str, Any]) -> dict[str, Any]:
    task_id = sim.api.create(path, body)["task_id"]
    sim.finish_tasks()
    return sim.api.get(f"{path}/{task_id}").json()["data"]


def job_body(sim, task: dict[str, Any]) -> dict[str, Any]:
    """The create body as the simulated Kling holds it."""
    return sim.simulator.tasks._tasks[task["task_id"]].body


@pytest.mark.parametrize("family", TASK_FAMILIES, ids=str)
def test_any_well_formed_model_makes_a_task_that_succeeds(sim, family: FamilyCase):
    task = finished(sim, family.path, {**family.body, "model_name": NEW_MODEL})

    assert task["task_status"] == "succeed"
    assert task["task_result"]["images" if family.makes_images else "videos"]
    assert job_body(sim, task)["model_name"] == NEW_MODEL


def test_an_empty_model_name_is_the_default_model(sim):
    task = finished(sim, T2V, {"prompt": "x", "model_name": ""})
    assert task["task_status"] == "succeed"
