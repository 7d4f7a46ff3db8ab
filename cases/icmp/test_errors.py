"""ICMP error messages the SUT generates, and what they carry (RFC 792, RFC 1122 3.2.2,
RFC 1812 4.3.2)."""

from scapy.layers.inet import ICMP, IP, IPOption_NOP, IPOption_RR
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from cases.icmp.frames import error_about, ip_bytes, ip_like, next_ident, quoted, udp_datagram, unreachable
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like

PORT_UNREACHABLE, PROTOCOL_UNREACHABLE, FRAGMENTATION_NEEDED = 3, 2, 4
UNKNOWN_PROTOCOL = 253  # reserved for experimentation (RFC 3692); no stack handles it by default


@case("ICMP-PROTO-UNREACH", title="Unknown protocol gets Protocol Unreachable", rfc=1122, section="3.2.2.1", level=SHOULD, layer=3, also=(792,))
def test_unknown_protocol_gets_protocol_unreachable(lan):
    """A datagram for a transport protocol the SUT does not support is answered with Destination Unreachable, code 2 (protocol)."""
    ident = next_ident()
    frame = Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(
        src=lan.tester.ip, dst=lan.sut.ip, proto=UNKNOWN_PROTOCOL, id=ident
    ) / Raw(b"\x00" * 16)
    error = lan.tester.exchange(frame, expect=unreachable(lan.sut.ip, lan.tester.ip))
    assert error[ICMP].code == PROTOCOL_UNREACHABLE, f"the code must be 2 (protocol unreachable), it was {error[ICMP].code}"


@case("ICMP-ERR-QUOTE", rfc=1122, section="3.2.2", level=MUST, layer=3, also=(792,))
def test_error_quotes_header_and_eight_octets_unchanged(lan):
    """An ICMP error quotes the offending datagram's IP header and at least its first 8 data octets, unchanged from what was received."""
    sent = udp_datagram(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, data=bytes(range(100)))
    error = error_about(lan.tester, sent, unreachable(lan.sut.ip, lan.tester.ip))
    original, quote = ip_bytes(sent), quoted(error)
    assert len(quote) >= 28, f"the quote must hold the 20-octet header and 8 data octets; it held {len(quote)} octets"
    assert quote == original[: len(quote)], (
        "the quoted header and data must be identical to the received datagram; "
        f"sent {original[:28].hex()}, quoted {quote[:28].hex()}"
    )


@case("ICMP-ERR-QUOTE-OPTIONS", rfc=1122, section="3.2.2", level=MUST, layer=3)
def test_error_quotes_whole_header_with_options(lan):
    """An ICMP error about a datagram with IP options quotes its whole header, options included, and 8 data octets after it, unchanged.

    The datagram carries four No-Operation options (IHL 6), which the SUT has no reason to alter.
    """
    options = [IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_NOP()]
    sent = udp_datagram(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, options=options, data=bytes(range(64)))
    error = error_about(lan.tester, sent, unreachable(lan.sut.ip, lan.tester.ip))
    original, quote = ip_bytes(sent), quoted(error)
    assert len(quote) >= 24 + 8, f"the quote must hold the 24-octet header with its options and 8 data octets; it held {len(quote)}"
    assert quote == original[: len(quote)], (
        f"the quote must be the received datagram unchanged; sent {original[:32].hex()}, quoted {quote[:32].hex()}"
    )


@case("ICMP-ERR-QUOTE-RECORD-ROUTE", title="Error quotes a Record Route option as received", rfc=1122, section="3.2.2", level=MUST, layer=3)
def test_error_quotes_record_route_as_received(lan):
    """An ICMP error about a datagram with a Record Route option quotes that header as it was received, not as the SUT updated it.

    The datagram carries an empty Record Route option with room for two addresses.
    """
    options = [IPOption_RR(pointer=4, routers=["0.0.0.0", "0.0.0.0"])]
    sent = udp_datagram(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, options=options, data=bytes(range(32)))
    error = error_about(lan.tester, sent, unreachable(lan.sut.ip, lan.tester.ip))
    original, quote = ip_bytes(sent), quoted(error)
    header = (original[0] & 0x0F) * 4
    assert len(quote) >= header + 8, f"the quote must hold the {header}-octet header and 8 data octets; it held {len(quote)}"
    assert quote[:header] == original[:header], (
        f"the quoted header must be the one received; sent {original[:header].hex()}, quoted {quote[:header].hex()}"
    )


@case("ICMP-ERR-UNUSED-ZERO", rfc=792, section="Message Formats", level=MUST, layer=3, also=(4884, 1191))
def test_destination_unreachable_unused_field_is_zero(lan):
    """The unused second word of a Destination Unreachable message is zero, as no extension follows the quote.

    RFC 792 "Message Formats": any field labeled "unused" is reserved for later extensions and
    must be zero when sent; the lower-case "must" of this pre-RFC 2119 text is read as MUST.
    The stimulus is a short UDP datagram to a closed port; whatever Destination Unreachable the
    SUT sends about it (Port Unreachable is usual, but the code is not what this case judges)
    must have the word zero, except for the Next-Hop MTU of code 4 (RFC 1191), which is not
    unused. The datagram is short, so no RFC 4884 extension (which would set octet 5) belongs
    after its quote. A SUT that sends no Destination Unreachable at all leaves nothing to judge:
    INCONCLUSIVE (UDP-CLOSED-PORT-UNREACHABLE judges that).
    """
    error = error_about(lan.tester, udp_datagram(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip),
                        unreachable(lan.sut.ip, lan.tester.ip))
    word = bytes(error[ICMP])[4:8]
    unused = word[:2] if error[ICMP].code == FRAGMENTATION_NEEDED else word
    assert unused == bytes(len(unused)), (
        f"the unused octets of the Destination Unreachable (code {error[ICMP].code}) header must be zero when sent; "
        f"octets 4-7 were {word.hex()}"
    )


@case("ICMP-ERR-QUOTE-576", title="Router error quotes as much as fits in 576 octets", rfc=1812, section="4.3.2.3", level=SHOULD, layer=3)
def test_router_error_quotes_as_much_as_fits_in_576(routed):
    """A router's ICMP error contains as much of the offending datagram as fits without the error exceeding 576 octets.

    A 1028-octet UDP datagram to a closed port of the router: the error must be exactly 576
    octets long (20 IP + 8 ICMP + 548 quoted), the quote identical to what was sent.
    """
    sent = udp_datagram(routed.tester.mac, routed.router_near.mac, routed.tester.ip, routed.router_near.ip,
                        data=bytes(i % 256 for i in range(1000)))
    error = error_about(routed.tester, sent, unreachable(routed.router_near.ip, routed.tester.ip))
    length, quote = error[IP].len, quoted(error)
    assert length <= 576, f"the ICMP error must not exceed 576 octets; it was {length}"
    assert len(quote) == 576 - 28 - (error[IP].ihl * 4 - 20), (
        f"the error must carry as much of the datagram as fits in 576 octets (548 octets); it quoted {len(quote)}"
    )
    assert quote == ip_bytes(sent)[: len(quote)], "the quoted part must be identical to the datagram received"


@case("ICMP-ERR-PRECEDENCE", rfc=1812, section="4.3.2.5", level=SHOULD, layer=3)
def test_router_error_has_internetwork_control_precedence(routed):
    """A router's Destination Unreachable message has IP precedence 6 (internetwork control) or 7 (network control).

    The offending datagram has precedence 0 (routine).
    """
    error = error_about(
        routed.tester,
        udp_datagram(routed.tester.mac, routed.router_near.mac, routed.tester.ip, routed.router_near.ip),
        unreachable(routed.router_near.ip, routed.tester.ip),
    )
    precedence = error[IP].tos >> 5
    assert precedence in (6, 7), f"the error's precedence must be 6 or 7; its TOS octet was {error[IP].tos:#04x} (precedence {precedence})"


@case("ICMP-ERR-SOURCE-IFACE", rfc=1812, section="4.3.2.4", level=MUST, layer=3)
def test_router_error_source_is_address_of_transmitting_interface(routed):
    """The source of an ICMP error a router originates is an address of the interface the error is sent over.

    The tester sends a UDP datagram to a closed port on the router's far-side address
    (198.18.2.1); the Port Unreachable leaves through the near interface, whose only address
    is 198.18.1.1.
    """
    error = error_about(
        routed.tester,
        udp_datagram(routed.tester.mac, routed.router_near.mac, routed.tester.ip, routed.router_far.ip),
        like(ip_like(dst=routed.tester.ip) / ICMP(type=3), name="Destination Unreachable"),
    )
    assert error[IP].src == routed.router_near.ip, (
        f"the error leaves through the interface addressed {routed.router_near.ip} and must come from that address; "
        f"it came from {error[IP].src}"
    )
