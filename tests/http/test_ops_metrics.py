"""/metrics after real traffic through the gateway: requests by operation and status, upstream
calls by channel and outcome, charges, refunds, task states, queues and callback deliveries.

Counters live in the test process and grow across tests, so each test compares two scrapes."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from kling_gateway.services import channels
from kling_gateway.storage.models import Task
from kling_gateway.worker.callbacks import deliver_due
from tests.support.callbacks import callback_receiver
from tests.support.gateway import CNY, SIM_KEY, Gateway

T2V = "/v1/videos/text2video"


class Scrape:
    def __init__(self, gateway: Gateway) -> None:
        answer = requests.get(f"{gateway.base_url}/metrics", timeout=10)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        self.text = answer.text
        self.samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                        for family in text_string_to_metric_families(self.text)
                        for s in family.samples}

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def grew(self, before: Scrape, name: str, **labels: str) -> float:
        return self.value(name, **labels) - before.value(name, **labels)


def test_traffic_moves_the_counters_by_operation_channel_and_outcome(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    before = Scrape(gateway)
    with callback_receiver() as receiver:
        good = ada.key.create(T2V, {"prompt": "a cat", "callback_url": receiver.url})["task_id"]
        bad = ada.key.create(T2V, {"prompt": "a dog #sim-fail"})["task_id"]
        during = Scrape(gateway)
        gateway.finish_upstream_tasks()
        for task_id in (good, bad):
            assert ada.key.get(f"{T2V}/{task_id}").status_code == 200
        queued_callbacks = Scrape(gateway).value("kling_gateway_queue_depth", queue="callbacks")
        assert deliver_due(gateway.context.settings) == 2  # submitted, succeed
    after = Scrape(gateway)

    create = {"operation": "videos.create_text2video", "status": "200"}
    assert after.grew(before, "kling_gateway_http_requests_total", **create) == 2
    assert after.grew(before, "kling_gateway_http_requests_total",
                      operation="videos.get_text2video", status="200") == 2
    assert after.grew(before, "kling_gateway_http_request_duration_seconds_count",
                      operation="videos.create_text2video") == 2
    assert after.grew(before, "kling_gateway_upstream_requests_total",
                      channel="sim", outcome="ok") >= 4  # two creates, two reads
    assert after.grew(before, "kling_gateway_upstream_request_duration_seconds_count",
                      channel="sim", outcome="ok") >= 4

    amounts = [Task.get_by_id(task_id).amount for task_id in (good, bad)]
    assert after.grew(before, "kling_gateway_charges_total", kind="task") == 2
    assert after.grew(before, "kling_gateway_charged_cny_total", kind="task") == sum(amounts) / CNY
    assert after.grew(before, "kling_gateway_refunds_total", kind="task") == 1
    assert after.grew(before, "kling_gateway_refunded_cny_total", kind="task") == amounts[1] / CNY
    assert after.grew(before, "kling_gateway_task_transitions_total", state="succeed") == 1
    assert after.grew(before, "kling_gateway_task_transitions_total", state="failed") == 1
    assert after.grew(before, "kling_gateway_callback_deliveries_total", outcome="delivered") == 2

    assert during.value("kling_gateway_tasks", state="submitted") == 2
    assert after.value("kling_gateway_tasks", state="submitted") == 0
    assert queued_callbacks == 2
    assert after.value("kling_gateway_queue_depth", queue="callbacks") == 0
    assert after.value("kling_gateway_queue_depth", queue="tasks") == 0


def test_labels_are_operations_never_raw_paths(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.key.create(T2V, {"prompt": "a cat", "external_task_id": "mine-42"})["task_id"]
    ada.key.get(f"{T2V}/{task_id}")
    ada.key.get(f"{T2V}/mine-42")
    before = Scrape(gateway)
    requests.get(f"{gateway.base_url}/no/such/{task_id}", timeout=10)
    requests.get(f"{gateway.base_url}/healthz", timeout=10)
    after = Scrape(gateway)

    assert after.grew(before, "kling_gateway_http_requests_total",
                      operation="unrouted", status="404") == 1
    assert after.grew(before, "kling_gateway_http_requests_total",
                      operation="ops.healthz", status="200") == 1
    assert task_id not in after.text and "mine-42" not in after.text
    operations = {dict(labels).get("operation") for (name, labels) in after.samples
                  if name == "kling_gateway_http_requests_total"}
    assert all("/" not in operation for operation in operations)


def test_an_unreachable_channel_is_counted_as_such(gateway):
    channels.add_channel("down", access_key=SIM_KEY[0], secret_key=SIM_KEY[1],
                         base_url="http://127.0.0.1:9")  # nothing listens there
    ada = gateway.tenant("ada")
    before = Scrape(gateway)
    answer = ada.key.post(T2V, {"prompt": "a cat"})
    after = Scrape(gateway)

    assert answer.status_code != 200
    assert after.grew(before, "kling_gateway_upstream_requests_total",
                      channel="down", outcome="unreachable") == 1
