"""Handlers of the ``elements`` tag beside the custom element task family: the preset list,
deletion and image recognition."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain import rules
from kling_gateway.domain.owned import Resource
from kling_gateway.simulator.api.voices import delete, files_url
from kling_gateway.simulator.app import current_simulator
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]
RECOGNIZE_UNITS = "0.1"
SEGMENTS = ("object_seg", "head_seg", "face_seg", "cloth_seg")


def list_preset_elements(user: str, page_num: int = 1, page_size: int = 30) -> Answer:
    simulator = current_simulator()
    simulator.before_call()
    return ok(simulator.presets.page(Resource.ELEMENT, files_url(), page_num, page_size))


def delete_element(body: dict, user: str) -> Answer:
    return delete(Resource.ELEMENT, str(int(body["element_id"])), user)


def recognize_image(body: dict, user: str) -> Answer:
    """Each part found, as a segmentation image (a PNG)."""
    simulator = current_simulator()
    rules.check("image-recognize", body)
    simulator.before_call(create_body=body)
    stem = f"{files_url()}/images/seg-{simulator.tasks.new_id()}"
    return ok({"final_unit_deduction": RECOGNIZE_UNITS, "task_result": {"images": [
        {"type": segment, "is_contain": True, "url": f"{stem}-{segment}.png"}
        for segment in SEGMENTS]}})
