"""IPv4 header validation on receive: version, IHL, total length, checksum (RFC 791 3.1,
RFC 1122 3.2.1.1-3.2.1.2, RFC 1812 5.2.2).

RFC 791 predates requirement keywords; the case citing it reads its definition of Total Length
as MUST. RFC 1122 states no header-length checks for hosts; the cases for them cite the
validity checks RFC 1812 5.2.2 makes before any IP packet is processed, which a host needs as
much as a router.
RFC 1812 5.2.2 lets the SUT answer some of these invalid headers with a Parameter Problem (MAY
when the IHL or Total Length test fails, SHOULD for a truncated datagram), so those cases forbid
any answer but that one.
"""

from scapy.layers.inet import ICMP, IP

from cases.ipv4.frames import (
    SUT_PORT,
    any_icmp_from_sut,
    counter_delta,
    echo_data,
    echo_datagram,
    echo_reply,
    ether,
    header_checksum,
    icmp_from_sut_but_parameter_problem,
    ip_like,
    next_ident,
    not_delivered,
    udp_datagram,
)
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like
from conformance.verdict import Inconclusive


@case("IP4-VERSION-NOT-4", rfc=1122, section="3.2.1.1", level=MUST, layer=3, also=(791,))
def test_version_other_than_4_is_silently_discarded(lan):
    """A datagram whose version number is not 4 is silently discarded.

    An otherwise valid Echo Request (valid checksum over the header as sent) carries version 5
    in an Ethernet frame of type 0x0800; neither an Echo Reply nor any ICMP error may come back.
    The check ends on its control: the same request with version 4 (sequence number 2), which
    must be answered, so the silence is about the version alone.
    """
    ident = next_ident()
    data = echo_data(32, ident)
    lan.tester.send(ether(lan, echo_datagram(lan, ident, data, version=5)))

    def same_request_with_version_4():
        answer = like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / ICMP(type="echo-reply", id=ident, seq=2),
                      name=f"the Echo Reply id={ident:#x} seq=2 to the same request with version 4 (the control)")
        return ether(lan, echo_datagram(lan, ident, data, seq=2)), answer

    lan.tester.expect_none(any_icmp_from_sut(lan, "RFC 1122 3.2.1.1: a version other than 4 MUST be silently discarded"),
                           fence=same_request_with_version_4)


@case("IP4-IHL-BELOW-5", rfc=1812, section="5.2.2", level=MUST, layer=3, needs=("counters",), also=(791,))
def test_header_length_below_five_words_is_discarded(lan):
    """A datagram whose IHL is below 5 (a header shorter than the 20-octet minimum) is discarded.

    RFC 1812 5.2.2 lists the checks every IP header must pass before it is processed; "the IP
    header length field must be large enough to hold the minimum length legal IP datagram (20
    bytes = 5 words)" is one of them. An Echo Request with IHL 4 and a checksum over its first
    16 octets must draw no answer but (as 5.2.2 allows) a Parameter Problem. The SUT's count of
    header errors must show the datagram reached IP and was refused there, or the silence
    proves nothing (INCONCLUSIVE); counting is not itself the requirement.
    """
    ident = next_ident()
    datagram = bytearray(echo_datagram(lan, ident))
    datagram[0] = 0x44
    datagram[10:12] = b"\x00\x00"
    datagram[10:12] = header_checksum(bytes(datagram)).to_bytes(2, "big")
    before = lan.control.counters()
    lan.tester.send(ether(lan, bytes(datagram)))
    lan.tester.expect_none(icmp_from_sut_but_parameter_problem(lan, "RFC 1812 5.2.2: a header with IHL < 5 is invalid and MUST be discarded"))
    errors = counter_delta(before, lan.control.counters(), "Ip.InHdrErrors")
    if errors != 1:
        raise Inconclusive(f"Ip.InHdrErrors moved by {errors}, not 1, so the silence cannot be shown to be the discard of the IHL-4 datagram")


@case("IP4-TOTLEN-BEYOND-FRAME", rfc=1812, section="5.2.2", level=SHOULD, layer=3, also=(791,))
def test_total_length_longer_than_frame_is_discarded(lan):
    """A datagram whose Total Length is larger than the data the link layer delivered is discarded.

    RFC 1812 5.2.2: the router SHOULD verify that the packet length reported by the link layer
    is at least the IP Total Length; a packet that appears truncated MUST be discarded (and
    SHOULD draw a Parameter Problem). As the check itself is a SHOULD, so is the case. The Echo
    Request claims 40 octets more than the frame carries; no reply (which would have to invent
    data) may come back, and no ICMP message but a Parameter Problem.
    """
    ident = next_ident()
    good = echo_datagram(lan, ident)
    lan.tester.send(ether(lan, echo_datagram(lan, ident, total_length=len(good) + 40)))
    lan.tester.expect_none(icmp_from_sut_but_parameter_problem(lan, "RFC 1812 5.2.2: a truncated datagram MUST be discarded"))


@case("IP4-TOTLEN-BELOW-HEADER", rfc=1812, section="5.2.2", level=MUST, layer=3, also=(791,))
def test_total_length_shorter_than_header_is_discarded(lan):
    """A datagram whose Total Length is smaller than its own header length is discarded.

    RFC 1812 5.2.2: "the IP total length field is large enough to hold the IP datagram header,
    whose length is specified in the IP header length field". Total Length 16 with IHL 5: no
    answer may come back but (as 5.2.2 allows) a Parameter Problem.
    """
    ident = next_ident()
    lan.tester.send(ether(lan, echo_datagram(lan, ident, total_length=16)))
    lan.tester.expect_none(icmp_from_sut_but_parameter_problem(lan, "RFC 1812 5.2.2: total length below the header length MUST be discarded"))


@case("IP4-TOTLEN-PADDING-IGNORED", rfc=791, section="3.1", level=MUST, layer=3, also=(894, 1122))
def test_octets_beyond_total_length_are_ignored(lan):
    """Octets of a frame beyond the datagram's Total Length are link-layer padding, not datagram data.

    The Echo Request's frame carries 24 extra octets after the datagram; the SUT must accept
    the datagram and its Echo Reply must return exactly the request's data, without the padding.
    """
    ident = next_ident()
    data = echo_data(40, ident)
    frame = ether(lan, echo_datagram(lan, ident, data)) + b"\xa5" * 24
    reply = lan.tester.exchange(frame, expect=echo_reply(lan, ident))
    got = bytes(reply[ICMP])[8 : reply[IP].len - reply[IP].ihl * 4]
    assert got == data, (
        f"Total Length delimits the datagram: the reply must return the {len(data)} data octets, "
        f"it returned {len(got)} ({got[-8:].hex()} at the end)"
    )


@case("IP4-CHECKSUM-BAD", rfc=1122, section="3.2.1.2", level=MUST, layer=3, needs=("sockets", "counters"), also=(791,))
def test_bad_header_checksum_is_silently_discarded(lan):
    """A host verifies the header checksum of every received datagram and silently discards a datagram whose checksum is bad.

    A UDP datagram to an open socket on the SUT carries a wrong header checksum: the socket must
    receive nothing and no ICMP message may come back; the SUT's IpExt.InCsumErrors counter must
    show the checksum was the reason, or the case is INCONCLUSIVE (counting is not itself the
    requirement).
    """
    sock = lan.app.udp(SUT_PORT)
    good = udp_datagram(lan, b"bad header checksum")
    wrong = header_checksum(good) ^ 0x0101
    before = lan.control.counters("netstat")
    lan.tester.send(ether(lan, udp_datagram(lan, b"bad header checksum", chksum=wrong)))
    not_delivered(lan, sock, "RFC 1122 3.2.1.2: a datagram with a bad header checksum MUST be silently discarded")
    moved = counter_delta(before, lan.control.counters("netstat"), "IpExt.InCsumErrors")
    if moved != 1:
        raise Inconclusive(f"IpExt.InCsumErrors moved by {moved}, not 1, so the discard cannot be shown to be for the bad checksum")



@case("IP4-FRAME-SHORTER-THAN-HEADER", rfc=1812, section="5.2.2", level=MUST, layer=3, needs=("counters",), also=(791,))
def test_frame_too_short_for_minimal_header_is_discarded(lan):
    """A frame whose IPv4 part is shorter than the 20-octet minimum header is discarded.

    RFC 1812 5.2.2: "The packet length reported by the Link Layer must be large enough to hold
    the minimum length legal IP datagram (20 bytes)." The frame carries only the first 16
    octets of an Echo Request's header; nothing may come back, and the SUT's count of header
    errors must show it reached IP, or the case is INCONCLUSIVE.
    """
    ident = next_ident()
    before = lan.control.counters()
    lan.tester.send(ether(lan, echo_datagram(lan, ident)[:16]))
    lan.tester.expect_none(any_icmp_from_sut(lan, "RFC 1812 5.2.2: a datagram shorter than 20 octets must be discarded"))
    errors = counter_delta(before, lan.control.counters(), "Ip.InHdrErrors")
    if errors != 1:
        raise Inconclusive(f"Ip.InHdrErrors moved by {errors}, not 1, so the silence cannot be shown to be the discard of the 16-octet datagram")
