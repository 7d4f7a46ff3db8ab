"""Steps the SLAAC cases share (RFC 4862): turning the SUT's IPv6 on and watching its Duplicate
Address Detection, advertising prefixes as the segment's router, and finding the addresses the
SUT formed. The SUT's address table (flags, lifetimes) comes from `slaac_host.addresses()`."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from scapy.layers.inet6 import ICMPv6ND_NS, IPv6
from scapy.packet import Packet

from cases.nd.frames import UNSPECIFIED, pio, ra
from conformance.match import Matcher, like
from conformance.verdict import Inconclusive
from fixtures.nd import Address6

PREFIX = "2001:db8:5::/64"


def dad_ns_for(addr: str) -> Matcher:
    return like(IPv6(src=UNSPECIFIED) / ICMPv6ND_NS(tgt=addr), name=f"a DAD Neighbor Solicitation for {addr}")


def enable(host) -> Packet:
    """Turn the SUT's IPv6 on; its DAD solicitation for its link-local address."""
    host.enable()
    try:
        return host.tester.expect(dad_ns_for(host.sut.ll), timeout=2.0)
    except AssertionError as exc:
        raise AssertionError(f"RFC 4862 5.4: Duplicate Address Detection MUST be performed on the link-local address "
                             f"{host.sut.ll} before it is assigned; no DAD solicitation came ({exc})") from None


def ready(host) -> None:
    """IPv6 on and the link-local address past DAD (a precondition, INCONCLUSIVE if not met)."""
    host.enable()
    host.link_local_ready()


def advertise_prefix(host, prefix: str = PREFIX, *, lifetime: int = 0, **pio_kw: Any) -> None:
    """The router's RA with one Prefix Information option; the fence shows it processed."""
    host.tester.send(ra(host.router.mac, host.router.ll, lifetime=lifetime, options=pio(prefix, **pio_kw)))
    host.tester.handled()


def in_prefix(host, prefix: str = PREFIX) -> list[Address6]:
    net = ipaddress.IPv6Network(prefix)
    return [a for a in host.addresses() if ipaddress.IPv6Address(a.address) in net]


def formed(host, prefix: str = PREFIX, *, usable: bool = True, timeout: float = 2.0) -> Address6:
    """The address the SUT formed in `prefix` (past DAD if `usable`); INCONCLUSIVE if none."""
    deadline = time.monotonic() + timeout
    while True:
        found = [a for a in in_prefix(host, prefix) if a.usable or not usable]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise Inconclusive(f"precondition not met: the SUT forms an address in {prefix} from the advertisement "
                               f"(RFC 4862 5.5.3){' and it passes DAD' if usable else ''}; it has {host.addresses()}")
        time.sleep(0.005)


def slaac_address(host, *, valid: int, preferred: int, prefix: str = PREFIX, lifetime: int = 0) -> Address6:
    """An address formed in `prefix` with the given lifetimes (past DAD); `lifetime` is the RA's
    Router Lifetime."""
    advertise_prefix(host, prefix, lifetime=lifetime, valid=valid, preferred=preferred)
    return formed(host, prefix)
