"""What the parts of one worker's sync share: who it is, its rules, its channels and threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kling_gateway.config import Settings
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.worker.pace import ChannelGate
from kling_gateway.worker.policy import SyncPolicy


@dataclass(frozen=True)
class SyncContext:
    settings: Settings
    upstreams: Upstreams
    owner: str
    """The worker's name on the leases it takes."""
    policy: SyncPolicy
    pool: ThreadPoolExecutor
    """The threads upstream requests are spread over."""
    gate: ChannelGate

    @classmethod
    def start(cls, settings: Settings, upstreams: Upstreams, owner: str,
              policy: SyncPolicy) -> SyncContext:
        return cls(settings, upstreams, owner, policy,
                   ThreadPoolExecutor(max_workers=policy.threads,
                                      thread_name_prefix=f"sync-{owner}"),
                   ChannelGate(policy.per_channel, policy.per_channel_rps))
