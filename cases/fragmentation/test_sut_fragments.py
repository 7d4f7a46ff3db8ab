"""The SUT fragmenting its own datagrams (RFC 791 3.1-3.2, RFC 1122 3.3.3).

The `mtu_lan` link has an MTU of 1006 octets: a fragment's data may be at most 986 octets by
the MTU, and must be cut at 984, the multiple of 8 below. A UDP socket on the SUT sends a
datagram of 3000 data octets (3028 octets of datagram), so the SUT must send it in fragments.

RFC 791 predates requirement keywords; the cases citing it read its description of
fragmentation (the fields each fragment carries, data "broken on 8 octet boundaries", the
copied flag of options) as MUST for a host that fragments, which RFC 1122 3.3.3 makes optional.
"""

import socket

from scapy.layers.inet import IP
from scapy.packet import Packet
from scapy.utils import checksum

from cases.fragmentation.frames import frames_since, reassemble, sut_fragments
from cases.ipv4.frames import (
    OPT_EOL,
    OPT_LSRR,
    OPT_RR,
    PROTO_UDP,
    SUT_PORT,
    TESTER_PORT,
    echo_data,
    find_option,
    route_option,
    udp_message,
)
from conformance.catalog import MUST, case

IP_OPTIONS = 4
DATA = echo_data(3000, 0x5A)
OTHER_HOST, OTHER_MAC = "198.18.0.77", "02:00:00:00:00:77"


def sent_in_fragments(lan, options: bytes = b"", dst: str | None = None) -> list[Packet]:
    """The fragments of the one 3028-octet UDP datagram a SUT socket sends, sorted by offset."""
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    if options:
        sock.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, options)
    start = len(lan.tester.capture.frames)
    sock.send(DATA)
    groups = sut_fragments(lan, start, PROTO_UDP) if dst is None else _to(lan, start, dst)
    assert groups, "the SUT must send the 3000-octet datagram (in fragments); nothing arrived"
    assert len(groups) == 1, f"one datagram was sent, so its fragments share one identification; they carried {sorted(groups)}"
    return next(iter(groups.values()))


def _to(lan, start: int, dst: str) -> dict[int, list[Packet]]:
    lan.tester.sync()
    group = [p for p in frames_since(lan, start) if IP in p and p[IP].src == lan.sut.ip and p[IP].dst == dst and p[IP].proto == PROTO_UDP]
    return {group[0][IP].id: sorted(group, key=lambda p: p[IP].frag)} if group else {}


def describe(group: list[Packet]) -> str:
    return ", ".join(f"[off {p[IP].frag * 8} len {p[IP].len - p[IP].ihl * 4}{' MF' if p[IP].flags.MF else ''}]" for p in group)


@case("FRAG-SUT-FITS-MTU", title="Every fragment fits the link MTU", rfc=791, section="3.2", level=MUST, layer=3, needs=("sockets",), also=(1122,))
def test_every_fragment_fits_the_link_mtu(mtu_lan):
    """A datagram larger than the link MTU is sent in fragments that each fit the MTU.

    RFC 791 3.2: a datagram too large for the next network is fragmented into pieces that the
    network can carry. Every fragment on the 1006-octet link must be at most 1006 octets.
    """
    group = sent_in_fragments(mtu_lan)
    assert len(group) > 1, f"a 3028-octet datagram cannot cross a {mtu_lan.mtu}-octet link whole; it was sent as {describe(group)}"
    too_big = [p[IP].len for p in group if p[IP].len > mtu_lan.mtu]
    assert not too_big, f"every fragment must fit the MTU of {mtu_lan.mtu}; lengths {too_big} do not"


@case("FRAG-SUT-MULTIPLE-OF-8", rfc=791, section="3.2", level=MUST, layer=3, needs=("sockets",))
def test_fragment_data_is_a_multiple_of_eight(mtu_lan):
    """Every fragment but the last carries a multiple of 8 data octets.

    RFC 791 3.2: fragments are counted in units of 8 octets, and "if an internet datagram is
    fragmented, its data portion must be broken on 8 octet boundaries", so every fragment but
    the last carries a multiple of 8 octets. The MTU allows 986; a fragment of 986 would break it.
    """
    group = sent_in_fragments(mtu_lan)
    bad = [p for p in group[:-1] if (p[IP].len - p[IP].ihl * 4) % 8]
    assert not bad, f"RFC 791: the data of every fragment but the last must be a multiple of 8 octets; fragments: {describe(group)}"


@case("FRAG-SUT-OFFSETS-CONTIGUOUS", rfc=791, section="3.2", level=MUST, layer=3, needs=("sockets",))
def test_fragment_offsets_cover_the_datagram_exactly(mtu_lan):
    """The fragments' offsets and lengths tile the datagram exactly: from 0, no gap, no overlap, the original octets.

    The pieces laid out by offset must start at 0, each begin where the previous ended, and
    together hold the UDP header and the 3000 data octets as sent (checksum included).
    """
    group = sent_in_fragments(mtu_lan)
    at = 0
    for p in group:
        assert p[IP].frag * 8 == at, f"each fragment must start where the previous ended (octet {at}); fragments: {describe(group)}"
        at += p[IP].len - p[IP].ihl * 4
    expected = udp_message(mtu_lan.sut.ip, mtu_lan.tester.ip, SUT_PORT, TESTER_PORT, DATA)
    got = reassemble(group)
    assert got == expected, f"the fragments must hold the datagram's {len(expected)} octets; they held {len(got)}, differing"


@case("FRAG-SUT-MORE-FRAGMENTS", rfc=791, section="3.2", level=MUST, layer=3, needs=("sockets",))
def test_more_fragments_flag_is_set_on_all_but_the_last(mtu_lan):
    """The More Fragments flag is set on every fragment but the last, and clear on the last.

    RFC 791 3.1: MF "0 = Last Fragment, 1 = More Fragments"; the fragment at the highest
    offset is the last one.
    """
    group = sent_in_fragments(mtu_lan)
    assert all(p[IP].flags.MF for p in group[:-1]), f"every fragment but the last must have MF set; fragments: {describe(group)}"
    assert not group[-1][IP].flags.MF, f"the last fragment must have MF clear; fragments: {describe(group)}"


@case("FRAG-SUT-SAME-IDENTIFICATION", rfc=791, section="3.2", level=MUST, layer=3, needs=("sockets",))
def test_fragments_share_identification_source_destination_protocol(mtu_lan):
    """The fragments of one datagram carry the same identification, source, destination and protocol.

    RFC 791 3.2: the receiver joins fragments by "source, destination, protocol, and
    identifier", so the fragmenting host copies all four into every fragment.
    """
    group = sent_in_fragments(mtu_lan)
    keys = {(p[IP].id, p[IP].src, p[IP].dst, p[IP].proto) for p in group}
    assert len(keys) == 1, f"all fragments must share (id, source, destination, protocol); they carried {sorted(keys)}"


@case("FRAG-SUT-HEADERS-VALID", rfc=791, section="3.2", level=MUST, layer=3, needs=("sockets",))
def test_each_fragment_has_its_own_length_and_checksum(mtu_lan):
    """Each fragment's header carries its own Total Length and a header checksum recomputed for it.

    RFC 791 3.2's fragmentation procedure corrects the header of every piece: Total Length for
    the piece, then "recompute checksum".
    """
    group = sent_in_fragments(mtu_lan)
    for p in group:
        raw = bytes(p.original)[14:]
        head = raw[: (raw[0] & 0x0F) * 4]
        assert checksum(head) == 0, f"every fragment's header checksum must verify; the one at offset {p[IP].frag * 8} does not"
        # Total Length is the fragment's own length: the whole frame, unless Ethernet padding follows it.
        assert p[IP].len == len(raw) or (p[IP].len < len(raw) and len(raw) + 14 <= 60), (
            f"the fragment at offset {p[IP].frag * 8} must carry its own Total Length; it says {p[IP].len}, its frame holds {len(raw)}"
        )


@case("FRAG-SUT-OPTION-NOT-COPIED", rfc=791, section="3.1", level=MUST, layer=3, needs=("sockets",))
def test_option_with_copied_flag_clear_stays_in_first_fragment(mtu_lan):
    """An option whose copied flag is 0 (Record Route) is in the first fragment only.

    RFC 791 3.1: the copied flag "indicates that this option is copied into all fragments on
    fragmentation"; Record Route (type 7) has it clear, so later fragments must not carry it.
    The SUT's socket sets a Record Route option (IP_OPTIONS).
    """
    group = sent_in_fragments(mtu_lan, route_option(OPT_RR, 4, ["0.0.0.0"] * 2) + bytes([OPT_EOL]))
    assert find_option(group[0], OPT_RR) is not None, "the first fragment must carry the datagram's Record Route option"
    carrying = [p[IP].frag * 8 for p in group[1:] if find_option(p, OPT_RR) is not None]
    assert not carrying, f"RFC 791: Record Route (copied flag 0) must not be copied; fragments at offsets {carrying} carry it"


@case("FRAG-SUT-OPTION-COPIED", rfc=791, section="3.1", level=MUST, layer=3, needs=("sockets",))
def test_option_with_copied_flag_set_is_in_every_fragment(mtu_lan):
    """An option whose copied flag is 1 (Loose Source Route) is copied into every fragment.

    RFC 791 3.1: Loose Source Route (type 131) has the copied flag set. The SUT's socket sends
    to the tester through 198.18.0.77 (IP_OPTIONS), so its fragments go to 198.18.0.77 and
    every one of them must carry the option.
    """
    mtu_lan.tester.claims[OTHER_HOST] = OTHER_MAC
    group = sent_in_fragments(mtu_lan, route_option(OPT_LSRR, 4, [OTHER_HOST]) + bytes([OPT_EOL]), dst=OTHER_HOST)
    missing = [p[IP].frag * 8 for p in group if find_option(p, OPT_LSRR) is None]
    assert len(group) > 1 and not missing, (
        f"RFC 791: Loose Source Route (copied flag 1) must be in every fragment; fragments at offsets {missing} lack it "
        f"({describe(group)})"
    )

