"""Handlers of the ``videos`` tag."""

from __future__ import annotations

from typing import Any

from kling_gateway.api import _gateway
from kling_gateway.api._gateway import Answer
from kling_gateway.domain.families import Family

Info = dict[str, Any]


def create_text2video(body: dict, token_info: Info) -> Answer:
    return _gateway.create(Family.TEXT2VIDEO, body, token_info)


def list_text2video(token_info: Info, page_num: int = 1, page_size: int = 30) -> Answer:
    return _gateway.page(Family.TEXT2VIDEO, page_num, page_size, token_info)


def get_text2video(id_: str, token_info: Info) -> Answer:
    return _gateway.get(Family.TEXT2VIDEO, id_, token_info)


def create_image2video(body: dict, token_info: Info) -> Answer:
    return _gateway.create(Family.IMAGE2VIDEO, body, token_info)


def list_image2video(token_info: Info, page_num: int = 1, page_size: int = 30) -> Answer:
    return _gateway.page(Family.IMAGE2VIDEO, page_num, page_size, token_info)


def get_image2video(id_: str, token_info: Info) -> Answer:
    return _gateway.get(Family.IMAGE2VIDEO, id_, token_info)


def create_multi_image2video(body: dict, token_info: Info) -> Answer:
    return _gateway.create(Family.MULTI_IMAGE2VIDEO, body, token_info)


def list_multi_image2video(token_info: Info, page_num: int = 1, page_size: int = 30) -> Answer:
    return _gateway.page(Family.MULTI_IMAGE2VIDEO, page_num, page_size, token_info)


def get_multi_image2video(id_: str, token_info: Info) -> Answer:
    return _gateway.get(Family.MULTI_IMAGE2VIDEO, id_, token_info)
