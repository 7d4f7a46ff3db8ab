"""UDP checksums (RFC 768 "Fields", RFC 1122 4.1.3.4).

RFC 768 predates RFC 2119 and has no requirement keywords; the cases that cite it read its
definitions of the header fields as MUST (a datagram is what its fields say it is).
"""

import socket

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from cases.udp.delivery import counter_changes, establish_port_unreachable, held_before_fence, receive
from cases.udp.frames import (
    CLOSED_PORT,
    SUT_PORT,
    TESTER_PORT,
    from_sut,
    icmp_from_sut,
    payload_summing_to_zero_checksum,
    to_sut,
    udp_checksum_ok,
    with_bad_checksum,
)
from conformance.catalog import MAY, MUST, case

SO_NO_CHECK = 11  # Linux <asm-generic/socket.h>; Python's socket module does not export it


@case("UDP-CSUM-ZERO-ACCEPTED", rfc=768, section="Fields", level=MUST, layer=4, also=(1122,),
      needs=("sockets",))
def test_zero_checksum_means_none_and_is_delivered(lan):
    """A datagram whose checksum field is zero, meaning the sender generated no checksum, is delivered.

    RFC 768: an all-zero checksum means the transmitter generated none; RFC 1122 4.1.3.4
    discards only checksums that are non-zero and invalid (discarding checksum-less datagrams
    is at most an option an application MAY ask for, not the default).
    """
    sock = lan.app.udp(SUT_PORT)
    lan.tester.send(to_sut(lan, b"sent without checksum", udp={"chksum": 0}))
    data = receive(sock, "RFC 768 says a zero checksum means none was generated, so the datagram must be delivered")
    assert data == b"sent without checksum", f"the application must read the datagram's data; it read {data!r}"


@case("UDP-CSUM-BAD-DISCARDED", rfc=1122, section="4.1.3.4", level=MUST, layer=4, needs=("sockets", "counters"))
def test_bad_checksum_is_discarded(lan):
    """A datagram with a non-zero, invalid checksum is discarded, never delivered to the application.

    Oracles: what the SUT's socket holds once a valid fence datagram is in, and the SUT's
    Udp counters (the bad datagram is counted in InCsumErrors, not InDatagrams).
    """
    sock = lan.app.udp(SUT_PORT)
    before = lan.control.counters("snmp")
    lan.tester.send(with_bad_checksum(to_sut(lan, b"corrupted on the way")))
    held = held_before_fence(lan, sock)
    changes = counter_changes(before, lan.control.counters("snmp"))
    assert held == [], (
        f"RFC 1122 4.1.3.4: a datagram with a non-zero invalid checksum MUST be discarded; the "
        f"application read {held!r} (Udp counters changed: {changes})"
    )
    assert changes.get("Udp.InDatagrams", 0) == 1, (
        f"only the fence datagram may be counted as delivered; Udp counters changed: {changes}"
    )


@case("UDP-CSUM-BAD-SILENT", rfc=1122, section="4.1.3.4", level=MUST, layer=4)
def test_bad_checksum_to_closed_port_is_discarded_silently(lan):
    """A datagram with an invalid checksum is discarded silently: not even a closed port answers it.

    The datagram goes to a port nobody listens on: had the SUT accepted it, RFC 1122 4.1.3.1
    would have it send a Port Unreachable; a silent discard sends nothing. The SUT is first
    shown to answer an intact datagram to that port, or nothing could be judged.
    """
    establish_port_unreachable(lan)
    lan.tester.send(with_bad_checksum(to_sut(lan, b"corrupted on the way", dport=CLOSED_PORT)))
    lan.tester.expect_none(icmp_from_sut(lan, 3, name="any ICMP destination unreachable from the SUT"))


@case("UDP-CSUM-TX-DEFAULT-ON", rfc=1122, section="4.1.3.4", level=MUST, layer=4, needs=("sockets",),
      title="SUT sends a correct checksum by default")
def test_sut_sends_correct_checksum_by_default(lan):
    """The SUT generates a UDP checksum by default, and it is correct.

    RFC 1122 4.1.3.4: a host MUST implement checksum generation and MUST default to
    checksumming on. Transmit checksum offload is off on the SUT's interface, so the checksum
    the tester sees is the one the SUT computed.
    """
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    sock.send(b"checksummed by default")
    dgram = lan.tester.expect(from_sut(lan))
    assert dgram[UDP].chksum != 0, "RFC 1122 4.1.3.4: checksumming MUST be on by default, but the checksum field was zero"
    assert udp_checksum_ok(dgram[IP]), f"the UDP checksum {dgram[UDP].chksum:#06x} must be correct, and it does not verify"


@case("UDP-CSUM-TX-ALL-ONES", rfc=768, section="Fields", level=MUST, layer=4, also=(1122,), needs=("sockets",))
def test_computed_zero_checksum_is_sent_as_all_ones(lan):
    """A checksum that computes to zero is transmitted as all ones, since zero means "no checksum".

    The data is chosen so that the datagram's checksum computes to zero between the two
    endpoints; RFC 768 (and RFC 1122 4.1.3.4 IMPLEMENTATION) wants 0xFFFF on the wire.
    """
    data = payload_summing_to_zero_checksum(lan.sut.ip, lan.tester.ip, SUT_PORT, TESTER_PORT, 32)
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    sock.send(data)
    dgram = lan.tester.expect(from_sut(lan))
    assert dgram[UDP].chksum == 0xFFFF, (
        f"RFC 768: a computed checksum of zero is transmitted as all ones (0xffff); the SUT sent {dgram[UDP].chksum:#06x}"
    )


@case("UDP-CSUM-RX-ALL-ONES", rfc=768, section="Fields", level=MUST, layer=4, also=(1122,), needs=("sockets",))
def test_all_ones_checksum_is_accepted(lan):
    """A datagram carrying the checksum 0xFFFF for a sum that computes to zero is valid and delivered.

    RFC 1122 4.1.3.4 IMPLEMENTATION: no special action is required at the receiver, since zero
    and 0xFFFF are equivalent in one's complement arithmetic.
    """
    data = payload_summing_to_zero_checksum(lan.tester.ip, lan.sut.ip, TESTER_PORT, SUT_PORT, 32)
    frame = to_sut(lan, data)
    if Ether(bytes(frame))[UDP].chksum != 0xFFFF:
        raise RuntimeError("the crafted datagram's checksum is not 0xffff: the case's arithmetic is wrong")
    sock = lan.app.udp(SUT_PORT)
    lan.tester.send(frame)
    got = receive(sock, "a datagram with the all-ones checksum of a zero sum is valid and must be delivered")
    assert got == data, f"the application must read the datagram's data; it read {got!r}"


@case("UDP-CSUM-COVERS-PSEUDO-HEADER", rfc=768, section="Fields", level=MUST, layer=4, also=(1122,),
      needs=("sockets",))
def test_checksum_for_another_destination_is_discarded(lan):
    """A datagram whose checksum was computed for another destination address fails the check over the pseudo-header and is discarded.

    RFC 768: the checksum covers a pseudo-header with the source and destination addresses,
    which protects against misrouted datagrams; the header and data here are intact, only the
    address the checksum was computed for (198.18.0.77) differs from the one it arrived at.
    """
    data = b"meant for another host"
    misrouted = IP(src=lan.tester.ip, dst="198.18.0.77") / UDP(sport=TESTER_PORT, dport=SUT_PORT) / data
    chksum = IP(bytes(misrouted))[UDP].chksum
    sock = lan.app.udp(SUT_PORT)
    lan.tester.send(to_sut(lan, data, udp={"chksum": chksum}))
    held = held_before_fence(lan, sock)
    assert held == [], (
        "RFC 768 / RFC 1122 4.1.3.4: the checksum covers the pseudo-header, so a checksum computed for another "
        f"destination is invalid here and the datagram MUST be discarded; the application read {held!r}"
    )


@case("UDP-CSUM-TX-APPLICATION-OFF", rfc=1122, section="4.1.3.4", level=MAY, layer=4, needs=("sockets",))
def test_application_may_turn_checksum_off(lan):
    """An application may ask for its datagrams to be sent without a checksum; they then carry zero in the checksum field.

    The SUT's socket option for it is SO_NO_CHECK; a SUT without the option fails this MAY.
    """
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_NO_CHECK, 1)
    except OSError as exc:
        raise AssertionError(f"the SUT offers no way to turn the checksum off ({exc}); RFC 1122 4.1.3.4 makes it a MAY") from None
    sock.send(b"sent without checksum")
    dgram = lan.tester.expect(from_sut(lan))
    assert dgram[UDP].chksum == 0, (
        f"with checksumming turned off the checksum field must be zero (no checksum); it was {dgram[UDP].chksum:#06x}"
    )
