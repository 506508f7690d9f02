"""Handlers of the ``videos`` tag."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain.families import Family
from kling_gateway.simulator.api import _tasks

Answer = dict[str, Any]


def create_text2video(body: dict, user: str) -> Answer:
    return _tasks.create(Family.TEXT2VIDEO, body, user)


def list_text2video(user: str, page_num: int = 1, page_size: int = 30) -> Answer:
    return _tasks.page(Family.TEXT2VIDEO, page_num, page_size, user)


def get_text2video(id_: str, user: str) -> Answer:
    return _tasks.get(Family.TEXT2VIDEO, id_, user)


def create_image2video(body: dict, user: str) -> Answer:
    return _tasks.create(Family.IMAGE2VIDEO, body, user)


def list_image2video(user: str, page_num: int = 1, page_size: int = 30) -> Answer:
    return _tasks.page(Family.IMAGE2VIDEO, page_num, page_size, user)


def get_image2video(id_: str, user: str) -> Answer:
    return _tasks.get(Family.IMAGE2VIDEO, id_, user)


def create_multi_image2video(body: dict, user: str) -> Answer:
    return _tasks.create(Family.MULTI_IMAGE2VIDEO, body, user)


def list_multi_image2video(user: str, page_num: int = 1, page_size: int = 30) -> Answer:
    return _tasks.page(Family.MULTI_IMAGE2VIDEO, page_num, page_size, user)


def get_multi_image2video(id_: str, user: str) -> Answer:
    return _tasks.get(Family.MULTI_IMAGE2VIDEO, id_, user)
