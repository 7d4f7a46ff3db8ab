"""Options a node does not recognise, in Hop-by-Hop and Destination Options headers (RFC 8200 4.2).

The two high-order bits of an Option Type say what a node that does not recognise it must do:
00 skip it; 01 discard the packet; 10 discard it and send a Parameter Problem, Code 2, pointing
to the option, even to a packet sent to a multicast address; 11 the same, but only if the
destination was not multicast. (RFC 8200 4.2 says "the action that must be taken"; RFC 4443
2.4 (e.3) makes the 10 case an exception to the rule against errors about multicast packets.)
The option types are RFC 4727's, for experiments: 0x1E, 0x5E, 0x9E and 0xDE.

Each action is checked in both headers: a Hop-by-Hop header is processed by the destination as
well (RFC 8200 4.3). The Parameter Problem's pointer is the offset of the option's type octet
in the packet: right after the header's two octets (offset 42) when it is the first option,
further on after a PadN in the Hop-by-Hop cases (offset 46), so a pointer to the header or to
the first option does not pass by accident.
"""

from scapy.layers.inet6 import IPv6

from cases.ipv6.frames import (
    ALL_NODES,
    ALL_NODES_MAC,
    NH_DEST_OPTS,
    NH_HOP_BY_HOP,
    NH_ICMPV6,
    OPT_DISCARD,
    OPT_PADN,
    OPT_PROBLEM,
    OPT_PROBLEM_UNLESS_MULTICAST,
    OPT_SKIP,
    PP_OPTION,
    answered,
    any_echo_reply,
    echo_message,
    echo_reply,
    next_ident,
    option,
    options_header,
    packet_bytes,
    param_problem,
    to_sut,
)
from cases.ipv6.test_extension_headers import AnyFrom, valid_echo_fence
from conformance.catalog import MUST, case
from conformance.verdict import Inconclusive

HEADERS = {"dst": NH_DEST_OPTS, "hbh": NH_HOP_BY_HOP}
PADN4 = bytes([OPT_PADN, 2, 0, 0])


def with_option(lan6, ident: int, header: str, kind: int, *, dst: str | None = None) -> tuple[bytes, int]:
    """An Echo Request behind a `header` ("dst" or "hbh") carrying the option `kind`, and the
    offset of that option's type octet in the packet."""
    dst = dst or lan6.sut.ip
    message = echo_message(lan6.tester.ip6, dst, ident, b"unrecognised option %d" % kind)
    lead = PADN4 if header == "hbh" else b""
    body = options_header(NH_ICMPV6, lead + option(kind)) + message
    return packet_bytes(lan6.tester.ip6, dst, HEADERS[header], body, hlim=255 if dst == ALL_NODES else 64), 42 + len(lead)


def skipped(lan6, header: str) -> None:
    ident = next_ident()
    packet, _ = with_option(lan6, ident, header, OPT_SKIP)
    lan6.tester.exchange(to_sut(lan6, packet), expect=echo_reply(lan6, ident))


def discarded(lan6, header: str) -> None:
    ident = next_ident()
    packet, _ = with_option(lan6, ident, header, OPT_DISCARD)
    lan6.tester.send(to_sut(lan6, packet))
    lan6.tester.expect_none(AnyFrom(lan6, ident), fence=valid_echo_fence(lan6))


def problem(lan6, header: str, kind: int) -> None:
    ident = next_ident()
    packet, pointer = with_option(lan6, ident, header, kind)
    lan6.tester.send(to_sut(lan6, packet))
    got = lan6.tester.expect(param_problem(lan6, PP_OPTION))
    assert got.ptr == pointer, (
        f"the Parameter Problem must point to the unrecognised option's type octet at offset {pointer}; it points to "
        f"{got.ptr}")
    lan6.tester.expect_none(any_echo_reply(ident), fence=valid_echo_fence(lan6))


def to_all_nodes(lan6, header: str, kind: int, ident: int) -> tuple[bytes, int]:
    packet, pointer = with_option(lan6, ident, header, kind, dst=ALL_NODES)
    return to_sut(lan6, packet, dst_mac=ALL_NODES_MAC), pointer


def problem_for_multicast(lan6, header: str) -> None:
    ident = next_ident()
    stimulus, pointer = to_all_nodes(lan6, header, OPT_PROBLEM, ident)
    lan6.tester.send(stimulus)
    got = lan6.tester.expect(param_problem(lan6, PP_OPTION))
    assert got.ptr == pointer, f"the Parameter Problem must point to offset {pointer}; it points to {got.ptr}"
    assert got[IPv6].src not in (ALL_NODES,) and not got[IPv6].src.lower().startswith("ff"), (
        f"RFC 4443 2.2 (b): an error about a packet sent to a multicast address comes from a unicast address of "
        f"the node; it came from {got[IPv6].src}")


def silent_for_multicast(lan6, header: str) -> None:
    ident = next_ident()
    stimulus, _ = to_all_nodes(lan6, header, OPT_PROBLEM_UNLESS_MULTICAST, ident)
    lan6.tester.send(stimulus)
    lan6.tester.expect_none(param_problem(lan6, PP_OPTION), fence=valid_echo_fence(lan6))
    # Positive control: the same header with a 10-type option to all-nodes draws a Parameter
    # Problem, so this SUT does report option problems in multicast packets where it may.
    control, _ = to_all_nodes(lan6, header, OPT_PROBLEM, next_ident())
    lan6.tester.send(control)
    try:
        lan6.tester.expect(param_problem(lan6, PP_OPTION))
    except AssertionError:
        raise Inconclusive("the SUT sent no Parameter Problem for a 10-type option in a packet to all-nodes either, "
                           "where it must; its silence for the 11-type option shows nothing") from None


@case("IP6-OPT-SKIP-DST", rfc=8200, section="4.2", level=MUST, layer=3)
def test_unrecognised_option_00_in_destination_options_is_skipped(lan6):
    """An unrecognised option whose type starts with bits 00, in a Destination Options header, is skipped and the packet processed.

    Option 0x1E before an Echo Request: the Echo Reply must come back.
    """
    skipped(lan6, "dst")


@case("IP6-OPT-SKIP-HBH", rfc=8200, section="4.2", level=MUST, layer=3)
def test_unrecognised_option_00_in_hop_by_hop_options_is_skipped(lan6):
    """An unrecognised option whose type starts with bits 00, in a Hop-by-Hop Options header, is skipped and the packet processed."""
    skipped(lan6, "hbh")


@case("IP6-OPT-DISCARD-DST", rfc=8200, section="4.2", level=MUST, layer=3)
def test_unrecognised_option_01_in_destination_options_discards_silently(lan6):
    """A packet with an unrecognised option whose type starts with bits 01, in a Destination Options header, is discarded without an error.

    Option 0x5E before an Echo Request: neither an Echo Reply nor any ICMPv6 error may come
    back (the fence is a plain Echo Request).
    """
    discarded(lan6, "dst")


@case("IP6-OPT-DISCARD-HBH", rfc=8200, section="4.2", level=MUST, layer=3)
def test_unrecognised_option_01_in_hop_by_hop_options_discards_silently(lan6):
    """A packet with an unrecognised option whose type starts with bits 01, in a Hop-by-Hop Options header, is discarded without an error."""
    discarded(lan6, "hbh")


@case("IP6-OPT-PROBLEM-DST", rfc=8200, section="4.2", level=MUST, layer=3, also=(4443,))
def test_unrecognised_option_10_in_destination_options_draws_parameter_problem(lan6):
    """A packet with an unrecognised option whose type starts with bits 10, in a Destination Options header, is discarded and answered with Parameter Problem code 2 pointing to the option.

    Option 0x9E, the first in the header: Parameter Problem code 2, pointer 42; no Echo Reply.
    """
    problem(lan6, "dst", OPT_PROBLEM)


@case("IP6-OPT-PROBLEM-HBH", rfc=8200, section="4.2", level=MUST, layer=3, also=(4443,))
def test_unrecognised_option_10_in_hop_by_hop_options_draws_parameter_problem(lan6):
    """A packet with an unrecognised option whose type starts with bits 10, in a Hop-by-Hop Options header, is discarded and answered with Parameter Problem code 2 pointing to the option.

    Option 0x9E after a PadN: Parameter Problem code 2, pointer 46; no Echo Reply.
    """
    problem(lan6, "hbh", OPT_PROBLEM)


@case("IP6-OPT-PROBLEM-11-DST", rfc=8200, section="4.2", level=MUST, layer=3, also=(4443,))
def test_unrecognised_option_11_to_unicast_in_destination_options_draws_parameter_problem(lan6):
    """A packet to a unicast address with an unrecognised option whose type starts with bits 11, in a Destination Options header, is discarded and answered with Parameter Problem code 2.

    Option 0xDE, the first in the header: Parameter Problem code 2, pointer 42; no Echo Reply.
    """
    problem(lan6, "dst", OPT_PROBLEM_UNLESS_MULTICAST)


@case("IP6-OPT-PROBLEM-11-HBH", rfc=8200, section="4.2", level=MUST, layer=3, also=(4443,))
def test_unrecognised_option_11_to_unicast_in_hop_by_hop_options_draws_parameter_problem(lan6):
    """A packet to a unicast address with an unrecognised option whose type starts with bits 11, in a Hop-by-Hop Options header, is discarded and answered with Parameter Problem code 2."""
    problem(lan6, "hbh", OPT_PROBLEM_UNLESS_MULTICAST)


@case("IP6-OPT-PROBLEM-MCAST-DST", rfc=8200, section="4.2", level=MUST, layer=3, also=(4443,))
def test_unrecognised_option_10_to_multicast_in_destination_options_still_draws_parameter_problem(lan6):
    """A packet to a multicast address with an unrecognised 10-type option, in a Destination Options header, is answered with Parameter Problem code 2, from a unicast address.

    RFC 8200 4.2: "regardless of whether or not the packet's Destination Address was a multicast
    address"; RFC 4443 2.4 (e.3) names it as an exception. The Echo Request goes to ff02::1 in
    a frame to 33:33:00:00:00:01.
    """
    problem_for_multicast(lan6, "dst")


@case("IP6-OPT-PROBLEM-MCAST-HBH", rfc=8200, section="4.2", level=MUST, layer=3, also=(4443,))
def test_unrecognised_option_10_to_multicast_in_hop_by_hop_options_still_draws_parameter_problem(lan6):
    """A packet to a multicast address with an unrecognised 10-type option, in a Hop-by-Hop Options header, is answered with Parameter Problem code 2, from a unicast address."""
    problem_for_multicast(lan6, "hbh")


@case("IP6-OPT-SILENT-MCAST-DST", rfc=8200, section="4.2", level=MUST, layer=3, also=(4443,))
def test_unrecognised_option_11_to_multicast_in_destination_options_draws_no_error(lan6):
    """A packet to a multicast address with an unrecognised 11-type option, in a Destination Options header, is discarded without a Parameter Problem.

    The check ends on the echo fence; then, as a positive control, the same packet with a
    10-type option must draw a Parameter Problem (else INCONCLUSIVE).
    """
    silent_for_multicast(lan6, "dst")


@case("IP6-OPT-SILENT-MCAST-HBH", rfc=8200, section="4.2", level=MUST, layer=3, also=(4443,))
def test_unrecognised_option_11_to_multicast_in_hop_by_hop_options_draws_no_error(lan6):
    """A packet to a multicast address with an unrecognised 11-type option, in a Hop-by-Hop Options header, is discarded without a Parameter Problem."""
    silent_for_multicast(lan6, "hbh")


@case("IP6-OPT-PADDING", rfc=8200, section="4.2", level=MUST, layer=3)
def test_pad1_and_padn_options_are_accepted(lan6):
    """Pad1 and PadN options are recognised by every node and skipped.

    RFC 8200 4.2 defines Pad1 (type 0) and PadN (type 1), "two padding options which are used
    when necessary to align subsequent options and to pad out the containing header". A
    Hop-by-Hop Options header holding a PadN of 4 octets and a Destination Options header holding
    Pad1, Pad1 and a skippable option, before an Echo Request: the Echo
    Reply must come. (No run of padding is longer than 6 octets: see IP6-OPT-PADN-LONG.)
    """
    ident = next_ident()
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, b"padding only")
    body = (options_header(NH_DEST_OPTS, bytes([OPT_PADN, 2, 0, 0]))
            + options_header(NH_ICMPV6, b"\x00\x00" + option(OPT_SKIP, b"\x00\x00")) + message)
    packet = packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_HOP_BY_HOP, body)
    lan6.tester.exchange(to_sut(lan6, packet), expect=echo_reply(lan6, ident))


@case("IP6-OPT-PADN-LONG", rfc=8200, section="4.2", level=MUST, layer=3)
def test_padn_of_any_length_is_accepted(lan6):
    """A PadN option is skipped whatever its length: RFC 8200 4.2 defines it for N octets of padding, without a bound.

    A Destination Options header of 16 octets holds one PadN of 14 octets (Opt Data Len 12)
    before an Echo Request: the Echo Reply must come. (RFC 4942 2.1.9.5, informational, discusses
    limiting padding as a defence; RFC 8200 does not make such packets invalid.)
    """
    ident = next_ident()
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, b"long padding")
    header = options_header(NH_ICMPV6, bytes([OPT_PADN, 12]) + bytes(12))
    answered(lan6, to_sut(lan6, packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_DEST_OPTS, header + message)),
             echo_reply(lan6, ident), "an Echo Request behind 14 octets of PadN must be answered")


@case("IP6-OPT-OVERRUN-DISCARDED", rfc=4443, section="3.4", level=MUST, layer=3, also=(8200,))
def test_option_running_past_its_header_is_discarded(lan6):
    """A packet whose option's length runs past the end of its options header is discarded.

    The Destination Options header is 8 octets; its only option (type 0x1E, skip if unknown)
    claims 20 octets of data. The header is malformed and the packet cannot be processed, so
    RFC 4443 3.4 says the node MUST discard it: no Echo Reply may come back.
    """
    ident = next_ident()
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, b"option overrun")
    header = bytes([NH_ICMPV6, 0, OPT_SKIP, 20, 0, 0, 0, 0])
    lan6.tester.send(to_sut(lan6, packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_DEST_OPTS, header + message)))
    lan6.tester.expect_none(any_echo_reply(ident), fence=valid_echo_fence(lan6))
