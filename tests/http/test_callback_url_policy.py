"""A client cannot make the gateway call what it should not through ``callback_url`` (issue 14):
every known bypass form is refused at submit with 1201 and costs nothing, the ``\\@`` form that
once delivered signed callbacks to loopback reaches no local receiver, the check is repeated
before every delivery, and a delivery connects to the checked address, directly, without
following redirects.

Every connection opened while these tests run must go to a loopback address (``loopback_only``):
a regression fails the test instead of reaching the internet."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import pytest
import requests
import urllib3.util.connection

from kling_gateway.storage.models import CallbackDelivery, Task
from kling_gateway.worker import webhooks
from kling_gateway.worker.callbacks import deliver_due
from tests.support.callback_urls import BACKSLASH, IPV4_SPELLING, REFUSED, RESOLVER_ANSWERS
from tests.support.callbacks import callback_receiver
from tests.support.gateway import CNY, Gateway, Tenant, start_gateway
from tests.support.resolver import FakeResolver

T2V = "/v1/videos/text2video"
PUBLIC = "93.184.215.14"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """urllib3 (so requests, so the gateway, its upstream calls and the test's own) may connect
    only to loopback addresses; any other attempt is refused, recorded and fails the test."""
    connect = urllib3.util.connection.create_connection
    elsewhere: list[str] = []

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        try:
            loopback = ipaddress.ip_address(address[0]).is_loopback
        except ValueError:
            loopback = address[0] == "localhost"
        if not loopback:
            elsewhere.append(address[0])
            raise OSError(f"test guard: no connection to {address[0]}")
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)
    yield elsewhere
    assert elsewhere == [], f"connections outside loopback were attempted: {elsewhere}"


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver(RESOLVER_ANSWERS)


@pytest.fixture
def strict_gateway(database_url: str, resolver: FakeResolver) -> Iterator[Gateway]:
    """The default policy (public addresses only), resolving names with ``resolver``."""
    with ExitStack() as stack:
        running = start_gateway(database_url, stack, callback_allow_networks=(),
                                callback_resolver=resolver)
        yield running
        running.assert_books_balance()


def submit(tenant: Tenant, url: str, external_task_id: str | None = None) -> requests.Response:
    body = {"prompt": "a cat", "callback_url": url}
    if external_task_id:
        body["external_task_id"] = external_task_id
    return tenant.jwt.post(T2V, body)


def refusal_of(answer: requests.Response) -> str:
    """The message of an official 1201 envelope (HTTP 400)."""
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert list(body) == ["code", "message", "request_id"]
    assert body["code"] == 1201
    assert body["request_id"] == answer.headers["X-Request-Id"]
    assert body["message"].startswith("invalid parameter 'callback_url': ")
    return body["message"]


def assert_nothing_charged_or_sent(gateway: Gateway, tenant: Tenant, balance: int) -> None:
    assert tenant.balance == balance
    assert gateway.charges() == [] and gateway.charges("refund") == []
    assert Task.select().count() == 0 and CallbackDelivery.select().count() == 0
    assert all(upstream.jobs() == [] for upstream in gateway.upstreams)


def deliveries_of(task_id: str) -> list[CallbackDelivery]:
    return list(CallbackDelivery.select().where(CallbackDelivery.task == task_id)
                .order_by(CallbackDelivery.sequence))


def test_every_bypass_form_is_refused_at_submit_with_its_reason_and_costs_nothing(
        strict_gateway):
    strict_gateway.add_upstream("sim")
    ada = strict_gateway.tenant("ada")
    wrong = {}
    for url, reason in REFUSED:
        message = refusal_of(submit(ada, url))
        if reason not in message or "s3cret" in message:
            wrong[url] = message
    assert wrong == {}
    assert_nothing_charged_or_sent(strict_gateway, ada, 1000 * CNY)


def test_an_ordinary_public_callback_url_is_still_accepted(strict_gateway, resolver):
    """The control for the test above: the same gateway takes (and charges) a public URL."""
    strict_gateway.add_upstream("sim")
    ada = strict_gateway.tenant("ada")
    task_id = submit(ada, "https://example.com/kling/callback").json()["data"]["task_id"]
    assert Task.get_by_id(task_id).callback_url == "https://example.com/kling/callback"
    assert ada.balance < 1000 * CNY
    assert resolver.asked == ["example.com"]


def test_the_backslash_at_form_never_reaches_a_local_receiver(gateway):
    """``http://127.0.0.1:PORT\\@1.1.1.1/x`` was checked as host 1.1.1.1 and delivered to
    127.0.0.1. Now it is refused at submit even where 127.0.0.0/8 is allowed, and a delivery
    stored with it before the fix is abandoned unsent."""
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    settings = gateway.context.settings
    with callback_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        bypass = f"http://127.0.0.1:{port}\\@1.1.1.1/x"
        assert BACKSLASH in refusal_of(submit(ada, bypass))
        assert Task.select().count() == 0

        delivered = ada.jwt.create(T2V, {"prompt": "a cat", "callback_url": receiver.url})
        assert deliver_due(settings) == 1  # the receiver works, and 127.0.0.0/8 is allowed
        stored = ada.jwt.create(T2V, {"prompt": "a cat", "callback_url": receiver.url})
        CallbackDelivery.update(url=bypass).where(
            CallbackDelivery.task == stored["task_id"]).execute()
        assert deliver_due(settings) == 0

    assert [call["task_id"] for call in receiver.received] == [delivered["task_id"]]
    (abandoned,) = deliveries_of(stored["task_id"])
    assert abandoned.abandoned_at is not None and abandoned.attempts == 0
    assert BACKSLASH in abandoned.last_error


def test_other_spellings_of_loopback_are_refused_even_where_loopback_is_allowed(gateway):
    """getaddrinfo reads each of these as 127.0.0.1, where the receiver listens."""
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    with callback_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        for host in ("127.1", "127.0.1", "2130706433", "017700000001", "0x7f000001",
                     "0177.0.0.1", "0x7f.0.0.1", "127.0.0.01"):
            assert IPV4_SPELLING in refusal_of(submit(ada, f"http://{host}:{port}/cb")), host
        for url in (f"http://user@127.0.0.1:{port}/cb", f"http://u:pw@127.0.0.1:{port}/cb",
                    f"http://127%2E0.0.1:{port}/cb", f"http://127.0.0.1:{port}\t/cb"):
            refusal_of(submit(ada, url))
        deliver_due(gateway.context.settings)
    assert receiver.received == []
    assert_nothing_charged_or_sent(gateway, ada, 1000 * CNY)


def test_a_host_that_resolves_internal_by_delivery_time_is_refused_then(strict_gateway,
                                                                       resolver):
    strict_gateway.add_upstream("sim")
    ada = strict_gateway.tenant("ada")
    strict = strict_gateway.context.settings
    loopback_allowed = replace(strict, callback_allow_networks=("127.0.0.0/8",))
    with callback_receiver() as receiver:
        url = f"http://hooks.example:{receiver.url.split(':')[2]}"
        resolver.answers["hooks.example"] = [PUBLIC]  # public when the tasks are submitted
        first, second, third = (ada.jwt.create(T2V, {"prompt": "a cat", "callback_url": url})
                                for _ in range(3))
        resolver.answers["hooks.example"] = ["127.0.0.1"]  # and loopback by delivery time
        assert deliver_due(strict, limit=1) == 0  # the first task's callback: oldest first
        assert receiver.received == []
        assert deliver_due(loopback_allowed, limit=1) == 1  # the control: allowed, it arrives
        resolver.answers["hooks.example"] = ["127.0.0.1", "10.0.0.7"]
        assert deliver_due(loopback_allowed) == 0  # every address must pass, not the first

    assert [call["task_id"] for call in receiver.received] == [second["task_id"]]
    (refused,) = deliveries_of(first["task_id"])
    assert refused.abandoned_at is not None and refused.attempts == 0
    assert "hooks.example resolves to 127.0.0.1, a loopback address" in refused.last_error
    (mixed,) = deliveries_of(third["task_id"])
    assert mixed.abandoned_at is not None and mixed.attempts == 0
    assert "hooks.example resolves to 10.0.0.7, a private address" in mixed.last_error


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_from_the_receiver_is_not_followed(gateway, status):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    with callback_receiver() as target, callback_receiver(fail_first=1,
                                                          fail_status=status) as receiver:
        receiver.location = target.url
        task_id = ada.jwt.create(T2V, {"prompt": "a cat",
                                       "callback_url": receiver.url})["task_id"]
        started = int(time.time() * 1000)
        assert deliver_due(gateway.context.settings, now_ms=started) == 1

    assert receiver.answered == [status] and target.received == []
    (delivery,) = deliveries_of(task_id)
    assert delivery.last_status_code == status and delivery.delivered_at is None
    assert delivery.next_attempt_at == started + 5_000  # a failed attempt, retried later


def test_a_delivery_takes_no_proxy_or_netrc_credentials_from_the_environment(
        gateway, monkeypatch, tmp_path):
    """A proxy would choose the address to connect to itself, and ``.netrc`` credentials
    would go to any host a client names."""
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    netrc = tmp_path / "netrc"
    netrc.write_text("default login operator password s3cret\n")
    netrc.chmod(0o600)
    with callback_receiver() as proxy, callback_receiver() as receiver:
        task_id = ada.jwt.create(T2V, {"prompt": "a cat",
                                       "callback_url": receiver.url})["task_id"]
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        # set only now: the test's own client would take them too
        monkeypatch.setenv("HTTP_PROXY", proxy.url.removesuffix("/kling-callback"))
        monkeypatch.setenv("NETRC", str(netrc))
        assert deliver_due(gateway.context.settings) == 1

    assert proxy.received == []
    assert [call["task_id"] for call in receiver.received] == [task_id]
    assert "Authorization" not in receiver.headers[0]


def test_a_post_that_would_not_go_through_its_pinned_adapter_fails():
    """A URL requests would route to another adapter (one that resolves the name itself) is
    not sent at all."""
    with callback_receiver() as receiver, webhooks.new_session() as session:
        session.mount(receiver.url, requests.adapters.HTTPAdapter())  # a longer prefix wins
        with pytest.raises(webhooks.DeliveryFailed, match="pinned address"):
            webhooks.post_signed(session, receiver.url, b"{}", "secret", "m-1", 0, (5.0, 5.0),
                                 connect_to="127.0.0.1")
    assert receiver.received == []
