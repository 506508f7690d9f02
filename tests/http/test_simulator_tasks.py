"""Every task family of the simulator, driven over HTTP with a JWT-signing client."""

from __future__ import annotations

import pytest
import requests

from tests.support.bodies import TASK_FAMILIES, FamilyCase

pytestmark = pytest.mark.parametrize("family", TASK_FAMILIES, ids=str)


def test_create_answers_the_short_task_object(sim, family: FamilyCase):
    body = {**family.body, "external_task_id": f"mine-{family.name}"}
    response = sim.api.post(family.path, body)

    assert response.status_code == 200
    envelope = response.json()
    assert list(envelope) == ["code", "message", "request_id", "data"]
    assert envelope["code"] == 0
    assert envelope["request_id"] == response.headers["X-Request-Id"]
    task = envelope["data"]
    assert task["task_status"] == "submitted"
    assert task["task_id"].isdigit()
    assert task["task_info"] == {"external_task_id": f"mine-{family.name}"}
    assert task["created_at"] == task["updated_at"] == int(sim.clock() * 1000)
    assert "task_result" not in task


def test_get_by_task_id_and_by_external_task_id(sim, family: FamilyCase):
    created = sim.api.create(family.path, {**family.body, "external_task_id": "ext-1"})

    by_id = sim.api.get(f"{family.path}/{created['task_id']}").json()["data"]
    by_external = sim.api.get(f"{family.path}/ext-1").json()["data"]

    assert by_id == by_external
    assert by_id["task_id"] == created["task_id"]
    assert by_id["task_info"]["external_task_id"] == "ext-1"


def test_status_moves_submitted_processing_succeed_with_results(sim, family: FamilyCase):
    task_id = sim.api.create(family.path, family.body)["task_id"]
    status = lambda: sim.api.get(f"{family.path}/{task_id}").json()["data"]  # noqa: E731

    assert status()["task_status"] == "submitted"
    sim.clock.advance(sim.simulator.settings.task_seconds * 0.5)
    assert status()["task_status"] == "processing"
    sim.finish_tasks()
    final = status()

    assert final["task_status"] == "succeed"
    assert final["updated_at"] > final["created_at"]
    assert final["task_status_msg"] == ""
    if family.makes_images:
        images = final["task_result"]["images"]
        assert [image["index"] for image in images] == list(range(family.body.get("n", 1)))
        file = requests.get(images[0]["url"], timeout=10)
        assert file.headers["Content-Type"] == "image/png"
        assert file.content.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        (video,) = final["task_result"]["videos"]
        assert video["duration"] == family.body.get("duration", "5")
        file = requests.get(video["url"], timeout=10)
        assert file.headers["Content-Type"] == "video/mp4"
        assert file.content[4:8] == b"ftyp"


def test_list_is_newest_first_and_paged(sim, family: FamilyCase):
    ids = []
    for _ in range(5):
        ids.append(sim.api.create(family.path, family.body)["task_id"])
        sim.clock.advance(0.01)
        sim.finish_tasks()  # free the concurrency slots for the next one

    first = sim.api.get(family.path, pageNum=1, pageSize=2).json()["data"]
    third = sim.api.get(family.path, pageNum=3, pageSize=2).json()["data"]
    beyond = sim.api.get(family.path, pageNum=4, pageSize=2).json()["data"]
    everything = sim.api.get(family.path).json()["data"]

    assert [t["task_id"] for t in first] == ids[::-1][:2]
    assert [t["task_id"] for t in third] == ids[:1]
    assert beyond == []
    assert [t["task_id"] for t in everything] == ids[::-1]


def test_a_task_is_visible_only_to_its_account_and_family(start_simulator, family: FamilyCase):
    sim = start_simulator(accounts={"ak-one": "sk-one-0123456789abcdef0123456789ab",
                                    "ak-two": "sk-two-0123456789abcdef0123456789ab"})
    one = sim.client("ak-one", "sk-one-0123456789abcdef0123456789ab")
    two = sim.client("ak-two", "sk-two-0123456789abcdef0123456789ab")
    task_id = one.create(family.path, {**family.body, "external_task_id": "shared"})["task_id"]
    other_family = next(f for f in TASK_FAMILIES if f.path != family.path)

    for answer in (two.get(f"{family.path}/{task_id}"), two.get(f"{family.path}/shared"),
                   one.get(f"{other_family.path}/{task_id}")):
        assert answer.status_code == 404
        assert answer.json()["code"] == 1203
    assert two.get(family.path).json()["data"] == []
    # The same external id is free in another account.
    assert two.post(family.path, {**family.body, "external_task_id": "shared"}).status_code == 200


def test_external_task_id_is_unique_per_account(sim, family: FamilyCase):
    sim.api.create(family.path, {**family.body, "external_task_id": "once"})
    again = sim.api.post(family.path, {**family.body, "external_task_id": "once"})

    assert again.status_code == 400
    assert again.json()["code"] == 1201
    assert "external_task_id" in again.json()["message"]
