"""The gateway tells the client of every status change of a task by a signed callback, in order,
retrying a failing client; a callback URL on an internal network is refused unless allowed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import pytest
import requests

from kling_gateway.app import create_app
from kling_gateway.config import Settings
from kling_gateway.storage.channel_book import StoredChannelBook
from kling_gateway.storage.db import database
from kling_gateway.storage.models import Task
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.worker import webhooks
from kling_gateway.worker.callbacks import deliver_due
from tests.support.callbacks import callback_receiver
from tests.support.clock import ManualClock
from tests.support.gateway import CNY, UPSTREAM, Gateway, Tenant
from tests.support.server import serve

T2V = "/v1/videos/text2video"
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def delivery_settings(gateway: Gateway) -> Settings:
    """The running gateway's own settings, which allow callbacks into 127.0.0.0/8."""
    settings = gateway.context.settings
    assert settings.callback_allow_networks == ("127.0.0.0/8",)
    return settings


@pytest.fixture
def strict_gateway(database_url: str) -> Iterator[Gateway]:
    """A gateway with the default settings: callbacks go to public addresses only."""
    with ExitStack() as stack:
        upstreams = Upstreams(StoredChannelBook())
        stack.callback(upstreams.close)
        app = create_app(Settings(database_url=database_url), upstreams=upstreams,
                         validate_responses=True)
        stack.callback(database.close)
        running = Gateway(base_url=stack.enter_context(serve(app)), clock=ManualClock(),
                          context=app.app.config["KLING_GATEWAY"], stack=stack)
        yield running
        running.assert_books_balance()


def now_ms() -> int:
    return int(time.time() * 1000)


def create_with_callback(tenant: Tenant, url: str, external_task_id: str = "ext-cb") -> str:
    body = {"prompt": "a cat", "external_task_id": external_task_id, "callback_url": url}
    return tenant.jwt.create(T2V, body)["task_id"]


def run_to_the_end(gateway: Gateway, tenant: Tenant, task_id: str) -> None:
    """Move the simulator through processing to succeed, reading the task after each step so
    that the gateway sees (and records a callback for) both changes."""
    gateway.clock.advance(UPSTREAM.task_seconds / 2)
    assert tenant.jwt.get(f"{T2V}/{task_id}").json()["data"]["task_status"] == "processing"
    gateway.finish_upstream_tasks()
    assert tenant.jwt.get(f"{T2V}/{task_id}").json()["data"]["task_status"] == "succeed"


def statuses(calls: list[dict[str, Any]]) -> list[str]:
    return [call["task_status"] for call in calls]


def admin_callbacks(gateway: Gateway, task_id: str) -> requests.Response:
    return requests.get(f"{gateway.base_url}/admin/v1/tasks/{task_id}/callbacks",
                        headers={"Authorization": "Bearer admin-token"}, timeout=30)


def deliveries(gateway: Gateway, task_id: str) -> list[dict[str, Any]]:
    answer = admin_callbacks(gateway, task_id)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_client_hears_submitted_processing_succeed_in_order_signed(gateway, delivery_settings):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    with callback_receiver() as receiver:
        task_id = create_with_callback(ada, receiver.url)
        run_to_the_end(gateway, ada, task_id)
        assert receiver.received == []  # recorded with each change, sent by deliver_due
        assert deliver_due(delivery_settings) == 3
        assert deliver_due(delivery_settings) == 0

    calls = receiver.received
    assert statuses(calls) == ["submitted", "processing", "succeed"]
    assert {call["task_id"] for call in calls} == {task_id}  # the gateway's id, not Kling's
    assert all(call["task_info"] == {"external_task_id": "ext-cb"} for call in calls)
    assert all("code" not in call and "data" not in call for call in calls)  # no envelope
    assert calls[-1] == ada.jwt.get(f"{T2V}/{task_id}").json()["data"]
    assert [headers["webhook-id"] for headers in receiver.headers] == \
        [f"{task_id}-1", f"{task_id}-2", f"{task_id}-3"]
    for headers, body in zip(receiver.headers, receiver.raw_bodies, strict=True):
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert body == json.dumps(json.loads(body), separators=(",", ":")).encode()  # compact
        assert webhooks.verify(ada.issued.secret_key, headers, body, now=time.time())
        assert not webhooks.verify("not-the-secret-key", headers, body, now=time.time())


def test_each_client_is_signed_for_with_its_own_token(gateway, delivery_settings):
    gateway.add_upstream("sim")
    ada, bob = gateway.tenant("ada"), gateway.tenant("bob")
    with callback_receiver() as receiver:
        create_with_callback(ada, receiver.url)
        create_with_callback(bob, receiver.url)
        assert deliver_due(delivery_settings) == 2

    secrets = [ada.issued.secret_key, bob.issued.secret_key]
    for headers, body, secret in zip(receiver.headers, receiver.raw_bodies, secrets, strict=True):
        assert webhooks.verify(secret, headers, body, now=time.time())
    assert not webhooks.verify(bob.issued.secret_key, receiver.headers[0],
                               receiver.raw_bodies[0], now=time.time())


def test_failing_client_is_retried_with_backoff_under_the_same_webhook_id(gateway,
                                                                          delivery_settings):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    with callback_receiver(fail_first=2) as receiver:
        task_id = create_with_callback(ada, receiver.url)
        start = now_ms()
        assert deliver_due(delivery_settings, now_ms=start) == 1
        assert deliver_due(delivery_settings, now_ms=start + 4_999) == 0  # waits 5 s
        assert deliver_due(delivery_settings, now_ms=start + 5_000) == 1
        assert deliver_due(delivery_settings, now_ms=start + 14_999) == 0  # then 10 s
        assert deliver_due(delivery_settings, now_ms=start + 15_000) == 1
        assert deliver_due(delivery_settings, now_ms=start + 60_000) == 0

    assert receiver.answered == [500, 500, 200]
    assert statuses(receiver.received) == ["submitted"] * 3
    assert {headers["webhook-id"] for headers in receiver.headers} == {f"{task_id}-1"}
    sent_at = [int(headers["webhook-timestamp"]) for headers in receiver.headers]
    assert sent_at == [start // 1000, (start + 5_000) // 1000, (start + 15_000) // 1000]
    for headers, body, at in zip(receiver.headers, receiver.raw_bodies, sent_at, strict=True):
        assert webhooks.verify(ada.issued.secret_key, headers, body, now=at)
    (delivery,) = deliveries(gateway, task_id)
    assert delivery["attempts"] == 3 and delivery["last_status_code"] == 200
    assert delivery["delivered_at"] == start + 15_000 and delivery["next_attempt_at"] is None


def test_a_later_status_waits_until_the_earlier_one_is_delivered(gateway, delivery_settings):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    with callback_receiver(fail_first=1, fail_status=503) as receiver:
        task_id = create_with_callback(ada, receiver.url)
        run_to_the_end(gateway, ada, task_id)  # three changes waiting to be told
        start = now_ms()
        assert deliver_due(delivery_settings, now_ms=start) == 1
        assert statuses(receiver.received) == ["submitted"]

        waiting = deliveries(gateway, task_id)
        assert [(d["sequence"], d["task_status"], d["attempts"], d["last_status_code"])
                for d in waiting] == [(1, "submitted", 1, 503), (2, "processing", 0, None),
                                      (3, "succeed", 0, None)]
        assert waiting[0]["next_attempt_at"] == start + 5_000
        assert all(d["delivered_at"] is None and d["url"] == receiver.url for d in waiting)

        assert deliver_due(delivery_settings, now_ms=start + 4_999) == 0
        assert deliver_due(delivery_settings, now_ms=start + 5_000) == 3

    assert statuses(receiver.received) == ["submitted", "submitted", "processing", "succeed"]
    assert receiver.answered == [503, 200, 200, 200]
    done = deliveries(gateway, task_id)
    assert [(d["attempts"], d["last_status_code"]) for d in done] == [(2, 200), (1, 200),
                                                                      (1, 200)]
    assert all(d["delivered_at"] == start + 5_000 for d in done)


def test_a_delivery_failing_for_24_hours_is_abandoned_and_the_next_one_goes(gateway,
                                                                            delivery_settings):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    with callback_receiver(fail_first=1_000) as receiver:
        task_id = create_with_callback(ada, receiver.url)
        run_to_the_end(gateway, ada, task_id)
        start = now_ms()
        assert deliver_due(delivery_settings, now_ms=start) == 1
        assert deliver_due(delivery_settings, now_ms=start + DAY_MS) == 3
        assert deliver_due(delivery_settings, now_ms=start + 2 * DAY_MS) == 0

    assert statuses(receiver.received) == ["submitted", "submitted", "processing", "succeed"]
    given_up = deliveries(gateway, task_id)
    assert [d["abandoned_at"] for d in given_up] == [start + DAY_MS] * 3
    assert [d["attempts"] for d in given_up] == [2, 1, 1]
    assert all(d["last_status_code"] == 500 and d["next_attempt_at"] is None
               for d in given_up)


def test_a_client_that_does_not_answer_is_retried(gateway, delivery_settings):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        task_id = create_with_callback(ada, f"http://127.0.0.1:{closed.getsockname()[1]}/cb")
        start = now_ms()
        assert deliver_due(delivery_settings, now_ms=start) == 1

    (delivery,) = deliveries(gateway, task_id)
    assert delivery["attempts"] == 1 and delivery["last_status_code"] is None
    assert "ConnectionError" in delivery["last_error"]
    assert delivery["next_attempt_at"] == start + 5_000 and delivery["abandoned_at"] is None


def test_a_callback_url_refused_at_delivery_time_is_abandoned_unsent(gateway,
                                                                    delivery_settings):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    # as if the URL's host resolved elsewhere since submit: 127.0.0.1 is no longer allowed
    loopback_now_refused = replace(delivery_settings, callback_allow_networks=())
    with callback_receiver() as receiver:
        task_id = create_with_callback(ada, receiver.url)
        assert deliver_due(loopback_now_refused) == 0

    assert receiver.received == []
    (delivery,) = deliveries(gateway, task_id)
    assert delivery["abandoned_at"] is not None and delivery["attempts"] == 0
    assert "127.0.0.1 is a loopback address" in delivery["last_error"]


def test_two_workers_never_send_the_same_callback_twice(gateway, delivery_settings):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    start = threading.Barrier(2)

    def worker() -> int:
        start.wait()
        try:
            return deliver_due(delivery_settings)
        finally:
            database.close()  # this thread's connection

    with callback_receiver() as receiver:
        task_ids = [create_with_callback(ada, receiver.url, f"ext-{n}") for n in range(12)]
        with ThreadPoolExecutor(2) as pool:
            attempts = [future.result() for future in [pool.submit(worker) for _ in range(2)]]

    assert sum(attempts) == 12
    assert sorted(headers["webhook-id"] for headers in receiver.headers) == \
        sorted(f"{task_id}-1" for task_id in task_ids)


def test_the_admin_api_answers_1203_for_an_unknown_task(gateway):
    answer = admin_callbacks(gateway, "1722769557708042137")
    assert (answer.status_code, answer.json()["code"]) == (404, 1203)
    assert "1722769557708042137" in answer.json()["message"]


def test_a_task_without_callback_url_has_no_deliveries(gateway, delivery_settings):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.jwt.create(T2V, {"prompt": "a cat"})["task_id"]
    run_to_the_end(gateway, ada, task_id)
    assert deliver_due(delivery_settings) == 0
    assert deliveries(gateway, task_id) == []


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/cb", "http://localhost:9/cb", "http://[::1]:9/cb",
    "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/cb", "ftp://127.0.0.1/cb",
])
def test_an_internal_callback_url_is_refused_at_submit_unless_allowed(strict_gateway, url):
    upstream = strict_gateway.add_upstream("sim")
    ada = strict_gateway.tenant("ada")
    refused = ada.jwt.post(T2V, {"prompt": "a cat", "callback_url": url})

    assert (refused.status_code, refused.json()["code"]) == (400, 1201), refused.text
    assert "'callback_url'" in refused.json()["message"]
    assert ada.balance == 1000 * CNY and upstream.jobs() == []
    assert Task.select().count() == 0


def test_a_callback_goes_to_the_address_that_was_checked(gateway, delivery_settings,
                                                        monkeypatch):
    """DNS rebinding: the callback host resolves to an allowed address when it is checked and
    to another one right after. The POST must go where the check looked, naming the host."""
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    real_getaddrinfo = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.test":
            return real_getaddrinfo(host, *args, **kwargs)
        asked.append(host)  # checked at submit and before delivery; any later answer moves
        return real_getaddrinfo("127.0.0.1" if len(asked) <= 2 else "127.0.0.2", *args,
                                **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with callback_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        create_with_callback(ada, f"http://hooks.test:{port}/kling-callback")
        assert deliver_due(delivery_settings) == 1
        (headers,) = receiver.headers
    assert headers["Host"] == f"hooks.test:{port}"
    assert len(asked) == 2  # the POST itself did not resolve the name again


def test_https_to_a_checked_address_still_names_and_verifies_the_host():
    adapter = webhooks.PinnedAddressAdapter("203.0.113.7")
    request = requests.Request("POST", "https://hooks.example/cb", data=b"{}").prepare()
    pool = adapter.get_connection_with_tls_context(request, verify=True)
    assert (pool.host, pool.port) == ("203.0.113.7", 443)
    assert pool.conn_kw["server_hostname"] == "hooks.example"  # SNI
    assert pool.assert_hostname == "hooks.example"  # the certificate must be hooks.example's
    adapter.close()


def test_posts_to_one_origin_share_its_pinned_connections_until_its_address_changes():
    with callback_receiver() as receiver, webhooks.new_session() as session:
        origin = receiver.url.split("/kling-callback")[0] + "/"

        def post(address: str) -> int:
            return webhooks.post_signed(session, receiver.url, b"{}", "secret", "m-1", 0,
                                        (5.0, 5.0), connect_to=address)

        assert post("127.0.0.1") == post("127.0.0.1") == 200
        first = session.adapters[origin]
        assert post("127.0.0.1") == 200 and session.adapters[origin] is first
        with pytest.raises(webhooks.DeliveryFailed):  # the origin's address changed
            post("127.0.0.2")  # nothing listens there on this port
        assert session.adapters[origin] is not first
        assert session.adapters[origin].address == "127.0.0.2"
    assert len(receiver.received) == 3
