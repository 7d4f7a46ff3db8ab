"""Fragments: reassembly at the destination, what must be refused, and the SUT's own fragments
(RFC 8200 4.5 and 5; RFC 5722 overlapping fragments; RFC 6946 atomic fragments; RFC 7112 the
first fragment holds the whole header chain).

The stimuli are Echo Requests cut into fragments (each fragment a packet with a Fragment header,
every piece but the last a multiple of 8 octets); an Echo Reply shows the datagram was
reassembled. Where a refused fragment is followed by a valid set with the same Identification,
the reply to that set shows the refused fragment left nothing behind. RFC 8200's lower-case
"must" is read as MUST; its lower-case "should" as MAY (test_header.py).
"""

from scapy.layers.inet import UDP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6TimeExceeded, IPv6, IPv6ExtHdrFragment

from cases.ipv6.frames import (
    NH_DEST_OPTS,
    NH_FRAGMENT,
    NH_ICMPV6,
    answered,
    any_echo_reply,
    echo,
    echo_data,
    echo_message,
    echo_reply,
    fragment_header,
    fragments,
    next_ident,
    option,
    options_header,
    packet_bytes,
    to_sut,
)
from cases.ipv6.test_extension_headers import AnyFrom, valid_echo_fence
from conformance.catalog import MAY, MUST, SHOULD, case
from conformance.match import like

FRAG_TIMEOUT_S = 1  # the SUT's reassembly timeout for the timeout cases (net.ipv6.ip6frag_time)
REMOTE_PORT = 7620


def echo_fragments(lan6, ident: int, size: int, cuts: list[int], *, data: bytes | None = None) -> list[bytes]:
    """An Echo Request with `size` octets of data, cut after the octets `cuts` of its message."""
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, data or echo_data(size, ident))
    return [to_sut(lan6, p) for p in fragments(lan6, ident, NH_ICMPV6, message, cuts)]


def reassembled_reply(lan6, ident: int, pieces: list[bytes], data: bytes, why: str) -> None:
    for piece in pieces[:-1]:
        lan6.tester.send(piece)
    reply = answered(lan6, pieces[-1], echo_reply(lan6, ident), why)
    got = reply[ICMPv6EchoReply].data if reply.getlayer(ICMPv6EchoReply) is not None else b""
    if reply.getlayer(IPv6ExtHdrFragment) is not None:
        return  # a reply in fragments itself: its arrival is the proof; its data is the echo cases' affair
    assert got == data, f"the reply must carry the reassembled data ({len(data)} octets); it carried {len(got)} octets that differ"


@case("IP6-FRAG-REASSEMBLY", rfc=8200, section="4.5", level=MUST, layer=3)
def test_fragments_in_order_are_reassembled(lan6):
    """Fragments of a packet that arrive in order are reassembled into the original packet.

    An Echo Request with 200 octets of data in three fragments (offsets 0, 64, 136): the Echo
    Reply must come, carrying the 200 octets.
    """
    ident = next_ident()
    data = echo_data(200, ident)
    reassembled_reply(lan6, ident, echo_fragments(lan6, ident, 200, [64, 136], data=data), data,
                      "three fragments in order must be reassembled and the Echo Request answered")


@case("IP6-FRAG-OUT-OF-ORDER", rfc=8200, section="4.5", level=MUST, layer=3)
def test_fragments_out_of_order_are_reassembled(lan6):
    """Fragments are reassembled whatever order they arrive in.

    The three fragments of IP6-FRAG-REASSEMBLY are sent last first, then first, then middle.
    """
    ident = next_ident()
    data = echo_data(200, ident)
    a, b, c = echo_fragments(lan6, ident, 200, [64, 136], data=data)
    reassembled_reply(lan6, ident, [c, a, b], data, "three fragments out of order must be reassembled")


@case("IP6-FRAG-1500", rfc=8200, section="5", level=MUST, layer=3)
def test_a_fragmented_packet_of_1500_octets_is_accepted(lan6):
    """A node accepts a fragmented packet that is 1500 octets long once reassembled.

    RFC 8200 5: "A node must be able to accept a fragmented packet that, after reassembly, is as
    large as 1500 octets." An Echo Request of 1500 octets (1452 octets of data) in three
    fragments: the Echo Reply must come.
    """
    ident = next_ident()
    data = echo_data(1452, ident)
    reassembled_reply(lan6, ident, echo_fragments(lan6, ident, 1452, [504, 1008], data=data), data,
                      "a 1500-octet packet in three fragments must be reassembled")


@case("IP6-FRAG-OVERLAP-DISCARDED", rfc=5722, section="4", level=MUST, layer=3, also=(8200,))
def test_datagram_with_overlapping_fragments_is_silently_discarded(lan6):
    """A packet whose fragments overlap is silently discarded.

    RFC 5722 4: "if one or more its constituent fragments is determined to be an overlapping
    fragment, the entire datagram (and any constituent fragments) MUST be silently discarded."
    The Echo Request's fragments cover octets 0-63 and 56-end (8 octets overlap, same content):
    neither an Echo Reply nor a Parameter Problem may come back. Control: the same fragments
    without the overlap, under another Identification, are answered.
    """
    ident = next_ident()
    data = echo_data(120, ident)
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, data)
    first = fragments(lan6, ident, NH_ICMPV6, message, [64])[0]
    rest = packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_FRAGMENT, fragment_header(NH_ICMPV6, 56, False, ident) + message[56:])
    lan6.tester.send(to_sut(lan6, first))
    lan6.tester.send(to_sut(lan6, rest))
    lan6.tester.expect_none(AnyFrom(lan6, ident), fence=valid_echo_fence(lan6))
    control = next_ident()
    cdata = echo_data(120, control)
    reassembled_reply(lan6, control, echo_fragments(lan6, control, 120, [64], data=cdata), cdata,
                      "control: the same fragments without overlap must be reassembled")


@case("IP6-FRAG-OVERLAP-WHOLE", rfc=5722, section="4", level=MUST, layer=3, also=(8200,))
def test_overlap_discards_the_fragments_already_received_too(lan6):
    """An overlap makes the node drop every fragment of the packet, those received before it too.

    RFC 5722 4: the entire datagram "and any constituent fragments, including those not yet
    received" must be discarded. Fragment A (octets 0-63) arrives, then B (octets 56-127, more
    to come) overlapping it; then the fragments that, with A, complete the packet without any
    overlap (64-127 and 128-end). A node that dropped only B would reassemble A with them and
    answer; none may come back. Control: a new Identification's complete set is answered.
    """
    ident = next_ident()
    data = echo_data(200, ident)
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, data)
    a, mid, last = fragments(lan6, ident, NH_ICMPV6, message, [64, 128])
    overlap = packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_FRAGMENT, fragment_header(NH_ICMPV6, 56, True, ident) + message[56:128])
    for piece in (a, overlap, mid, last):
        lan6.tester.send(to_sut(lan6, piece))
    lan6.tester.expect_none(any_echo_reply(ident), fence=valid_echo_fence(lan6))
    control = next_ident()
    cdata = echo_data(200, control)
    reassembled_reply(lan6, control, echo_fragments(lan6, control, 200, [64, 128], data=cdata), cdata,
                      "control: a complete set under a new Identification must be reassembled")


@case("IP6-FRAG-ATOMIC", rfc=6946, section="4", level=MUST, layer=3, also=(8200,))
def test_atomic_fragment_is_processed(lan6):
    """A packet with a Fragment header of offset 0 and M clear (an atomic fragment) is processed as a whole packet.

    RFC 6946 4: a host that receives an atomic fragment "MUST process that packet in isolation
    from any other packets/fragments". An Echo Request as an atomic fragment must be answered.
    """
    ident = next_ident()
    answered(lan6, to_sut(lan6, echo(lan6, ident, ext=IPv6ExtHdrFragment(id=ident, offset=0, m=0))),
             echo_reply(lan6, ident), "an atomic fragment must be processed at once")


@case("IP6-FRAG-ATOMIC-ISOLATED", rfc=6946, section="4", level=MUST, layer=3, also=(8200,))
def test_atomic_fragment_does_not_disturb_a_reassembly_with_the_same_identification(lan6):
    """An atomic fragment is processed in isolation from a reassembly in progress with the same Identification.

    RFC 6946 4: "even if such packets/fragments contain the same set {IPv6 Source Address, IPv6
    Destination Address, Fragment Identification}". The first fragment of Echo Request A is
    sent; then an atomic fragment (Echo Request B) with the same Identification must be answered
    at once; then A's last fragment must complete A, which must be answered too.
    """
    ident = next_ident()
    data = echo_data(120, ident)
    first, last = echo_fragments(lan6, ident, 120, [64], data=data)
    lan6.tester.send(first)
    other = next_ident()
    answered(lan6, to_sut(lan6, echo(lan6, other, ext=IPv6ExtHdrFragment(id=ident, offset=0, m=0))),
             echo_reply(lan6, other), "the atomic fragment must be answered while the other reassembly waits")
    reassembled_reply(lan6, ident, [last], data, "the reassembly under the same Identification must still complete")


@case("IP6-FRAG-FIRST-NO-UPPER-HEADER", rfc=7112, section="5", level=SHOULD, layer=3, also=(8200,))
def test_first_fragment_without_the_upper_layer_header_is_discarded(lan6):
    """A first fragment that does not hold the upper-layer header is discarded.

    RFC 7112 5: a host that receives a first fragment that does not hold the entire IPv6 header
    chain (through the upper-layer header) "SHOULD discard the packet". The first fragment holds
    the Fragment header and a Destination Options header (8 octets) and nothing of the ICMPv6
    header; the second holds the Echo Request. No Echo Reply may come back.
    """
    ident = next_ident()
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, b"the upper-layer header is in the second fragment")
    chain = options_header(NH_ICMPV6, b"") + message
    for piece in fragments(lan6, ident, NH_DEST_OPTS, chain, [8]):
        lan6.tester.send(to_sut(lan6, piece))
    lan6.tester.expect_none(any_echo_reply(ident), fence=valid_echo_fence(lan6))


@case("IP6-FRAG-FIRST-CHAIN-CUT", rfc=7112, section="5", level=SHOULD, layer=3, also=(8200,))
def test_first_fragment_that_cuts_an_extension_header_is_discarded(lan6):
    """A first fragment whose header chain ends inside an extension header is discarded.

    As IP6-FRAG-FIRST-NO-UPPER-HEADER, but the Destination Options header is 16 octets long
    and the first fragment carries only its first 8: the chain is cut inside it. No Echo Reply
    may come back.
    """
    ident = next_ident()
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, b"the chain is cut in the first fragment")
    chain = options_header(NH_ICMPV6, option(0x1E, bytes(10))) + message
    assert len(chain) - len(message) == 16
    for piece in fragments(lan6, ident, NH_DEST_OPTS, chain, [8]):
        lan6.tester.send(to_sut(lan6, piece))
    lan6.tester.expect_none(any_echo_reply(ident), fence=valid_echo_fence(lan6))


@case("IP6-FRAG-LENGTH-NOT-MULTIPLE", rfc=8200, section="4.5", level=MUST, layer=3)
def test_fragment_not_a_multiple_of_8_with_more_to_come_is_discarded(lan6):
    """A fragment with M set whose length is not a multiple of 8 octets is discarded.

    RFC 8200 4.5: such a fragment "must be discarded". A first fragment of 20 octets with M set
    is sent; then the valid fragments of an Echo Request with the same Identification. Had the
    bad one been kept, the valid first fragment would overlap it and the datagram be lost
    (RFC 5722); discarded, it leaves nothing, and the Echo Reply must come.
    """
    ident = next_ident()
    data = echo_data(120, ident)
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, data)
    bad = packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_FRAGMENT, fragment_header(NH_ICMPV6, 0, True, ident) + message[:20])
    lan6.tester.send(to_sut(lan6, bad))
    reassembled_reply(lan6, ident, echo_fragments(lan6, ident, 120, [64], data=data), data,
                      "after the discarded 20-octet fragment, the valid fragments must be reassembled")


@case("IP6-FRAG-BEYOND-65535", rfc=8200, section="4.5", level=MUST, layer=3)
def test_fragment_reaching_beyond_65535_octets_is_discarded(lan6):
    """A fragment whose offset and length would make the reassembled packet longer than 65,535 octets is discarded.

    RFC 8200 4.5: such a fragment "must be discarded". A last fragment at offset 65528 with 16
    octets is sent; then the valid fragments of an Echo Request with the same Identification,
    which must be reassembled and answered (the bad fragment, kept, would have set another end).
    """
    ident = next_ident()
    data = echo_data(120, ident)
    bad = packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_FRAGMENT, fragment_header(NH_ICMPV6, 65528, False, ident) + bytes(16))
    lan6.tester.send(to_sut(lan6, bad))
    reassembled_reply(lan6, ident, echo_fragments(lan6, ident, 120, [64], data=data), data,
                      "after the discarded oversized fragment, the valid fragments must be reassembled")


def first_fragment_only(lan6, ident: int) -> tuple[bytes, bytes]:
    lan6.control.set_sysctl("net.ipv6.ip6frag_time", FRAG_TIMEOUT_S)
    data = echo_data(120, ident)
    first, last = echo_fragments(lan6, ident, 120, [64], data=data)
    lan6.tester.send(first)
    return first, last


@case("IP6-FRAG-TIMEOUT-ABANDONED", rfc=8200, section="4.5", level=MUST, layer=3, needs=("sysctl",),
      waits="the SUT's reassembly timeout, set to 1 s (net.ipv6.ip6frag_time)")
def test_reassembly_is_abandoned_when_its_time_runs_out(lan6):
    """A reassembly that is not complete when its time runs out is abandoned and its fragments discarded.

    RFC 8200 4.5: if insufficient fragments are received within the reassembly time, "reassembly
    of that packet must be abandoned and all the fragments that have been received for that
    packet must be discarded". The SUT's timeout is shortened to 1 s (the RFC's 60 s is an upper
    bound, not the subject); the first fragment is sent and, once the timeout has passed (the
    Time Exceeded the SUT may send marks it; otherwise 3 s are watched), the last fragment: no
    Echo Reply may come back.
    """
    ident = next_ident()
    _, last = first_fragment_only(lan6, ident)
    try:  # the SUT's Time Exceeded marks the moment the reassembly was given up
        lan6.tester.expect(like(IPv6(dst=lan6.tester.ip6) / ICMPv6TimeExceeded(code=1)), timeout=FRAG_TIMEOUT_S + 2)
    except AssertionError:
        pass  # the message is optional (IP6-FRAG-TIMEOUT-TIME-EXCEEDED): by now the timeout is long past
    lan6.tester.send(last)
    lan6.tester.expect_none(any_echo_reply(ident), fence=valid_echo_fence(lan6))


@case("IP6-FRAG-TIMEOUT-TIME-EXCEEDED", rfc=8200, section="4.5", level=MAY, layer=3, needs=("sysctl",), also=(4443,),
      waits="the SUT's reassembly timeout, set to 1 s (net.ipv6.ip6frag_time)")
def test_reassembly_timeout_is_reported_with_time_exceeded(lan6):
    """When a reassembly that holds the first fragment times out, a Time Exceeded code 1 goes to the fragment's source, quoting the first fragment.

    RFC 8200 4.5: "an ICMP Time Exceeded -- Fragment Reassembly Time Exceeded message should be
    sent" (a lower-case "should": MAY); RFC 4443 3.3 gives it Code 1. The SUT's timeout is set to
    1 s; the message must come within 3 s of the first fragment and quote it.
    """
    ident = next_ident()
    first, _ = first_fragment_only(lan6, ident)
    got = lan6.tester.expect(like(IPv6(dst=lan6.tester.ip6) / ICMPv6TimeExceeded(code=1),
                                  name="Time Exceeded code 1 (fragment reassembly time exceeded)"), timeout=FRAG_TIMEOUT_S + 2)
    quoted, sent = bytes(got[ICMPv6TimeExceeded].payload), first[14:]
    assert quoted == sent[:len(quoted)] and len(quoted) >= min(len(sent), 1232), (
        f"the message must quote the first fragment as it was received ({len(sent)} octets); it quoted {len(quoted)} octets"
        + ("" if quoted == sent[:len(quoted)] else " that differ from it"))


def sut_fragments(lan6, size: int) -> list:
    """The fragments of one UDP datagram of `size` data octets the SUT sends to the tester."""
    sock = lan6.app.udp(0, connect=(lan6.tester.ip6, REMOTE_PORT))
    sock.send(echo_data(size, 7))
    first = lan6.tester.expect(like(IPv6(src=lan6.sut.ip, dst=lan6.tester.ip6) / IPv6ExtHdrFragment(),
                                    name="a fragment of the SUT's datagram"))
    ident = first[IPv6ExtHdrFragment].id
    pieces = [first]
    while not complete(pieces):
        pieces.append(lan6.tester.expect(like(IPv6ExtHdrFragment(id=ident), name=f"another fragment, Identification {ident:#x}")))
    return pieces


def complete(pieces: list) -> bool:
    """Whether the fragments cover their packet from offset 0 to the end the last one marks."""
    spans = sorted((p[IPv6ExtHdrFragment].offset * 8, len(bytes(p[IPv6ExtHdrFragment].payload)), p[IPv6ExtHdrFragment].m)
                   for p in pieces)
    reach = 0
    for start, length, more in spans:
        if start > reach:
            return False
        reach = max(reach, start + length)
        if not more:
            return True
    return False


@case("IP6-FRAG-SUT-MULTIPLE-OF-8", title="SUT cuts fragments at multiples of 8", rfc=8200, section="4.5", level=MUST, layer=3, needs=("sockets",))
def test_sut_cuts_fragments_at_multiples_of_8(lan6):
    """A node that fragments a packet makes every fragment but the last a multiple of 8 octets long, within the link MTU.

    RFC 8200 4.5: the fragmentable part is divided into fragments, "each complete fragment, except
    possibly the last ("rightmost") one, being an integer multiple of 8 octets long". A UDP
    datagram of 3000 octets from the SUT over its 1500-octet link: every fragment with M set must
    carry a multiple of 8 octets after its Fragment header, and no fragment may exceed 1500.
    """
    pieces = sut_fragments(lan6, 3000)
    for p in pieces:
        length = len(bytes(p[IPv6ExtHdrFragment].payload))
        assert len(bytes(p[IPv6])) <= 1500, f"a fragment of {len(bytes(p[IPv6]))} octets exceeds the 1500-octet link MTU"
        if p[IPv6ExtHdrFragment].m:
            assert length % 8 == 0, f"a fragment with M set carries {length} octets, not a multiple of 8"


@case("IP6-FRAG-SUT-REASSEMBLES", title="SUT's fragments reassemble into its packet", rfc=8200, section="4.5", level=MUST, layer=3, needs=("sockets",))
def test_sut_fragments_reassemble_into_its_packet(lan6):
    """The fragments a node sends share one Identification, and their offsets put the original packet back together.

    The 3000-octet UDP datagram's fragments must tile its 3008 octets (UDP header and data)
    without gap or overlap, and the result must be the datagram the application sent.
    """
    pieces = sut_fragments(lan6, 3000)
    ordered = sorted(pieces, key=lambda p: p[IPv6ExtHdrFragment].offset)
    whole = b""
    for p in ordered:
        assert p[IPv6ExtHdrFragment].offset * 8 == len(whole), (
            f"fragment offsets must tile the packet: one starts at {p[IPv6ExtHdrFragment].offset * 8}, after {len(whole)} octets")
        whole += bytes(p[IPv6ExtHdrFragment].payload)
    assert [p[IPv6ExtHdrFragment].m for p in ordered] == [1] * (len(ordered) - 1) + [0], "M must be set on all but the last"
    udp = UDP(whole)
    assert bytes(udp.payload) == echo_data(3000, 7), "the reassembled data must be what the application sent"


@case("IP6-FRAG-SUT-IDENTIFICATION", title="SUT gives each fragmented packet its own identification", rfc=8200, section="4.5", level=MUST, layer=3, needs=("sockets",))
def test_sut_gives_each_fragmented_packet_its_own_identification(lan6):
    """Each fragmented packet a node sends to one destination has an Identification different from the recent ones.

    RFC 8200 4.5: the source node generates an Identification that "must be different than that
    of any other fragmented packet sent recently with the same Source Address and Destination
    Address". Three 3000-octet datagrams to the tester: three different Identifications.
    """
    idents = [sut_fragments(lan6, 3000)[0][IPv6ExtHdrFragment].id for _ in range(3)]
    assert len(set(idents)) == 3, f"three fragmented packets must carry three Identifications; they carried {idents}"
