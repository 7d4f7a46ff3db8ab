"""When an ICMP error MUST NOT be sent (RFC 1122 3.2.2, RFC 1812 4.3.2.7).

Each case first shows that the SUT does send the error for a well-formed datagram (else
nothing can be judged: INCONCLUSIVE), then sends the datagram the RFC exempts and checks
both the wire (fence-ended) and the SUT's own ICMP output counters, which also catch an error
sent somewhere the tester cannot see (to a loopback or zero address).
"""

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from cases.icmp.frames import (
    BROADCAST_MAC,
    any_icmp_error,
    ip_like,
    mac_for_multicast,
    next_ident,
    subnet_broadcast,
    udp_datagram,
    unreachable,
)
from conformance.catalog import MUST, case
from conformance.match import like
from conformance.verdict import Inconclusive
from conformance.wire import NoMatch

ERROR_COUNTERS = ("Icmp.OutDestUnreachs", "Icmp.OutTimeExcds", "Icmp.OutParmProbs", "Icmp.OutSrcQuenchs", "Icmp.OutRedirects")


def errors_sent(control) -> int:
    counters = control.counters("snmp")
    return sum(counters.get(name, 0) for name in ERROR_COUNTERS)


def establish(port, frame: Packet, answer, what: str) -> None:
    """Show the SUT sends the error for a well-formed datagram, or give up as INCONCLUSIVE."""
    try:
        port.exchange(frame, expect=answer)
    except NoMatch as exc:
        raise Inconclusive(f"the SUT sent no {what} even for a well-formed datagram, so its suppression cannot be judged") from exc


def assert_no_error(port, control, frame: Packet, why: str) -> None:
    before = errors_sent(control)
    port.send(frame)
    try:
        port.expect_none(any_icmp_error())
    except AssertionError as exc:
        raise AssertionError(f"an ICMP error MUST NOT be sent about {why}; {exc}") from None
    sent = errors_sent(control) - before
    assert sent == 0, f"an ICMP error MUST NOT be sent about {why}; the SUT's counters show {sent} ICMP error(s) sent"


def closed_port_from(lan, src_ip: str, *, dst_ip: str | None = None, dst_mac: str | None = None) -> Packet:
    return udp_datagram(lan.tester.mac, dst_mac or lan.sut.mac, src_ip, dst_ip or lan.sut.ip)


def establish_port_unreachable(lan) -> None:
    establish(lan.tester, closed_port_from(lan, lan.tester.ip), unreachable(lan.sut.ip, lan.tester.ip, 3), "Port Unreachable")


# --- about broadcast and multicast -----------------------------------------------------------


@case("ICMP-NOERR-DIRECTED-BROADCAST", rfc=1122, section="3.2.2", level=MUST, layer=3, also=(1812,), needs=("counters",))
def test_no_error_about_datagram_to_subnet_broadcast(lan):
    """No ICMP error is sent about a datagram destined to an IP broadcast address (here the SUT's subnet broadcast, 198.18.0.255)."""
    establish_port_unreachable(lan)
    frame = closed_port_from(lan, lan.tester.ip, dst_ip=subnet_broadcast(lan.sut.ip, lan.prefixlen), dst_mac=BROADCAST_MAC)
    assert_no_error(lan.tester, lan.control, frame, "a UDP datagram to the subnet broadcast address")


@case("ICMP-NOERR-LIMITED-BROADCAST", rfc=1122, section="3.2.2", level=MUST, layer=3, also=(1812,), needs=("counters",))
def test_no_error_about_datagram_to_limited_broadcast(lan):
    """No ICMP error is sent about a datagram destined to the limited broadcast address 255.255.255.255."""
    establish_port_unreachable(lan)
    frame = closed_port_from(lan, lan.tester.ip, dst_ip="255.255.255.255", dst_mac=BROADCAST_MAC)
    assert_no_error(lan.tester, lan.control, frame, "a UDP datagram to 255.255.255.255")


@case("ICMP-NOERR-MULTICAST", rfc=1122, section="3.2.2", level=MUST, layer=3, also=(1812,), needs=("counters",))
def test_no_error_about_datagram_to_multicast_group(lan):
    """No ICMP error is sent about a datagram destined to an IP multicast address (224.0.0.1, of which the SUT is a member)."""
    establish_port_unreachable(lan)
    frame = closed_port_from(lan, lan.tester.ip, dst_ip="224.0.0.1", dst_mac=mac_for_multicast("224.0.0.1"))
    assert_no_error(lan.tester, lan.control, frame, "a UDP datagram to the multicast group 224.0.0.1")


@case("ICMP-NOERR-LINK-BROADCAST", rfc=1122, section="3.2.2", level=MUST, layer=3, needs=("counters",))
def test_no_error_about_unicast_datagram_in_link_broadcast(lan):
    """No ICMP error is sent about a datagram that arrived as a link-layer broadcast, even though its IP destination is the SUT's unicast address."""
    establish_port_unreachable(lan)
    frame = closed_port_from(lan, lan.tester.ip, dst_mac=BROADCAST_MAC)
    assert_no_error(lan.tester, lan.control, frame, "a datagram sent as a link-layer broadcast")


@case("ICMP-NOERR-LINK-MULTICAST", rfc=1812, section="4.3.2.7", level=MUST, layer=3, needs=("counters",))
def test_router_sends_no_error_about_unicast_datagram_in_link_multicast(routed):
    """A router sends no ICMP error about a datagram that arrived as a link-layer multicast, even though its IP destination is the router's unicast address.

    The frame goes to 01:00:5e:00:00:01 (the all-hosts group's MAC, which every IPv4
    interface receives) and carries a UDP datagram for a closed port of 198.18.1.1.
    """
    t, r = routed.tester, routed.router_near
    establish(t, udp_datagram(t.mac, r.mac, t.ip, r.ip), unreachable(r.ip, t.ip, 3), "Port Unreachable")
    frame = udp_datagram(t.mac, mac_for_multicast("224.0.0.1"), t.ip, r.ip)
    assert_no_error(t, routed.control, frame, "a datagram sent as a link-layer multicast")


# --- about other errors and non-initial fragments (router SUT, TTL 1 as the trigger) ----------


def time_exceeded(routed):
    return like(ip_like(src=routed.router_near.ip, dst=routed.tester.ip) / ICMP(type=11, code=0))


@case("ICMP-NOERR-ABOUT-ERROR", title="No error about an ICMP error", rfc=1122, section="3.2.2", level=MUST, layer=3, also=(1812,), needs=("counters",))
def test_no_error_about_an_icmp_error(routed):
    """No ICMP error is sent about an ICMP error message.

    The router must drop a Destination Unreachable with TTL 1 on its way to the far host; an
    Echo Request with TTL 1 first shows the router does send Time Exceeded for others.
    """
    t, r = routed.tester, routed.router_near
    far_ip = "198.18.2.2"
    probe = Ether(src=t.mac, dst=r.mac) / IP(src=t.ip, dst=far_ip, ttl=1) / ICMP(type="echo-request", id=next_ident())
    establish(t, probe, time_exceeded(routed), "Time Exceeded")
    inner = IP(src=far_ip, dst=t.ip, ttl=63, id=next_ident()) / UDP(sport=53, dport=40000) / Raw(b"12345678")
    error = Ether(src=t.mac, dst=r.mac) / IP(src=t.ip, dst=far_ip, ttl=1) / ICMP(type=3, code=3) / inner
    assert_no_error(t, routed.control, error, "an ICMP error message (Destination Unreachable with TTL 1 to forward)")


@case("ICMP-NOERR-NONINITIAL-FRAGMENT", rfc=1122, section="3.2.2", level=MUST, layer=3, also=(1812,), needs=("counters",))
def test_no_error_about_non_initial_fragment(routed):
    """No ICMP error is sent about a fragment other than the first (fragment offset non-zero).

    The router must drop a non-initial UDP fragment with TTL 1 silently; the first fragment of
    another datagram with TTL 1 first shows that it sends Time Exceeded for those.
    """
    t, r = routed.tester, routed.router_near
    far_ip = "198.18.2.2"
    first = udp_datagram(t.mac, r.mac, t.ip, far_ip, ttl=1, flags=1, data=b"x" * 64)
    establish(t, first, time_exceeded(routed), "Time Exceeded")
    later = Ether(src=t.mac, dst=r.mac) / IP(src=t.ip, dst=far_ip, ttl=1, proto=17, id=next_ident(), frag=8) / Raw(b"y" * 64)
    assert_no_error(t, routed.control, later, "a non-initial fragment (offset 64)")


# --- about datagrams whose source is not one host ----------------------------------------------


def _source_case(lan, src: str, what: str) -> None:
    establish_port_unreachable(lan)
    assert_no_error(lan.tester, lan.control, closed_port_from(lan, src), f"a datagram from {what} ({src})")
    lan.tester.expect_none(unreachable(lan.sut.ip, src))


@case("ICMP-NOERR-SRC-ZERO", rfc=1122, section="3.2.2", level=MUST, layer=3, needs=("counters",))
def test_no_error_about_datagram_from_zero_address(lan):
    """No ICMP error is sent about a datagram whose source is the zero address 0.0.0.0."""
    _source_case(lan, "0.0.0.0", "the zero address")


@case("ICMP-NOERR-SRC-LOOPBACK", rfc=1122, section="3.2.2", level=MUST, layer=3, needs=("counters",))
def test_no_error_about_datagram_from_loopback_address(lan):
    """No ICMP error is sent about a datagram whose source is a loopback address (127.0.0.1)."""
    _source_case(lan, "127.0.0.1", "a loopback address")


@case("ICMP-NOERR-SRC-LIMITED-BROADCAST", rfc=1122, section="3.2.2", level=MUST, layer=3, needs=("counters",))
def test_no_error_about_datagram_from_limited_broadcast(lan):
    """No ICMP error is sent about a datagram whose source is the limited broadcast address 255.255.255.255."""
    _source_case(lan, "255.255.255.255", "the limited broadcast address")


@case("ICMP-NOERR-SRC-DIRECTED-BROADCAST", rfc=1122, section="3.2.2", level=MUST, layer=3, needs=("counters",))
def test_no_error_about_datagram_from_subnet_broadcast(lan):
    """No ICMP error is sent about a datagram whose source is the broadcast address of the SUT's subnet (198.18.0.255)."""
    _source_case(lan, subnet_broadcast(lan.sut.ip, lan.prefixlen), "the subnet broadcast address")


@case("ICMP-NOERR-SRC-MULTICAST", rfc=1122, section="3.2.2", level=MUST, layer=3, needs=("counters",))
def test_no_error_about_datagram_from_multicast_address(lan):
    """No ICMP error is sent about a datagram whose source is a multicast address (224.0.0.9)."""
    _source_case(lan, "224.0.0.9", "a multicast address")


@case("ICMP-NOERR-SRC-CLASS-E", title="No error about a datagram from a Class E address", rfc=1122, section="3.2.2", level=MUST, layer=3, needs=("counters",))
def test_no_error_about_datagram_from_class_e_address(lan):
    """No ICMP error is sent about a datagram whose source is a Class E address (240.0.0.1).

    An error about it would be routed through the SUT's default gateway, which the tester
    plays, so it would be seen on the wire as well as in the counters.
    """
    _source_case(lan, "240.0.0.1", "a Class E address")


@case("ICMP-NOERR-SRC-ZERO-NETWORK", rfc=1812, section="4.3.2.7", level=MUST, layer=3, needs=("counters",))
def test_router_sends_no_error_about_datagram_from_network_zero(routed):
    """A router sends no ICMP error about a datagram whose source address has a network prefix of zero (here 0.1.2.3)."""
    t, r = routed.tester, routed.router_near
    establish(t, udp_datagram(t.mac, r.mac, t.ip, r.ip), unreachable(r.ip, t.ip, 3), "Port Unreachable")
    assert_no_error(t, routed.control, udp_datagram(t.mac, r.mac, "0.1.2.3", r.ip), "a datagram from 0.1.2.3 (network zero)")
