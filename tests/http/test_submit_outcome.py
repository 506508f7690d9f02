"""``submit`` answers what happened to the new task as a value: the task as the client is
answered, and whether Kling took it or it waits in the queue."""

from __future__ import annotations

from kling_gateway.domain import families
from kling_gateway.services.auth import authenticate
from kling_gateway.services.submit import SubmitOutcome, submit
from kling_gateway.services.task_sync import Sent
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.models import Channel

TEXT2VIDEO = families.named("text2video")


def test_a_task_kling_took_is_answered_as_it_moved(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    caller = authenticate(f"Bearer {ada.issued.api_key}")

    outcome = submit(gateway.context, caller, TEXT2VIDEO, {"prompt": "a cat"})

    assert isinstance(outcome, SubmitOutcome)
    assert outcome.sent is Sent.ACCEPTED
    assert outcome.task.status == "submitted" and outcome.task.upstream_task_id
    stored = task_store.get(outcome.task.id)
    assert (stored.status, stored.channel_id) == (outcome.task.status, outcome.task.channel_id)


def test_a_task_behind_full_channels_is_answered_queued(gateway):
    gateway.add_upstream("sim")
    Channel.update(max_concurrency=1).execute()
    ada = gateway.tenant("ada")
    caller = authenticate(f"Bearer {ada.issued.api_key}")

    first = submit(gateway.context, caller, TEXT2VIDEO, {"prompt": "one"})
    second = submit(gateway.context, caller, TEXT2VIDEO, {"prompt": "two"})

    assert (first.sent, second.sent) == (Sent.ACCEPTED, Sent.QUEUED)
    assert second.task.status == "queued" and second.task.channel_id is None
