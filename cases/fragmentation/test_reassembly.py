"""Reassembly of the fragments the SUT receives (RFC 791 3.2, RFC 815, RFC 1122 3.3.2).

The observable is an Echo Request sent in fragments: the SUT answers only once it holds the
whole datagram, and its Echo Reply returns the reassembled data, so a misplaced or stale
octet shows in the reply.

RFC 791 predates requirement keywords and gives its reassembly procedure as an example; the
cases citing it read what any reassembly must achieve (fragments joined by source,
destination, protocol and identification, placed by offset, in any arrival order) as MUST,
under RFC 1122 3.3.2's "The IP layer MUST implement reassembly of IP datagrams".
"""

import pytest
from scapy.layers.inet import ICMP, IP

from cases.fragmentation.frames import Piece, fragment, frames_since, split
from cases.ipv4.frames import (
    OPT_EOL,
    OPT_RR,
    PROTO_UDP,
    SUT_PORT,
    any_icmp_from_sut,
    echo_data,
    echo_datagram,
    echo_reply,
    ether,
    header_checksum,
    next_ident,
    route_option,
    udp_datagram,
)
from conformance.catalog import MAY, MUST, SHOULD, case
from conformance.match import like
from conformance.verdict import Inconclusive
from conformance.wire import NoMatch


def reply_data(reply) -> bytes:
    ip = reply[IP]
    return bytes(ip[ICMP])[8 : ip.len - ip.ihl * 4]


def send_all(lan, fragments: list[bytes]) -> None:
    for i, frag in enumerate(fragments):
        lan.tester.send(ether(lan, frag), note=f"fragment {i + 1}/{len(fragments)}")


def reassembled_echo(lan, order: list[int], *, size: int = 556, piece: int = 192) -> None:
    """Send an Echo Request of `size` data octets in pieces of `piece` octets, in `order`, and
    require one Echo Reply returning the data exactly."""
    ident = next_ident()
    data = echo_data(size, ident)
    pieces = split(8 + size, piece)
    frags = fragment(echo_datagram(lan, ident, data), pieces)
    send_all(lan, [frags[i] for i in order])
    try:
        reply = lan.tester.expect(echo_reply(lan, ident))
    except AssertionError as exc:
        raise AssertionError(f"RFC 1122 3.3.2: the IP layer MUST reassemble the {len(pieces)} fragments "
                             f"(sent in order {order}) and deliver the Echo Request; no reply came.\n{exc}") from None
    got = reply_data(reply)
    first_diff = next((i for i in range(min(len(got), len(data))) if got[i] != data[i]), min(len(got), len(data)))
    assert got == data, (f"the reassembled datagram must hold the data exactly: {len(data)} octets sent, the reply "
                         f"returned {len(got)}, first difference at octet {first_diff}")


@case("FRAG-REASM-IN-ORDER", rfc=1122, section="3.3.2", level=MUST, layer=3, also=(791,))
def test_fragments_in_order_are_reassembled(lan):
    """A 576-octet datagram that arrives in fragments, in order, is reassembled and delivered.

    "The IP layer MUST implement reassembly of IP datagrams" and EMTU_R "MUST be greater than or
    equal to 576": an Echo Request of 576 octets (20 header, 8 ICMP, 548 data) in three
    fragments must be answered with all of its data.
    """
    reassembled_echo(lan, [0, 1, 2], size=548)


@case("FRAG-REASM-REVERSED", rfc=791, section="3.2", level=MUST, layer=3, also=(1122, 815))
def test_fragments_in_reverse_order_are_reassembled(lan):
    """Fragments that arrive last-first are reassembled: the last fragment may arrive before all others.

    RFC 791 3.2: the reassembly procedure puts each fragment's data in the buffer by its
    offset and completes the datagram once every block is in, whatever order the fragments
    arrived in (RFC 815 builds its hole list for that).
    """
    reassembled_echo(lan, [2, 1, 0])


@case("FRAG-REASM-PERMUTED", rfc=791, section="3.2", level=MUST, layer=3, also=(1122, 815))
def test_fragments_in_mixed_order_are_reassembled(lan):
    """Fragments that arrive in a mixed order (neither first nor last first) are reassembled."""
    reassembled_echo(lan, [2, 0, 3, 1], size=700)


@case("FRAG-REASM-DUPLICATES", rfc=791, section="3.2", level=MUST, layer=3, also=(1122, 815))
def test_duplicate_fragments_are_reassembled_once(lan):
    """Duplicated fragments do not prevent reassembly, and the datagram is delivered once.

    RFC 791 3.2: "two or more fragments contain the same data either identically or ..."; the
    procedure simply fills the same octets again. The first and second fragments each arrive
    twice before the last; exactly one Echo Reply must come.
    """
    ident = next_ident()
    data = echo_data(556, ident)
    frags = fragment(echo_datagram(lan, ident, data), split(8 + 556, 192))
    start = len(lan.tester.capture.frames)
    send_all(lan, [frags[0], frags[1], frags[0], frags[1], frags[2]])
    reply = lan.tester.expect(echo_reply(lan, ident))
    assert reply_data(reply) == data, "the reassembled data must equal the data sent"
    lan.tester.sync()
    replies = [p for p in frames_since(lan, start) if echo_reply(lan, ident)(p)]
    assert len(replies) == 1, f"the datagram must be delivered once, so answered once; {len(replies)} Echo Replies came"


@case("FRAG-REASM-TINY", rfc=791, section="3.2", level=MUST, layer=3, also=(1122,))
def test_eight_octet_fragments_are_reassembled(lan):
    """A datagram cut into the smallest fragments the format allows (8 data octets each) is reassembled.

    RFC 791 3.2: fragment offsets count 8-octet units and every fragment but the last carries a
    multiple of 8 octets; 8 is the smallest such piece. Eleven 8-octet fragments carry an Echo
    Request with 80 data octets.
    """
    ident = next_ident()
    data = echo_data(80, ident)
    frags = fragment(echo_datagram(lan, ident, data), split(88, 8))
    send_all(lan, frags)
    reply = lan.tester.expect(echo_reply(lan, ident))
    assert reply_data(reply) == data, "the data reassembled from 8-octet fragments must equal the data sent"


@case("FRAG-REASM-OPTIONS-FIRST-ONLY", rfc=791, section="3.2", level=MUST, layer=3, also=(1122,))
def test_options_only_in_first_fragment_are_reassembled(lan):
    """A datagram whose non-copied option (Record Route) is present only in the first fragment is reassembled.

    RFC 791 3.1: an option whose copied flag is 0 stays with the first fragment; the later
    fragments carry a 20-octet header. The headers of one datagram's fragments therefore
    differ in length, and the SUT must still put the data together.
    """
    ident = next_ident()
    data = echo_data(556, ident)
    options = route_option(OPT_RR, 4, ["0.0.0.0"] * 2) + bytes([OPT_EOL])
    frags = fragment(echo_datagram(lan, ident, data, options=options), split(8 + 556, 192))
    send_all(lan, frags)
    reply = lan.tester.expect(echo_reply(lan, ident))
    assert reply_data(reply) == data, "the data reassembled under headers of different lengths must equal the data sent"


@case("FRAG-REASM-LARGEST", rfc=1122, section="3.3.2", level=SHOULD, layer=3, needs=("sockets",), also=(791,))
def test_largest_datagram_is_reassembled(lan):
    """A datagram of the largest size IPv4 allows (65535 octets) is reassembled and delivered.

    3.3.2: EMTU_R "SHOULD be either configurable or indefinite, and SHOULD be greater than or
    equal to the MTU of the connected network(s)". The case checks the indefinite form; a SUT
    whose EMTU_R is configurable instead is to be configured to 65535 by its profile. A UDP
    datagram of 65535 octets (65507 data octets) arrives in 45 fragments; the SUT's socket
    must receive all of it.
    """
    sock = lan.app.udp(SUT_PORT)
    data = echo_data(65507, 3)
    datagram = udp_datagram(lan, data)
    assert len(datagram) == 65535
    send_all(lan, fragment(datagram, split(len(datagram) - 20, 1480)))
    try:
        got = sock.recv(65535, timeout=2.0)
    except TimeoutError:
        raise AssertionError("RFC 1122 3.3.2: a 65535-octet datagram in fragments SHOULD be reassembled; nothing reached the socket") from None
    assert got == data, f"the socket must receive the 65507 data octets, it received {len(got)}"


@case("FRAG-TOO-LARGE-DISCARDED", rfc=791, section="3.1", level=MUST, layer=3, needs=("counters",))
def test_fragments_beyond_65535_octets_are_not_delivered(lan):
    """Fragments that would make a datagram longer than 65535 octets do not form a datagram and are not delivered.

    RFC 791 3.1: Total Length is a 16-bit field, so no datagram exceeds 65535 octets. An Echo
    Request's fragments cover 65560 data octets (the last at offset 65520 with 40 octets): the
    SUT must not answer it and must keep answering other traffic (the fence). Ip.ReasmFails
    must show that the fragments reached reassembly and failed there, or the silence proves
    nothing (INCONCLUSIVE); counting is not itself an RFC 791 requirement.
    """
    ident = next_ident()
    size = 65560 - 8
    datagram = echo_datagram(lan, ident, echo_data(size, ident), total_length=0xFFFF)
    before = lan.control.counters()
    send_all(lan, fragment(datagram, split(65560, 1480)))
    lan.tester.expect_none(any_icmp_from_sut(lan, "RFC 791: fragments of more than 65535 octets are not a datagram to deliver"))
    failed = lan.control.counters()["Ip.ReasmFails"] - before["Ip.ReasmFails"]
    if failed < 1:
        raise Inconclusive(f"Ip.ReasmFails did not move ({failed}), so the SUT's silence cannot be shown to be the discard")


@case("FRAG-REASM-OVERLAP-NEWEST", rfc=791, section="3.2", level=MAY, layer=3)
def test_overlapping_fragments_are_reassembled_with_newest_data(lan):
    """Overlapping fragments are reassembled, the overlapping octets taken from the most recently arrived fragment.

    RFC 791 3.2, after its reassembly procedure: "In the case that two or more fragments
    contain the same data either identically or through a partial overlap, this procedure will
    use the more recently arrived copy in the data buffer and datagram delivered." The procedure
    is given as an example, so this is a MAY; no IPv4 RFC requires discarding overlaps (RFC
    5722 requires it for IPv6 only). Fragment 1 carries octets 0-199, fragment 2 octets
    192-399 with different contents in 192-199, fragment 3 the rest.
    """
    ident = next_ident()
    data = echo_data(556, ident)
    datagram = echo_datagram(lan, ident, data)
    body = datagram[20:]
    # The newer copy of octets 192-199 has its 16-bit words in another order: different
    # octets, the same ones' complement sum, so the ICMP checksum holds for either copy.
    newer = body[196:200] + body[192:196] + body[200:400]
    frags = fragment(datagram, [Piece(0, 200), Piece(192, 400), Piece(400, 564, last=True)], data={1: newer})
    send_all(lan, frags)
    # Fenced: the last fragment completes the datagram on receipt, and its echo reply is made at
    # once, so it would precede the answer to the fence.
    reply = lan.tester.expect(echo_reply(lan, ident), fenced=True)
    got = reply_data(reply)
    assert got[184:192] == newer[:8], (
        f"RFC 791 keeps the more recently arrived copy of overlapping octets: expected {newer[:8].hex()} at data "
        f"octets 184-191, the reply had {got[184:192].hex()}"
    )


@case("FRAG-REASM-ZERO-LENGTH", rfc=791, section="3.2", level=MAY, layer=3, also=(815,))
def test_zero_length_fragment_does_not_prevent_reassembly(lan):
    """A fragment that carries no data (MF set, offset inside the datagram) may be taken as filling no octets, so that it does not prevent reassembly.

    In RFC 791's procedure a fragment sets the bits of its 8-octet blocks, none for no data; in
    RFC 815's, a fragment of no octets removes no hole. RFC 791's procedure is an example and
    RFC 815 is informational, and no RFC forbids discarding such a fragment (or its datagram)
    as malformed, so this is a MAY: a SUT that does not reassemble around it is NOT-IMPLEMENTED.
    The first fragment (octets 0-191) is followed by an empty fragment at offset 192, then by
    the remaining fragments; a SUT that reassembles answers the Echo Request.
    """
    ident = next_ident()
    data = echo_data(556, ident)
    datagram = echo_datagram(lan, ident, data)
    first, *rest = split(8 + 556, 192)
    frags = fragment(datagram, [first, Piece(192, 192), *rest])
    send_all(lan, frags)
    # Fenced: as in FRAG-REASM-OVERLAP-NEWEST, the reply would precede the fence's answer.
    reply = lan.tester.expect(echo_reply(lan, ident), fenced=True)
    assert reply_data(reply) == data


@case("FRAG-KEY-MISMATCH-NOT-JOINED", rfc=791, section="3.2", level=MUST, layer=3, also=(1122,))
@pytest.mark.parametrize("field", ["identification", "protocol", "source"])
def test_fragments_of_different_datagrams_are_not_joined(lan, field):
    """Fragments are joined only when source, destination, protocol and identification all agree.

    RFC 791 3.2: "The internet identification field (ID) is used together with the source and
    destination address, and the protocol fields, to identify datagram fragments for
    reassembly." The first fragment of an Echo Request and a last fragment that differs in one
    of those fields must not be reassembled into a datagram the SUT answers.

    Control: the first fragment's own last fragment, sent next, must complete it and draw the
    Echo Reply with the request's data; if it does not, reassembly is not shown to work at all
    and the silence proves nothing (INCONCLUSIVE).
    """
    ident = next_ident()
    data = echo_data(300, ident)
    datagram = echo_datagram(lan, ident, data)
    first, own_last = fragment(datagram, split(308, 160))
    last = bytearray(own_last)
    if field == "identification":
        last[4:6] = (ident ^ 0x0101).to_bytes(2, "big")
    elif field == "protocol":
        last[9] = PROTO_UDP
    else:
        last[12:16] = bytes([198, 18, 0, 3])
    last[10:12] = b"\x00\x00"
    last[10:12] = header_checksum(bytes(last)).to_bytes(2, "big")
    send_all(lan, [first, bytes(last)])
    lan.tester.expect_none(like(echo_reply(lan, ident).template, name=f"an Echo Reply from fragments whose {field} differs"))
    send_all(lan, [own_last])
    try:
        reply = lan.tester.expect(echo_reply(lan, ident))
    except NoMatch:
        raise Inconclusive(
            "the first fragment and its own last fragment were not reassembled and answered either, so the SUT "
            "is not shown to reassemble at all and its silence about the mismatched pair proves nothing"
        ) from None
    if reply_data(reply) != data:
        raise Inconclusive("the Echo Reply to the first fragment and its own last fragment does not return the "
                           "request's data, so reassembly is not shown to work and the silence proves nothing")


@case("FRAG-REASM-INTERLEAVED", rfc=791, section="3.2", level=MUST, layer=3, also=(1122,))
def test_interleaved_fragments_of_two_datagrams_are_both_reassembled(lan):
    """Fragments of two datagrams that arrive interleaved are each reassembled into their own datagram.

    RFC 791 3.2 keeps one reassembly buffer per (source, destination, protocol, identification).
    Two Echo Requests with different identifications and data arrive as A1 B1 A2 B2 A3 B3; both
    must be answered, each with its own data.
    """
    a, b = next_ident(), next_ident()
    data = {a: echo_data(556, a), b: echo_data(556, b ^ 0x55)}
    frags = {i: fragment(echo_datagram(lan, i, data[i]), split(8 + 556, 192)) for i in (a, b)}
    start = len(lan.tester.capture.frames)
    send_all(lan, [f for pair in zip(frags[a], frags[b], strict=True) for f in pair])
    lan.tester.sync()  # A's reply comes before B's last fragment is sent: read both from the capture
    arrived = frames_since(lan, start)
    for ident in (a, b):
        replies = [p for p in arrived if echo_reply(lan, ident)(p)]
        assert replies, f"RFC 791: the datagram id={ident:#x}, interleaved with another, must be reassembled and answered; no reply came"
        assert reply_data(replies[0]) == data[ident], f"the datagram id={ident:#x} must be reassembled from its own fragments only"
