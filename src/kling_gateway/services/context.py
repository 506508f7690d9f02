"""What the gateway's services share at run time: its settings, its upstream channels and
what it caches of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from kling_gateway.config import Settings
from kling_gateway.services.presets import PresetCache
from kling_gateway.upstream.channels import Upstreams


@dataclass(frozen=True)
class GatewayContext:
    settings: Settings
    upstreams: Upstreams
    presets: PresetCache = field(default_factory=PresetCache)
    """Kling's preset voices and elements, as last read from upstream."""
