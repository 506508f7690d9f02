"""The simulator takes what Kling takes and reports what Kling reports (issue 15): any
well-formed model name, the value forms Kling's own examples send, and ``final_unit_deduction``
on a finished task."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.bodies import IMAGE_URL, TASK_FAMILIES, FamilyCase

T2V = "/v1/videos/text2video"
I2V = "/v1/videos/image2video"
MI2V = "/v1/videos/multi-image2video"
IMG = "/v1/images/generations"
MI2I = "/v1/images/multi-image2image"
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
    # A model the simulator has no rate for costs 1 unit per video or per image.
    assert task["final_unit_deduction"] == str(family.body.get("n", 1))


def test_an_empty_model_name_is_the_default_model(sim):
    task = finished(sim, T2V, {"prompt": "x", "model_name": ""})
    assert task["task_status"] == "succeed"
    assert task["final_unit_deduction"] == "1"  # kling-v1 std, 5 s: 0.2 units a second


def test_other_value_forms_are_taken_in_the_official_type(sim):
    images = finished(sim, IMG, {"prompt": "x", "n": "3"})
    video = finished(sim, T2V, {"prompt": "x", "duration": 10, "mode": "pro"})
    shots = finished(sim, I2V, {"image": IMAGE_URL, "prompt": "x", "multi_shot": "false",
                                "element_list": [{"element_id": "160"}]})

    assert [image["index"] for image in images["task_result"]["images"]] == [0, 1, 2]
    assert job_body(sim, images)["n"] == 3
    assert video["task_result"]["videos"][0]["duration"] == "10"
    assert video["final_unit_deduction"] == "7"  # kling-v1 pro: 0.7 units a second
    assert job_body(sim, video)["duration"] == "10"
    assert job_body(sim, shots)["multi_shot"] is False
    assert job_body(sim, shots)["element_list"] == [{"element_id": 160}]


@pytest.mark.parametrize(("path", "body", "units"), [
    (T2V, {"prompt": "x"}, "1"),
    (T2V, {"prompt": "x", "model_name": "kling-v3", "duration": "7"}, "4.2"),
    (I2V, {"image": IMAGE_URL, "prompt": "x", "model_name": "kling-v2-master"}, "10"),
    (MI2V, {"image_list": [{"image": IMAGE_URL}], "prompt": "x", "mode": "pro"}, "3.5"),
    (IMG, {"prompt": "x", "model_name": "kling-v1-5", "n": 2}, "8"),
    (MI2I, {"subject_image_list": [{"subject_image": IMAGE_URL}]}, "16"),
], ids=["t2v-v1", "t2v-v3-7s", "i2v-v2-master", "mi2v-pro", "image-v1-5-n2", "mi2i"])
def test_a_finished_task_reports_the_units_it_cost(sim, path: str, body: dict[str, Any],
                                                   units: str):
    task_id = sim.api.create(path, body)["task_id"]
    running = sim.api.get(f"{path}/{task_id}").json()["data"]
    sim.finish_tasks()
    done = sim.api.get(f"{path}/{task_id}").json()["data"]
    (listed,) = sim.api.get(path).json()["data"]

    assert "final_unit_deduction" not in running  # known only once the task is done
    assert done["final_unit_deduction"] == listed["final_unit_deduction"] == units
    assert "gateway_charge" not in done  # the gateway's own field; Kling has none
