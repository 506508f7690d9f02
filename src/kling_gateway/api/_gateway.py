"""What every Kling-API handler needs: the gateway's context and the authenticated caller."""

from __future__ import annotations

from typing import Any

from flask import current_app

from kling_gateway.services.auth import Caller
from kling_gateway.services.context import GatewayContext
from kling_gateway.upstream.channels import Upstreams

Answer = dict[str, Any]


def context() -> GatewayContext:
    return current_app.config["KLING_GATEWAY"]


def upstreams() -> Upstreams:
    return context().upstreams


def caller_of(token_info: dict[str, Any]) -> Caller:
    return token_info["caller"]
