"""Which callback URLs the gateway may call (``callback_targets``): each known SSRF bypass form
is refused for its own reason, and ordinary public URLs are accepted as the HTTP client reads
them. Names resolve through a fake resolver: no DNS, no traffic."""

from __future__ import annotations

import ipaddress

import pytest

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.services import callback_targets
from tests.support.callback_urls import (
    ACCEPTED,
    BACKSLASH,
    IPV4_SPELLING,
    PERCENT,
    PUBLIC_V4,
    PUBLIC_V6,
    REFUSED,
    RESOLVER_ANSWERS,
    USER_INFO,
)
from tests.support.resolver import FakeResolver


def check(url: str, allow: tuple[str, ...] = ()) -> callback_targets.Target:
    return callback_targets.check(url, allow, FakeResolver(RESOLVER_ANSWERS))


@pytest.mark.parametrize(("url", "reason"), REFUSED, ids=[url for url, _ in REFUSED])
def test_a_bypass_form_is_refused_with_its_reason(url, reason):
    with pytest.raises(InvalidParameter) as refused:
        check(url)
    assert refused.value.code == 1201
    assert refused.value.message.startswith("invalid parameter 'callback_url': ")
    assert reason in refused.value.message


@pytest.mark.parametrize(("url", "expected"), ACCEPTED, ids=[url for url, _ in ACCEPTED])
def test_an_ordinary_public_url_is_accepted_as_the_http_client_reads_it(url, expected):
    target = check(url)
    assert (target.scheme, target.host, target.port) == expected
    assert target.addresses


def test_every_address_of_a_name_is_checked_and_kept_in_the_resolvers_order():
    assert check("https://dual.example/").addresses == (
        ipaddress.ip_address(PUBLIC_V4), ipaddress.ip_address(PUBLIC_V6))


def test_an_address_in_the_url_is_not_resolved_and_a_refused_url_not_at_all():
    resolver = FakeResolver(RESOLVER_ANSWERS)
    callback_targets.check("https://1.1.1.1/cb", (), resolver)
    callback_targets.check("https://[2606:4700:4700::1111]/cb", (), resolver)
    for url in ("http://user@example.com/", "http://127.1/", "ftp://example.com/"):
        with pytest.raises(InvalidParameter):
            callback_targets.check(url, (), resolver)
    callback_targets.check("https://example.com/cb", (), resolver)
    assert resolver.asked == ["example.com"]


@pytest.mark.parametrize("url", [
    "http://user:s3cret@example.com/", "http://user:s3cret@example.com:99999/",
    "ftp://user:s3cret@example.com/", "http://user:s3cret@[::1/", "http://u:s3cret@127.0.0.1/",
])
def test_a_refusal_never_repeats_credentials_from_the_url(url):
    with pytest.raises(InvalidParameter) as refused:
        check(url)
    assert "s3cret" not in refused.value.message


@pytest.mark.parametrize(("url", "allow"), [
    ("http://127.0.0.1:8080/cb", ("127.0.0.0/8",)),
    ("http://[::ffff:127.0.0.1]:8080/cb", ("127.0.0.0/8",)),
    ("http://ten.example/cb", ("10.0.0.0/8",)),
    ("http://[fd00::1]/cb", ("fd00::/8",)),
    ("http://100.100.100.200/cb", ("100.64.0.0/10",)),
    ("http://localhost:8080/cb", ("127.0.0.0/8", "::1/128")),
])
def test_an_allowed_network_admits_its_addresses(url, allow):
    with pytest.raises(InvalidParameter):
        check(url)
    assert check(url, allow).addresses


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.1:8080/cb", IPV4_SPELLING),
    ("http://2130706433:8080/cb", IPV4_SPELLING),
    ("http://user@127.0.0.1:8080/cb", USER_INFO),
    ("http://127.0.0.1:8080\\@1.1.1.1/cb", BACKSLASH),
    ("http://127%2e0.0.1:8080/cb", PERCENT),
    ("http://10.0.0.1/cb", "a private address"),
    ("http://localhost:8080/cb", "resolves to ::1, the loopback address"),
])
def test_an_allowed_network_does_not_admit_ambiguous_urls_or_other_networks(url, reason):
    with pytest.raises(InvalidParameter) as refused:
        check(url, ("127.0.0.0/8",))
    assert reason in refused.value.message
