"""The UDP Length field (RFC 768 "Fields"): it, not the IP payload, delimits the datagram.

RFC 768 predates RFC 2119 and has no requirement keywords; the cases that cite it read its
definitions of the header fields as MUST (a datagram is what its fields say it is).
"""

import struct

import pytest
from scapy.layers.inet import IP, UDP
from scapy.packet import Raw

from cases.udp.delivery import counter_changes, held_before_fence, receive
from cases.udp.frames import SUT_PORT, TESTER_PORT, to_sut, with_trailer
from conformance.catalog import MUST, case


def raw_header(length: int, data: bytes) -> bytes:
    """A UDP header with the given Length and no checksum (zero), followed by `data`: no
    checksum, so the Length alone decides the datagram's fate."""
    return struct.pack("!HHHH", TESTER_PORT, SUT_PORT, length, 0) + data


@case("UDP-LEN-LONGER-DISCARDED", rfc=768, section="Fields", level=MUST, layer=4,
      needs=("sockets", "counters"))
def test_length_beyond_the_packet_is_discarded(lan):
    """A datagram whose Length claims more octets than the packet carries is not delivered.

    RFC 768: Length is the length of the datagram, header and data. A Length beyond the end
    of the IP payload describes a datagram that did not arrive whole; handing the application
    the truncated data would deliver something the sender never sent.
    """
    data = b"sixteen octets.."
    sock = lan.app.udp(SUT_PORT)
    before = lan.control.counters("snmp")
    lan.tester.send(with_trailer(lan, raw_header(8 + len(data) + 16, data)))
    held = held_before_fence(lan, sock)
    assert held == [], (
        f"RFC 768: the Length ({8 + len(data) + 16}) exceeds the {8 + len(data)} octets that arrived, so the "
        f"datagram is incomplete and must not be delivered; the application read {held!r} "
        f"(Udp counters changed: {counter_changes(before, lan.control.counters('snmp'))})"
    )


@case("UDP-LEN-SHORTER-TRAILER-NOT-DELIVERED", rfc=768, section="Fields", level=MUST, layer=4,
      needs=("sockets",))
def test_octets_beyond_length_are_not_delivered(lan):
    """Octets of the IP payload beyond the UDP Length are not part of the datagram and never reach the application.

    The datagram's checksum is correct for its Length. RFC 768 does not say whether such a
    packet is accepted: delivering exactly the Length's data, or discarding it, both keep to
    the definition; delivering the trailing octets does not.
    """
    data = b"the datagram"
    trailer = b"+junk beyond the UDP length"
    udp_bytes = bytes((IP(src=lan.tester.ip, dst=lan.sut.ip) / UDP(sport=TESTER_PORT, dport=SUT_PORT) / Raw(data))[UDP])
    sock = lan.app.udp(SUT_PORT)
    lan.tester.send(with_trailer(lan, udp_bytes + trailer))
    held = held_before_fence(lan, sock)
    assert all(d == data for d in held) and len(held) <= 1, (
        f"RFC 768: the datagram ends where its Length ({len(udp_bytes)}) says, so the application may read "
        f"{data!r} (or nothing), never the octets beyond it; it read {held!r}"
    )


@pytest.mark.parametrize("length", [0, 7])
@case("UDP-LEN-BELOW-MIN-DISCARDED", rfc=768, section="Fields", level=MUST, layer=4, needs=("sockets",))
def test_length_below_header_size_is_discarded(lan, length):
    """A datagram whose Length is less than eight, the size of the header itself, is not delivered.

    RFC 768: the Length counts the header and the data, so its minimum value is eight.
    """
    sock = lan.app.udp(SUT_PORT)
    lan.tester.send(with_trailer(lan, raw_header(length, b"data after a bad length")))
    held = held_before_fence(lan, sock)
    assert held == [], (
        f"RFC 768: the minimum Length is 8; a datagram with Length {length} is malformed and must not be "
        f"delivered, but the application read {held!r}"
    )


@case("UDP-ZERO-LENGTH-DELIVERED", rfc=768, section="Fields", level=MUST, layer=4, needs=("sockets", "counters"))
def test_datagram_without_data_is_delivered(lan):
    """A datagram with no data (Length eight) is valid and delivered to the application as an empty datagram."""
    sock = lan.app.udp(SUT_PORT)
    before = lan.control.counters("snmp")
    lan.tester.send(to_sut(lan, b""))
    got = receive(sock, "RFC 768: a datagram of Length 8 (header only) is valid and must be delivered")
    changes = counter_changes(before, lan.control.counters("snmp"))
    assert got == b"", f"the application must read an empty datagram; it read {got!r}"
    assert changes.get("Udp.InDatagrams") == 1, f"the SUT must count the datagram as delivered; Udp counters changed: {changes}"
