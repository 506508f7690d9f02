"""Handlers of the ``images`` tag."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain.families import Family
from kling_gateway.simulator.api import _tasks

Answer = dict[str, Any]


def create_generation(body: dict, user: str) -> Answer:
    return _tasks.create(Family.IMAGE_GENERATION, body, user)


def list_generations(user: str, page_num: int = 1, page_size: int = 30) -> Answer:
    return _tasks.page(Family.IMAGE_GENERATION, page_num, page_size, user)


def get_generation(id_: str, user: str) -> Answer:
    return _tasks.get(Family.IMAGE_GENERATION, id_, user)


def create_multi_image2image(body: dict, user: str) -> Answer:
    return _tasks.create(Family.MULTI_IMAGE2IMAGE, body, user)


def list_multi_image2image(user: str, page_num: int = 1, page_size: int = 30) -> Answer:
    return _tasks.page(Family.MULTI_IMAGE2IMAGE, page_num, page_size, user)


def get_multi_image2image(id_: str, user: str) -> Answer:
    return _tasks.get(Family.MULTI_IMAGE2IMAGE, id_, user)
