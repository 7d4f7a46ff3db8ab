"""Steps the Neighbor Discovery cases share: bringing one of the SUT's neighbour entries into a
given state (RFC 4861 7.3.2) through the wire, and reading it back.

Neighbours the cases play are addresses on the SUT's 2001:db8:1::/64 that the tester's Port does
not claim, so the tester answers nothing for them unless the case does.
"""

from __future__ import annotations

import itertools
import time

from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, IPv6
from scapy.packet import Packet

from cases.nd.frames import echo, echo_reply, na, ns, ns_for
from conformance.control import Neighbour
from conformance.match import Matcher, like
from conformance.verdict import Inconclusive

NEIGHBOUR_IP, NEIGHBOUR_MAC = "2001:db8:1::b1", "02:00:00:00:6b:01"
OTHER_MAC = "02:00:00:00:6b:02"  # the same neighbour, moved to another interface card
_idents = itertools.count(0x6E00)


def ident() -> int:
    return next(_idents) & 0xFFFF


def entry(host, ip: str = NEIGHBOUR_IP) -> Neighbour | None:
    """The SUT's neighbour entry for `ip` on its interface, or None."""
    return host.control.neighbours(host.sut.ifname, family=6).get(ip)


def prompt_resolution(host, ip: str = NEIGHBOUR_IP, mac: str = NEIGHBOUR_MAC) -> tuple[int, Packet]:
    """Have the SUT resolve `ip`: an Echo Request from it, whose reply the SUT must queue.
    Returns the echo's identifier and the SUT's (multicast) Neighbor Solicitation."""
    n = ident()
    host.tester.send(echo(mac, ip, host.sut.mac, host.sut.ip6, n))
    try:
        solicitation = host.tester.expect(ns_for(ip))
    except AssertionError as exc:
        raise Inconclusive(f"precondition not met: the SUT resolves {ip} to answer an Echo Request from it ({exc})") from None
    return n, solicitation


def make_reachable(host, ip: str = NEIGHBOUR_IP, mac: str = NEIGHBOUR_MAC) -> None:
    """Resolution answered with a solicited NA: the entry is REACHABLE (RFC 4861 7.2.5)."""
    answering, host.tester.answer_nd = host.tester.answer_nd, False  # this answer is the case's own
    try:
        n, solicitation = prompt_resolution(host, ip, mac)
    finally:
        host.tester.answer_nd = answering
    host.tester.send(na(mac, ip, dst=solicitation["IPv6"].src, dst_mac=host.sut.mac, S=1, O=1))
    try:
        host.tester.expect(echo_reply(n, to=ip))
    except AssertionError as exc:
        raise Inconclusive(f"precondition not met: the queued echo reply to {ip} after resolution ({exc})") from None
    found = entry(host, ip)
    if found is None or found.state != "REACHABLE":
        raise Inconclusive(f"precondition not met: the SUT's entry for {ip} is REACHABLE after a solicited NA; it is {found}")


def make_stale(host, ip: str = NEIGHBOUR_IP, mac: str = NEIGHBOUR_MAC) -> None:
    """A Neighbor Solicitation from `ip` with its link-layer address: a new entry is STALE
    (RFC 4861 7.2.3), and DELAY once the SUT's answer has used it (7.3.3): either way not
    REACHABLE, which is what the cases need. The SUT's answer is consumed."""
    host.tester.send(ns(mac, ip, host.sut.ip6))
    try:
        host.tester.expect(na_to(ip))
    except AssertionError as exc:
        raise Inconclusive(f"precondition not met: the SUT answers a Neighbor Solicitation from {ip} ({exc})") from None
    found = entry(host, ip)
    if found is None or found.state not in ("STALE", "DELAY") or found.mac != mac:
        raise Inconclusive(f"precondition not met: an entry for {ip} at {mac}, STALE or DELAY, after its solicitation; "
                           f"it is {found}")


def na_to(ip: str) -> Matcher:
    return like(IPv6(dst=ip) / ICMPv6ND_NA(), name=f"Neighbor Advertisement to {ip}")


def wait_state(host, states: set[str], ip: str = NEIGHBOUR_IP, timeout: float = 2.0) -> Neighbour | None:
    """Poll the SUT's entry for `ip` until its state is one of `states` (None in `states`
    stands for no entry); the entry at the end, whatever it is."""
    deadline = time.monotonic() + timeout
    while True:
        found = entry(host, ip)
        if (found.state if found else None) in states:
            return found
        if time.monotonic() > deadline:
            return found
        time.sleep(0.002)


def watch(port, seconds: float) -> None:
    """Record what arrives on `port` for `seconds`: for timer-driven behaviour (retransmissions,
    their end) that no probe can fence; the wait is the case's declared cost."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        port.poll(left)


def solicitations(port, target: str) -> list[tuple[int, Packet]]:
    """(time, packet) of the Neighbor Solicitations for `target` that arrived on `port` during
    the case."""
    port.capture.drain()
    out = []
    for f in port.capture.frames:
        if f.port == port.name and f.direction == "in" and ICMPv6ND_NS in f.packet and ns_for(target)(f.packet):
            out.append((f.t_ns, f.packet))
    return out


def positive_control(what: str, step):
    """Run `step`, the positive control of a silence check: if it fails the path is not shown
    open, so the silence proves nothing and the case is INCONCLUSIVE (never FAIL)."""
    try:
        return step()
    except AssertionError as exc:
        raise Inconclusive(f"positive control failed: {what} ({exc})") from None
