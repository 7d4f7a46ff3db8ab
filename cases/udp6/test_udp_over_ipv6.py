"""UDP over IPv6 (RFC 8200 8.1, RFC 768, RFC 1122 4.1.3.4): the checksum is not optional over
IPv6, it covers the IPv6 pseudo-header, and a computed zero travels as 0xFFFF.

RFC 8200 8.1: "Unlike IPv4, the default behavior when UDP packets are originated by an IPv6 node
is that the UDP checksum is not optional. That is, whenever originating a UDP packet, an IPv6
node must compute a UDP checksum over the packet and the pseudo-header, and, if that computation
yields a result of zero, it must be changed to hex FFFF for placement in the UDP header. IPv6
receivers must discard UDP packets containing a zero checksum and should log the error." (RFC
6935 and 6936 let a tunnel protocol, on ports configured for it, do without; no such port is
used here.) Its lower-case "must" is read as MUST (cases/ipv6/test_header.py).
"""

import struct

from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from cases.ipv6.frames import (
    NH_UDP,
    SUT_PORT,
    TESTER_PORT,
    checksum,
    counter_delta,
    not_delivered,
    packet_bytes,
    pseudo_header,
    to_sut,
)
from conformance.catalog import MUST, case
from conformance.match import like
from conformance.verdict import Inconclusive


def datagram(lan6, data: bytes, chksum: int) -> bytes:
    """A UDP datagram from the tester to the SUT's socket with the given checksum field."""
    header = struct.pack("!HHHH", TESTER_PORT, SUT_PORT, 8 + len(data), chksum)
    return to_sut(lan6, packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_UDP, header + data))


def right_checksum(lan6, data: bytes, *, dst: str | None = None) -> int:
    header = struct.pack("!HHHH", TESTER_PORT, SUT_PORT, 8 + len(data), 0)
    value = checksum(pseudo_header(lan6.tester.ip6, dst or lan6.sut.ip, 8 + len(data), NH_UDP) + header + data)
    return value or 0xFFFF


def data_summing_to_zero(lan6, sport: int, dport: int, src: str, dst: str) -> bytes:
    """16 octets of data chosen so that the UDP checksum computes to zero (its last two octets
    bring the one's complement sum to all ones)."""
    head = b"computed zero!"
    partial = (pseudo_header(src, dst, 8 + 16, NH_UDP) + struct.pack("!HHHH", sport, dport, 8 + 16, 0) + head)
    need = checksum(partial + b"\x00\x00")  # the one's complement of the sum so far
    return head + need.to_bytes(2, "big")


@case("UDP6-ZERO-CHECKSUM-DISCARDED", title="UDP datagram with a zero checksum is discarded", rfc=8200, section="8.1", level=MUST, layer=4, needs=("sockets",))
def test_udp_datagram_with_zero_checksum_is_discarded(lan6):
    """A UDP datagram over IPv6 whose checksum field is zero is discarded, not delivered.

    RFC 8200 8.1: "IPv6 receivers must discard UDP packets containing a zero checksum". A
    datagram to an open socket with checksum 0; the socket must not receive it (a valid datagram
    sent after it must be the first thing it reads).
    """
    sock = lan6.app.udp(SUT_PORT)
    not_delivered(lan6, sock, datagram(lan6, b"no checksum", 0), "a UDP datagram with a zero checksum must be discarded")


@case("UDP6-BAD-CHECKSUM-DISCARDED", title="UDP datagram with a wrong checksum is discarded", rfc=1122, section="4.1.3.4", level=MUST, layer=4, needs=("sockets",), also=(8200,))
def test_udp_datagram_with_a_wrong_checksum_is_discarded(lan6):
    """A UDP datagram over IPv6 with a non-zero, wrong checksum is silently discarded.

    RFC 1122 4.1.3.4: "If a UDP datagram is received with a checksum that is non-zero and
    invalid, UDP MUST silently discard the datagram." The checksum is off by one.
    """
    sock = lan6.app.udp(SUT_PORT)
    data = b"wrong checksum"
    wrong = (right_checksum(lan6, data) + 1) & 0xFFFF or 1
    not_delivered(lan6, sock, datagram(lan6, data, wrong), "a UDP datagram with a wrong checksum must be discarded")


@case("UDP6-CHECKSUM-PSEUDO-HEADER", title="UDP checksum covers the IPv6 pseudo-header", rfc=8200, section="8.1", level=MUST, layer=4, needs=("sockets", "counters"), also=(1122,))
def test_udp_checksum_must_cover_the_ipv6_pseudo_header(lan6):
    """A UDP datagram whose checksum is right only for another IPv6 pseudo-header is discarded.

    RFC 8200 8.1: the checksum covers a pseudo-header of the 128-bit source and destination
    addresses. The datagram's checksum was computed for destination 2001:db8::99; it must not be
    delivered, and Udp6.InCsumErrors must count it (else INCONCLUSIVE).
    """
    sock = lan6.app.udp(SUT_PORT)
    data = b"checksum for another destination"
    before = lan6.control.counters("snmp6")
    not_delivered(lan6, sock, datagram(lan6, data, right_checksum(lan6, data, dst="2001:db8::99")),
                  "a UDP datagram whose checksum covers another pseudo-header must be discarded")
    if counter_delta(before, lan6.control.counters("snmp6"), "Udp6.InCsumErrors") < 1:
        raise Inconclusive("the datagram was not delivered, but Udp6.InCsumErrors did not count it")


@case("UDP6-CHECKSUM-FFFF-ACCEPTED", title="UDP datagram whose checksum computes to zero is accepted as FFFF", rfc=8200, section="8.1", level=MUST, layer=4, needs=("sockets",), also=(768,))
def test_udp_datagram_whose_checksum_computes_to_zero_is_accepted_as_ffff(lan6):
    """A UDP datagram whose checksum computes to zero, sent as 0xFFFF, is accepted and delivered.

    RFC 8200 8.1: a computed zero "must be changed to hex FFFF for placement in the UDP header";
    a receiver that took 0xFFFF as wrong would lose such datagrams. Data chosen so the checksum
    computes to zero, field 0xFFFF: the socket must receive it.
    """
    sock = lan6.app.udp(SUT_PORT)
    data = data_summing_to_zero(lan6, TESTER_PORT, SUT_PORT, lan6.tester.ip6, lan6.sut.ip)
    assert right_checksum(lan6, data) == 0xFFFF, "the test data must make the checksum compute to zero"
    lan6.tester.send(datagram(lan6, data, 0xFFFF))
    try:
        got = sock.recv()
    except TimeoutError:
        raise AssertionError("a datagram whose checksum computes to zero, carried as 0xFFFF, must be delivered; the socket "
                             "received nothing") from None
    assert got == data, f"the socket must receive the datagram's data; it received {got!r}"


@case("UDP6-SUT-CHECKSUM-ZERO-AS-FFFF", title="SUT sends a computed zero checksum as FFFF", rfc=8200, section="8.1", level=MUST, layer=4, needs=("sockets",), also=(768,))
def test_sut_sends_a_computed_zero_checksum_as_ffff(lan6):
    """A node whose UDP checksum over IPv6 computes to zero sends it as 0xFFFF, never as zero.

    RFC 8200 8.1 (as above). The SUT's socket (port 7600) sends, to the tester's port 7601, 16
    octets chosen so that the checksum computes to zero: the field must read 0xFFFF.
    """
    sock = lan6.app.udp(SUT_PORT, connect=(lan6.tester.ip6, TESTER_PORT))
    data = data_summing_to_zero(lan6, SUT_PORT, TESTER_PORT, lan6.sut.ip, lan6.tester.ip6)
    sock.send(data)
    got = lan6.tester.expect(like(IPv6(src=lan6.sut.ip, dst=lan6.tester.ip6) / UDP(sport=SUT_PORT, dport=TESTER_PORT) / Raw(data),
                                  name="the SUT's datagram"))
    assert got[UDP].chksum == 0xFFFF, f"a checksum that computes to zero must be sent as 0xffff; it was sent as {got[UDP].chksum:#06x}"
