"""Handlers of the ``images`` tag."""

from __future__ import annotations

from typing import Any

from kling_gateway.api import _gateway
from kling_gateway.api._gateway import Answer
from kling_gateway.domain.families import Family

Info = dict[str, Any]


def create_generation(body: dict, token_info: Info) -> Answer:
    return _gateway.create(Family.IMAGE_GENERATION, body, token_info)


def list_generations(token_info: Info, page_num: int = 1, page_size: int = 30) -> Answer:
    return _gateway.page(Family.IMAGE_GENERATION, page_num, page_size, token_info)


def get_generation(id_: str, token_info: Info) -> Answer:
    return _gateway.get(Family.IMAGE_GENERATION, id_, token_info)


def create_multi_image2image(body: dict, token_info: Info) -> Answer:
    return _gateway.create(Family.MULTI_IMAGE2IMAGE, body, token_info)


def list_multi_image2image(token_info: Info, page_num: int = 1, page_size: int = 30) -> Answer:
    return _gateway.page(Family.MULTI_IMAGE2IMAGE, page_num, page_size, token_info)


def get_multi_image2image(id_: str, token_info: Info) -> Answer:
    return _gateway.get(Family.MULTI_IMAGE2IMAGE, id_, token_info)
