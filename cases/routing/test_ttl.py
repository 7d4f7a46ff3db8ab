"""TTL handling on forward (RFC 1812 5.3.1, 4.2.2.9; RFC 791 3.1 Header Checksum).

RFC 791 predates RFC 2119: its "this is recomputed and verified at each point that the internet
header is processed" (Header Checksum) is read as MUST.
"""

from scapy.layers.inet import ICMP, IP, IPerror, UDPerror
from scapy.layers.l2 import Ether
from scapy.utils import checksum

from cases.routing.frames import udp_frame, udp_like
from conformance.catalog import MUST, case
from conformance.match import like

FAR_DST = "198.18.2.2"


def _to_far(routed, ttl: int, sport: int):
    return udp_frame(routed.tester.mac, routed.router_near.mac, routed.tester.ip, FAR_DST, ttl=ttl, sport=sport)


@case("RT-FWD-TTL-DECREMENT", title="Forwarded datagram has its TTL decremented", rfc=1812, section="5.3.1", level=MUST, layer=3)
def test_forwarded_datagram_has_ttl_decremented(routed):
    """A router reduces the TTL of every datagram it forwards by at least one.

    RFC 1812 5.3.1 (and 4.2.2.9: "each router is required to reduce the TTL field by at least
    one"); a router that holds a datagram longer MAY take off more, so any TTL below 64 passes.
    """
    routed.tester.send(_to_far(routed, 64, 41001))
    fwd = routed.far.expect(udp_like(routed.tester.ip, FAR_DST, sport=41001))
    assert fwd[IP].ttl < 64, (
        f"RFC 1812 5.3.1: the TTL must be reduced by at least one on forward (sent 64); it left with {fwd[IP].ttl}"
    )


@case("RT-FWD-TTL2-FORWARDED", title="TTL two datagram is forwarded with TTL one", rfc=1812, section="5.3.1", level=MUST, layer=3)
def test_ttl_two_datagram_is_forwarded_with_ttl_one(routed):
    """A datagram received with TTL 2 is still forwarded, leaving with TTL 1: only a TTL reduced
    to zero makes the router discard it."""
    routed.tester.send(_to_far(routed, 2, 41007))
    fwd = routed.far.expect(udp_like(routed.tester.ip, FAR_DST, sport=41007))
    assert fwd[IP].ttl == 1, f"RFC 1812 5.3.1: a TTL of 2 must leave as 1; it left with {fwd[IP].ttl}"


@case("RT-FWD-CHECKSUM-UPDATE", rfc=791, section="3.1", level=MUST, layer=3, also=(1812,))
def test_forwarded_datagram_has_valid_header_checksum(routed):
    """The header checksum of a forwarded datagram is recomputed for the changed TTL, so it is
    valid on the next link."""
    routed.tester.send(_to_far(routed, 64, 41002))
    fwd = routed.far.expect(udp_like(routed.tester.ip, FAR_DST, sport=41002))
    header = bytearray(bytes(fwd[IP])[: fwd[IP].ihl * 4])
    sent = fwd[IP].chksum
    header[10:12] = b"\x00\x00"
    want = checksum(bytes(header))
    assert sent == want, (
        f"RFC 791 3.1: the checksum is recomputed where the header changes (TTL); the forwarded header "
        f"carries {sent:#06x}, the correct value is {want:#06x}"
    )


@case("RT-FWD-TTL1-TIME-EXCEEDED", title="TTL one yields Time Exceeded in transit", rfc=1812, section="5.2.7.3", level=MUST, layer=3, also=(792,))
def test_ttl_one_yields_time_exceeded_in_transit(routed):
    """A datagram that would have to be forwarded with TTL 1 is answered with ICMP Time Exceeded,
    code 0 (in transit), to its source, quoting the datagram."""
    err = routed.tester.exchange(
        _to_far(routed, 1, 41003),
        expect=like(IP(dst=routed.tester.ip) / ICMP(type=11) / IPerror(dst=FAR_DST) / UDPerror(sport=41003)),
    )
    assert err[ICMP].code == 0, f"RFC 1812 5.2.7.3: the Time Exceeded code must be 0 (in transit), not {err[ICMP].code}"


@case("RT-FWD-TTL0-TIME-EXCEEDED", title="TTL zero yields Time Exceeded in transit", rfc=1812, section="5.3.1", level=MUST, layer=3)
def test_ttl_zero_yields_time_exceeded_in_transit(routed):
    """A datagram received with TTL 0 that would have to be forwarded is discarded and answered
    with ICMP Time Exceeded, code 0: its TTL is reduced to zero or less."""
    err = routed.tester.exchange(
        _to_far(routed, 0, 41006),
        expect=like(IP(dst=routed.tester.ip) / ICMP(type=11) / IPerror(dst=FAR_DST) / UDPerror(sport=41006)),
    )
    assert err[ICMP].code == 0, f"RFC 1812 5.3.1: the Time Exceeded code must be 0 (in transit), not {err[ICMP].code}"


@case("RT-FWD-TTL1-NOT-FORWARDED", title="TTL one datagram is not forwarded", rfc=1812, section="5.3.1", level=MUST, layer=3)
def test_ttl_one_datagram_is_not_forwarded(routed):
    """A datagram received with TTL 1 for another host is discarded, not forwarded with TTL 0."""
    routed.tester.send(_to_far(routed, 1, 41004))
    routed.far.expect_none(udp_like(routed.tester.ip, FAR_DST, sport=41004))


@case("RT-FWD-TTL0-NOT-FORWARDED", title="TTL zero datagram is not forwarded", rfc=1812, section="4.2.2.9", level=MUST, layer=3)
def test_ttl_zero_datagram_is_not_forwarded(routed):
    """A router never forwards a datagram with TTL 0, including one that arrived with TTL 0."""
    routed.tester.send(_to_far(routed, 0, 41005))
    routed.far.expect_none(udp_like(routed.tester.ip, FAR_DST, sport=41005))


@case("RT-FWD-TTL1-LOCAL-DELIVERY", title="TTL one datagram to the router is received", rfc=1812, section="4.2.2.9", level=MUST, layer=3)
def test_ttl_one_datagram_to_router_is_received(routed):
    """A datagram with TTL 1 addressed to the router itself is received, not discarded: the TTL is
    checked only when forwarding.

    The tester sends an echo request with TTL 1 to the router's far-side address 198.18.2.1.
    """
    reply = routed.tester.exchange(
        Ether(src=routed.tester.mac, dst=routed.router_near.mac)
        / IP(src=routed.tester.ip, dst=routed.router_far.ip, ttl=1) / ICMP(type="echo-request", id=0x7711, seq=1),
        expect=like(IP(dst=routed.tester.ip) / ICMP(id=0x7711)),
    )
    assert reply[ICMP].type == 0, (
        f"RFC 1812 4.2.2.9: a TTL-1 datagram to the router MUST be received, so the echo is answered; "
        f"got ICMP type {reply[ICMP].type} code {reply[ICMP].code} instead"
    )
