"""The simulator takes what Kling takes (issue 15): any well-formed model name, and the value
forms Kling's own examples send."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.bodies import IMAGE_URL, TASK_FAMILIES, FamilyCase

T2V = "/v1/videos/text2video"
I2V = "/v1/videos/image2video"
IMG = "/v1/images/generations"
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


def test_other_value_forms_are_taken_in_the_official_type(sim):
    images = finished(sim, IMG, {"prompt": "x", "n": "3"})
    video = finished(sim, T2V, {"prompt": "x", "duration": 10, "mode": "pro"})
    shots = finished(sim, I2V, {"image": IMAGE_URL, "prompt": "x", "multi_shot": "false",
                                "element_list": [{"element_id": "160"}]})

    assert [image["index"] for image in images["task_result"]["images"]] == [0, 1, 2]
    assert job_body(sim, images)["n"] == 3
    assert video["task_result"]["videos"][0]["duration"] == "10"
    assert job_body(sim, video)["duration"] == "10"
    assert job_body(sim, shots)["multi_shot"] is False
    assert job_body(sim, shots)["element_list"] == [{"element_id": 160}]
