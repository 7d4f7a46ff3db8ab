"""Data delivery: out-of-order, duplicate and overlapping segments, and what the ACK says
(RFC 9293 3.10.7.4, RFC 5681 4.2).

RFC 9293's event processing (3.10.7.4) is written mostly in lower case; these cases take its
plain instructions (deliver segment text to the user, advance RCV.NXT over the data accepted,
"if a segment's contents straddle the boundary between old and new, only the new parts are
processed", send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>) as MUST, and its upper-case keywords
(SHLD-31: out-of-order segments SHOULD be held) as written.
"""

from cases.tcp.flow import answered_before_fence, establish, has, seq_add
from conformance.catalog import MUST, SHOULD, case

BLOCK = 100


def chunks(n: int) -> list[bytes]:
    """n distinct 100-octet blocks, so a misplaced or repeated block shows in what the app reads."""
    return [bytes([0x41 + i]) * BLOCK for i in range(n)]


@case("TCP-DATA-OOO-DELIVERED-IN-ORDER", rfc=9293, section="3.10.7.4", level=SHOULD, layer=4, needs=("sockets",))
def test_out_of_order_segments_are_held_and_delivered_in_order(lan):
    """Segments that arrive ahead of RCV.NXT are held and, once the gap is filled, delivered to the
    application in sequence order.

    The tester sends the third, then the second, then the first 100-octet block; the SUT's
    application must read the three blocks once each, in order.
    """
    flow = establish(lan)
    a, b, c = chunks(3)
    flow.send(c, seq=flow.offset(2 * BLOCK))
    flow.send(b, seq=flow.offset(BLOCK))
    flow.send(a)
    flow.peer.snd_nxt = seq_add(flow.peer.snd_nxt, 2 * BLOCK)
    got = flow.app_read(3 * BLOCK)
    assert got == a + b + c, (
        "segments beyond RCV.NXT should be held and delivered in order once the gap is filled; "
        f"the application read {len(got)} octets: {got[:1]!r}... in the wrong order or incomplete"
    )


@case("TCP-DATA-NO-DELIVERY-PAST-HOLE", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_data_beyond_a_hole_is_not_delivered_before_the_hole_is_filled(lan):
    """Data that arrives beyond a gap in the sequence space is not passed to the application
    before the missing data: TCP delivers a byte stream in order.

    The tester sends the second block only; the SUT's application must have nothing to read.
    """
    flow = establish(lan)
    _, b = chunks(2)
    flow.send(b, seq=flow.offset(BLOCK))
    flow.expect_ack(flow.peer.snd_nxt)
    early = flow.sock.read_available()
    assert early == b"", (
        f"the application read {len(early)} octets while the first {BLOCK} octets were still missing; "
        "TCP must deliver data in sequence order"
    )


@case("TCP-DATA-OOO-IMMEDIATE-DUPACK", title="Out-of-order segment triggers an immediate duplicate ACK", rfc=5681, section="4.2", level=SHOULD, layer=4, needs=("sockets",))
def test_out_of_order_segment_triggers_an_immediate_duplicate_ack(lan):
    """A receiver sends an immediate duplicate ACK when an out-of-order segment arrives.

    The ACK must acknowledge RCV.NXT (the start of the gap), not the out-of-order data, and
    come at once: before the SUT answers an echo request the tester sends right after.
    """
    flow = establish(lan)
    flow.send(b"x" * BLOCK, seq=flow.offset(BLOCK))
    dup = answered_before_fence(flow, flow.from_sut(ack=flow.peer.snd_nxt))
    assert dup is not None, (
        "RFC 5681 4.2: an out-of-order segment should trigger an immediate duplicate ACK of RCV.NXT "
        f"({flow.peer.snd_nxt:#x}); none came before the SUT answered the fence that followed"
    )


@case("TCP-DATA-GAP-FILL-IMMEDIATE-ACK", rfc=5681, section="4.2", level=SHOULD, layer=4, needs=("sockets",))
def test_segment_filling_a_gap_is_acknowledged_at_once(lan):
    """A segment that fills a gap in the received sequence space is acknowledged immediately,
    and the ACK covers all the data then held in order.

    Blocks 2 and 3 are sent first; block 1 fills the gap. An ACK for all three must come before
    the SUT answers an echo request the tester sends right after.
    """
    flow = establish(lan)
    a, b, c = chunks(3)
    flow.send(b, seq=flow.offset(BLOCK))
    flow.send(c, seq=flow.offset(2 * BLOCK))
    flow.expect_ack(flow.peer.snd_nxt)
    flow.send(a)
    end = seq_add(flow.peer.snd_nxt, 2 * BLOCK)
    ack = answered_before_fence(flow, flow.from_sut(ack=end))
    assert ack is not None, (
        "RFC 5681 4.2: a segment that fills the gap should be acknowledged at once, with an ACK covering all data "
        f"held in order ({end:#x}); none came before the SUT answered the fence that followed"
    )


@case("TCP-DATA-DUPLICATE-DELIVERED-ONCE", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_duplicate_segment_is_delivered_once(lan):
    """A segment received twice reaches the application once: data already acknowledged is not
    delivered again.

    The tester sends a block, waits for its ACK, sends the same segment again, then a second
    block; the application must read exactly the two blocks.
    """
    flow = establish(lan)
    a, b = chunks(2)
    start = flow.peer.snd_nxt
    flow.send(a)
    flow.expect_ack(flow.peer.snd_nxt)
    flow.send(a, seq=start)
    flow.expect_ack(flow.peer.snd_nxt)
    flow.send(b)
    flow.expect_ack(flow.peer.snd_nxt)
    got = flow.app_read(2 * BLOCK, timeout=0.5) + flow.sock.read_available()
    assert got == a + b, (
        f"the application must read each octet once ({2 * BLOCK} octets A..B); it read {len(got)} octets "
        f"{got[:4]!r}...{got[-4:]!r}"
    )


@case("TCP-DATA-OVERLAP-NEW-PART-ONLY", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_overlapping_segment_contributes_only_its_new_octets(lan):
    """When a segment overlaps data already received, only the octets beyond RCV.NXT are
    processed; the part already received is not delivered again.

    The tester sends 100 'A's, then a segment starting 50 octets back carrying 100 'B's: the
    application must read 100 'A's and then 50 'B's.
    """
    flow = establish(lan)
    start = flow.peer.snd_nxt
    flow.send(b"A" * BLOCK)
    flow.expect_ack(flow.peer.snd_nxt)
    flow.send(b"B" * BLOCK, seq=seq_add(start, BLOCK // 2))
    end = seq_add(start, BLOCK + BLOCK // 2)
    flow.expect_ack(end)
    got = flow.app_read(BLOCK + BLOCK // 2, timeout=0.5) + flow.sock.read_available()
    want = b"A" * BLOCK + b"B" * (BLOCK // 2)
    assert got == want, (
        f"only the new part of an overlapping segment may be delivered ({want[:3]!r}.. 100 A then 50 B); "
        f"the application read {got.count(b'A')} A and {got.count(b'B')} B, {len(got)} octets in all"
    )


@case("TCP-DATA-OVERLAP-OUT-OF-ORDER", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_overlapping_out_of_order_segments_make_one_correct_stream(lan):
    """Out-of-order segments that overlap each other are assembled into one stream with every
    octet delivered exactly once and in place.

    The stream is octets 0..299 with value i % 251. The tester sends [200,300), then
    [150,250), then [0,200); the application must read the 300 octets unchanged.
    """
    flow = establish(lan)
    stream = bytes(i % 251 for i in range(300))
    for lo, hi in ((200, 300), (150, 250)):
        flow.send(stream[lo:hi], seq=flow.offset(lo))
    flow.send(stream[0:200], seq=flow.offset(0))
    end = flow.offset(300)
    flow.expect_ack(end)
    got = flow.app_read(300, timeout=0.5) + flow.sock.read_available()
    assert got == stream, (
        "overlapping out-of-order segments must be delivered as the one stream they carry (300 octets); "
        f"the application read {len(got)} octets, first difference at "
        f"{next((i for i, (x, y) in enumerate(zip(got, stream, strict=False)) if x != y), min(len(got), 300))}"
    )


@case("TCP-DATA-ACK-EXACT", title="ACK acknowledges exactly the data received", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_ack_acknowledges_exactly_the_data_received(lan):
    """The SUT's acknowledgment number is RCV.NXT: exactly the next octet it expects, no more,
    no less, and its sequence number is its SND.NXT.

    The tester sends 1, then 99, then 1000 octets; each ACK must name the octet after the last
    one sent, and carry the SUT's SND.NXT (ISS + 1, as it sent nothing).
    """
    flow = establish(lan)
    for size in (1, 99, 1000):
        flow.send(b"d" * size)
        ack = flow.expect(flow.from_sut(where={"TCP.flags": has("A")}))
        got = ack["TCP"].ack
        assert got == flow.peer.snd_nxt, (
            f"after {size} more octets the ACK must be exactly {flow.peer.snd_nxt:#x} (RCV.NXT); it was {got:#x}"
        )
        assert ack["TCP"].seq == flow.peer.rcv_nxt, (
            f"the ACK's sequence number must be the SUT's SND.NXT {flow.peer.rcv_nxt:#x}; it was {ack['TCP'].seq:#x}"
        )
