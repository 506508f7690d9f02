"""How the simulator checks that an account may use an object a body names: its own video,
voice or element, or a preset voice or element. Kling answers an id it does not know, or one
of another account, as an invalid parameter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.domain.owned import Resource

if TYPE_CHECKING:
    from kling_gateway.simulator.app import Simulator


def check_usable(simulator: Simulator, account: str, resource: Resource,
                 object_id: str) -> None:
    if resource.has_presets and simulator.presets.has(resource, object_id):
        return
    if simulator.tasks.made(account, resource, object_id) is None:
        raise InvalidParameter(f"invalid parameter: no {resource.value} {object_id}")


def check_own(simulator: Simulator, account: str, resource: Resource, object_id: str) -> None:
    """Only the account's own custom objects may be deleted: never a preset."""
    if simulator.tasks.made(account, resource, object_id) is None:
        raise InvalidParameter(f"invalid parameter: no custom {resource.value} {object_id} "
                               "(only custom ones can be deleted)")


def _checker(resource: Resource) -> Any:
    def check(simulator: Simulator, account: str, object_id: str, body: dict) -> None:
        check_usable(simulator, account, resource, object_id)
    return check


CHECKS = {resource: _checker(resource)
          for resource in (Resource.VIDEO, Resource.VOICE, Resource.ELEMENT, Resource.AUDIO)}
"""``simulator.api.tasks``'s check of each kind a body may name."""
