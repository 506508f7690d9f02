"""Upstream Kling accounts (channels): add, list, update, disable, put back in rotation. Secret
keys are write-only."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import InvalidParameter, ResourceNotFound
from kling_gateway.domain.names import check_name
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage.records import ChannelRecord

log = logging.getLogger(__name__)
OFFICIAL_BASE_URL = "https://api-beijing.klingai.com"
EDITABLE = ("base_url", "access_key", "secret_key", "priority", "weight", "enabled",
            "allowed_models", "max_concurrency")
RESTORING = ("base_url", "access_key", "secret_key")
"""What the gateway calls Kling with."""


def add_channel(name: str, *, access_key: str, secret_key: str,
                base_url: str = OFFICIAL_BASE_URL, priority: int = 0, weight: int = 1,
                enabled: bool = True, allowed_models: Sequence[str] | None = None,
                max_concurrency: int | None = None) -> ChannelRecord:
    check_name(name)
    _check(base_url=base_url, access_key=access_key, secret_key=secret_key, weight=weight,
           max_concurrency=max_concurrency)
    channel = channel_store.insert(name, base_url=base_url.rstrip("/"), access_key=access_key,
                                   secret_key=secret_key, priority=priority, weight=weight,
                                   enabled=enabled, allowed_models=allowed_models,
                                   max_concurrency=max_concurrency, now=now_ms())
    if channel is None:
        raise InvalidParameter(f"invalid parameter 'name': channel '{name}' exists")
    return channel


def find_channel(name: str) -> ChannelRecord:
    channel = channel_store.channel_by_name(name)
    if channel is None:
        raise ResourceNotFound(f"no channel '{name}'")
    return channel


def list_channels() -> list[ChannelRecord]:
    return channel_store.all_by_priority()


def update_channel(name: str, **changes: Any) -> ChannelRecord:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidParameter(f"channels have no field(s) {', '.join(sorted(unknown))}")
    _check(**changes)
    if "base_url" in changes:
        changes["base_url"] = changes["base_url"].rstrip("/")
    if "allowed_models" in changes:
        changes["allowed_models"] = list(changes["allowed_models"] or []) or None
    channel = find_channel(name)
    if channel.broken_at is not None and _puts_back(changes):
        log.warning("channel %s is back in rotation: an operator changed it", name)
        changes.update(channel_store.BACK_IN_ROTATION)
    return channel_store.update(channel.id, changes)


def _puts_back(changes: dict[str, Any]) -> bool:
    """New keys or a new URL may mend what Kling refused, and enabling a channel says to use
    it: either puts it back in rotation at once (a wrong guess is refused and taken out again,
    the request moving on to the next channel)."""
    return changes.get("enabled") is True or not changes.keys().isdisjoint(RESTORING)


def disable_channel(name: str) -> ChannelRecord:
    return update_channel(name, enabled=False)


_REQUIRED_TEXT = channel_store.MAX_LENGTHS


def _check(**fields: Any) -> None:
    for field, longest in _REQUIRED_TEXT.items():
        value = fields.get(field, "")
        if field in fields and (not isinstance(value, str) or not 0 < len(value) <= longest):
            raise InvalidParameter(f"invalid parameter '{field}': 1 to {longest} characters")
    base_url = fields.get("base_url")
    if base_url is not None and not _is_http_url(base_url):
        raise InvalidParameter("invalid parameter 'base_url': must be an http(s) URL")
    if fields.get("weight") is not None and fields["weight"] < 0:
        raise InvalidParameter("invalid parameter 'weight': must not be negative")
    if fields.get("max_concurrency") is not None and fields["max_concurrency"] < 1:
        raise InvalidParameter("invalid parameter 'max_concurrency': must be at least 1")


def _is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and not any(c.isspace() for c in text) and not parts.query and not parts.fragment)
