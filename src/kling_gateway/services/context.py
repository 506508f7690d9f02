"""What the gateway's services share at run time: its settings and its upstream channels."""

from __future__ import annotations

from dataclasses import dataclass

from kling_gateway.config import Settings
from kling_gateway.upstream.channels import Upstreams


@dataclass(frozen=True)
class GatewayContext:
    settings: Settings
    upstreams: Upstreams
