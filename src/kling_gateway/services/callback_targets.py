"""Where a client's ``callback_url`` may make the gateway connect: the one place that reads such
a URL and judges the addresses it leads to (at submit, and again before every delivery).

The URL is read once, with urllib3's ``parse_url``: the parser ``requests`` decides the host to
connect to with. A URL that another reader could take for a different host is refused rather
than guessed at, even when it points into an allowed network: backslashes, user info,
whitespace and control characters, percent-encoded hosts, IPv6 zone ids, host names of other
characters than letters, digits, ``-`` and ``_``, and IPv4 addresses spelled any other way
than four plain decimal numbers (``getaddrinfo`` reads ``127.1``, ``0x7f.1``, ``2130706433``
and ``0177.0.0.1`` all as 127.0.0.1).

Every address the host resolves to must then be globally routable, or inside one of the
operator's allowed networks. An IPv4 address wrapped in an IPv6 one is judged by the IPv4
address the connection reaches: IPv4-mapped (``::ffff:a.b.c.d``), NAT64 (``64:ff9b::/96``) and
6to4 (``2002::/16``).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from kling_gateway.domain.errors import InvalidParameter

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Iterable[str]]
"""``(host, port)`` to the addresses it resolves to, preferred first; OSError when it does not."""

DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME_AUTHORITY = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)")
# A host whose last label is a number is an IPv4 address to getaddrinfo (inet_aton) and to
# WHATWG URL parsers, however it is spelled; hex labels count, "0x" alone included.
_NUMERIC_HOST = re.compile(r"(?:.*\.)?(?:[0-9]+|0x[0-9a-f]*)\.?", re.IGNORECASE)
# What DNS names are made of once IDNA has encoded them; urllib3 lets more through (``*``, ``!``,
# empty labels), which requests then refuses to send to or the resolver reads its own way.
_HOST_NAME = re.compile(r"(?:[a-z0-9_-]+\.)*[a-z0-9_-]+\.?", re.IGNORECASE)

# IANA's special-purpose registries and the other ranges no callback receiver lives in. The
# first match names the kind of address, so a narrower network precedes the one holding it.
# ``is_global`` is checked after these: Python's idea of it varies between releases, and in
# some it counts multicast, 6to4, NAT64 and site-local addresses as global.
_NOT_PUBLIC: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(network), kind) for network, kind in (
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol assignment"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "the unspecified address"),
        ("::1/128", "the loopback address"),
        ("::/96", "an IPv4-compatible address (deprecated)"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo address"),
        ("2001::/23", "an IETF protocol assignment"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a segment routing (SRv6) address"),
        ("fc00::/7", "a unique local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address (deprecated)"),
        ("ff00::/8", "a multicast address"),
    ))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


@dataclass(frozen=True)
class Target:
    """A callback URL as the HTTP client will use it, with every address it was checked at."""

    scheme: str
    host: str
    """Lower case, IDNA-encoded, an IPv6 address without brackets: what ``requests`` connects
    to (and names in ``Host`` and TLS)."""
    port: int
    addresses: tuple[Address, ...]
    """Every address the host resolved to, the resolver's preferred first; each one passed."""


def check(url: str, allow_networks: Iterable[str] = (),
          resolve: Resolver | None = None) -> Target:
    """The target of ``url``, or 1201 saying why callbacks may not go there. ``resolve``:
    how host names become addresses (default: the system's ``getaddrinfo``)."""
    scheme, host, port = read(url)
    allowed = [ipaddress.ip_network(network, strict=False) for network in allow_networks]
    literal = _ip_literal(host)
    addresses = ((literal,) if literal is not None
                 else _resolved(host, port, resolve or system_resolver))
    for address in addresses:
        kind = refusal(address, allowed)
        if kind is not None:
            where = f"{host} is" if literal is not None else f"{host} resolves to {address},"
            raise _refused(f"{where} {kind}; callbacks go to public addresses only")
    return Target(scheme, host, port, addresses)


def read(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an http(s) URL that every reader reads alike; else 1201."""
    scheme = _unambiguous_scheme(url)
    try:
        parts = parse_url(url)
    except LocationParseError:  # its message repeats the URL, credentials and all
        raise _refused("is not a valid URL") from None
    if parts.scheme != scheme:
        raise _refused("is not a valid URL")
    if not parts.host:
        raise _refused("has no host")
    return scheme, _checked_host(parts.host), parts.port or DEFAULT_PORTS[scheme]


def refusal(address: Address, allowed: Sequence[Network] = ()) -> str | None:
    """None when callbacks may go to ``address``, else what kind of address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # the socket connects to the IPv4 address itself
    if any(address in network for network in allowed):
        return None
    return _not_public(address)


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [info[4][0] for info in infos]


def _refused(why: str) -> InvalidParameter:
    return InvalidParameter(f"invalid parameter 'callback_url': {why}")


def _unambiguous_scheme(url: str) -> str:
    """The URL's scheme, lower case, once nothing in the URL can make parsers disagree on its
    host: WHATWG parsers take ``\\`` for ``/``, Python's ``urlsplit`` drops tabs and newlines
    that urllib3 refuses, and ``user@``, ``%`` and odd ports are read differently or echoed."""
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in url):
        raise _refused("contains whitespace or a control character")
    if "\\" in url:
        raise _refused("contains a backslash")
    match = _SCHEME_AUTHORITY.match(url)
    if match is None or match.group(1).lower() not in DEFAULT_PORTS:
        raise _refused("must be an absolute http or https URL")
    authority = match.group(2)
    if "@" in authority:
        raise _refused("must not contain user info (user@ or user:password@)")
    if "%" in authority:
        raise _refused("has a percent-encoded host or an IPv6 zone id")
    _check_port(authority)
    return match.group(1).lower()


def _check_port(authority: str) -> None:
    """An explicit port is a number from 1 to 65535 (urllib3's own refusal would repeat the
    whole URL, and ``requests`` turns port 0 into the scheme's default port)."""
    host_port = authority.rpartition("]")[2]
    if ":" not in host_port:
        return
    port = host_port.rpartition(":")[2]
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise _refused("the port must be a number from 1 to 65535")


def _checked_host(host: str) -> str:
    """``host`` as connected to; an IP address only in its one unambiguous spelling."""
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise _refused("the host is not a valid IPv6 address") from None
        return host[1:-1]
    if _NUMERIC_HOST.fullmatch(host) and not _is_canonical_ipv4(host):
        raise _refused("an IPv4 address must be four decimal numbers from 0 to 255 without "
                       "leading zeros (a.b.c.d)")
    if not _HOST_NAME.fullmatch(host):
        raise _refused("a host name holds only letters, digits, '-' and '_', in labels "
                       "separated by dots")
    return host


def _is_canonical_ipv4(text: str) -> bool:
    try:
        return str(ipaddress.IPv4Address(text)) == text
    except ValueError:
        return False


def _ip_literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolved(host: str, port: int, resolve: Resolver) -> tuple[Address, ...]:
    """Every address ``host`` resolves to, once each, the resolver's preferred first."""
    try:
        found = [ipaddress.ip_address(answer.split("%")[0]) for answer in resolve(host, port)]
    except (OSError, ValueError):  # ValueError: IDNA limits, an answer that is no address
        found = []
    if not found:
        raise _refused(f"cannot resolve {host}")
    return tuple(dict.fromkeys(found))


def _not_public(address: Address) -> str | None:
    for network, kind in _NOT_PUBLIC:
        if address in network:
            return kind
    wrapped = _wrapped_ipv4(address)
    if wrapped is not None:
        wrapper, inner = wrapped
        kind = _not_public(inner)
        return None if kind is None else f"a {wrapper} address of {inner}, {kind}"
    if not address.is_global:
        return "an address that is not globally routable"
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return "an address outside IPv6 global unicast (2000::/3)"
    return None


def _wrapped_ipv4(address: Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address a NAT64 or 6to4 address leads to, with the wrapping's name."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    return None
