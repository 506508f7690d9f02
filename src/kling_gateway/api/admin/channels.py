"""Handlers of the ``channels`` tag. No answer carries a channel's secret key."""

from __future__ import annotations

from typing import Any

from kling_gateway.services import channels
from kling_gateway.services.views import channel_view
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def create_channel(body: dict[str, Any]) -> Answer:
    fields = {key: value for key, value in body.items() if key != "name"}
    return ok(channel_view(channels.add_channel(body["name"], **fields)))


def list_channels() -> Answer:
    return ok([channel_view(channel) for channel in channels.list_channels()])


def get_channel(name: str) -> Answer:
    return ok(channel_view(channels.find_channel(name)))


def update_channel(name: str, body: dict[str, Any]) -> Answer:
    return ok(channel_view(channels.update_channel(name, **body)))


def disable_channel(name: str) -> Answer:
    return ok(channel_view(channels.disable_channel(name)))


def enable_channel(name: str) -> Answer:
    return ok(channel_view(channels.update_channel(name, enabled=True)))
