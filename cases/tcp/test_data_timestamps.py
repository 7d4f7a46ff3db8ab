"""Timestamps in the data phase: PAWS, TS.Recent and the echo (RFC 7323 3.2, 4.3, 5.3).

RFC 7323 states the rules of 4.3 (which TSval goes into TS.Recent and is echoed) and the PAWS
test R1 of 5.3 without a keyword of their own; the cases read them as MUST: 4.3 makes precise
section 3.2's "the sender MUST echo a recently received TSval", and 5.3 gives R1 as the
processing PAWS requires on every incoming segment of a synchronized connection.
"""

from cases.tcp.flow import Flow, establish, forbid, option
from cases.tcp.frames import TIMESTAMPS, declined
from conformance.catalog import MUST, SHOULD, case


def timestamped(lan) -> Flow:
    """A connection whose handshake offered timestamps; a SUT that did not agree to them does not
    use the option these cases judge (NOT-IMPLEMENTED)."""
    flow = establish(lan, timestamps=True)
    if not flow.timestamps:
        declined(TIMESTAMPS, "its SYN-ACK did not answer the Timestamps offer")
    return flow


@case("TCP-PAWS-OLD-TSVAL-DROPPED", title="Segment with an older TSval is acknowledged and dropped", rfc=7323, section="5.3", level=MUST, layer=4, needs=("sockets",), optional=TIMESTAMPS)
def test_segment_with_an_older_tsval_is_acknowledged_and_dropped(lan):
    """A segment whose TSval is older than TS.Recent is not acceptable (PAWS): the receiver sends
    an acknowledgment and drops it.

    The tester sends a block with TSval 50000, then the next block with TSval 40000: the SUT must
    answer with an ACK that does not cover the second block, and its application must read only
    the first block.
    """
    flow = timestamped(lan)
    flow.send(b"A" * 100, tsval=50000)
    flow.expect_ack(flow.peer.snd_nxt)
    before = flow.peer.snd_nxt
    flow.send(b"B" * 100, tsval=40000)
    ack = flow.expect(timeout=1.0)
    assert ack["TCP"].ack == before, (
        "RFC 7323 5.3 R1: a segment with SEG.TSval < TS.Recent must be dropped and answered with an ACK of "
        f"RCV.NXT {before:#x}; the SUT's ACK was {ack['TCP'].ack:#x}"
    )
    got = flow.app_read(200, timeout=0.2)
    assert got == b"A" * 100, (
        f"the PAWS-rejected block must not reach the application; it read {got.count(b'A')} A and {got.count(b'B')} B"
    )


@case("TCP-TS-ECHO-TSVAL", title="ACK echoes the TSval of the segment it acknowledges", rfc=7323, section="4.3", level=MUST, layer=4, needs=("sockets",), optional=TIMESTAMPS)
def test_ack_echoes_the_tsval_of_the_segment_it_acknowledges(lan):
    """The TSecr of the SUT's ACK is TS.Recent: the TSval of the in-order segment it acknowledges."""
    flow = timestamped(lan)
    flow.send(b"x" * 100, tsval=777777)
    ack = flow.expect_ack(flow.peer.snd_nxt)
    ts = option(ack, "Timestamp")
    assert ts is not None, "the ACK must carry a TSopt: timestamps were negotiated"
    assert ts[1] == 777777, f"the ACK's TSecr must echo TS.Recent 777777 (the segment's TSval); it was {ts[1]}"


@case("TCP-TS-RECENT-NOT-FROM-OUT-OF-ORDER", title="Out-of-order segment does not update TS.Recent", rfc=7323, section="4.3", level=MUST, layer=4, needs=("sockets",), optional=TIMESTAMPS)
def test_out_of_order_segment_does_not_update_ts_recent(lan):
    """TS.Recent is updated only from a segment that covers Last.ACK.sent, so an out-of-order
    segment's TSval is not echoed: the duplicate ACK echoes the last in-order TSval.

    In-order data carries TSval 7000; then a segment beyond a gap carries TSval 9000. The
    duplicate ACK must echo 7000.
    """
    flow = timestamped(lan)
    flow.send(b"a" * 100, tsval=7000)
    flow.expect_ack(flow.peer.snd_nxt)
    flow.send(b"c" * 100, seq=flow.offset(100), tsval=9000)
    dup = flow.expect_ack(flow.peer.snd_nxt)
    ts = option(dup, "Timestamp")
    assert ts is not None, "the duplicate ACK must carry a TSopt: timestamps were negotiated"
    assert ts[1] == 7000, (
        "RFC 7323 4.3: TS.Recent must keep the TSval of the last in-order segment (7000); the duplicate ACK "
        f"echoed {ts[1]}"
    )


@case("TCP-TS-IN-EVERY-SEGMENT", title="SUT sends a TSopt in every non-RST segment", rfc=7323, section="3.2", level=MUST, layer=4, needs=("sockets",), optional=TIMESTAMPS)
def test_sut_sends_a_tsopt_in_every_non_rst_segment(lan):
    """Once timestamps are negotiated, the SUT sends a TSopt in every segment other than RST.

    The exchange covers data from the SUT, pure ACKs, duplicate ACKs and the SUT's FIN.
    """
    flow = timestamped(lan)
    flow.send(b"a" * 100)
    flow.expect_ack(flow.peer.snd_nxt)
    flow.send(b"c" * 100, seq=flow.offset(100))
    flow.expect_ack(flow.peer.snd_nxt)
    flow.sock.send(b"z" * 2000)
    flow.receive(2000)
    flow.sock.shutdown()
    flow.take(flow.from_sut(where={"TCP.flags": lambda f: "F" in str(f)}))
    seen = [f.packet for f in lan.tester.capture.frames if f.direction == "in" and f.packet.haslayer("TCP")]
    missing = [p.summary() for p in seen if "R" not in str(p["TCP"].flags) and option(p, "Timestamp") is None]
    assert len(seen) >= 5, "the exchange should have produced several segments from the SUT"
    assert not missing, f"every non-RST segment must carry a TSopt once negotiated; these did not: {missing}"


@case("TCP-TS-MISSING-DROPPED", title="Segment without a TSopt is dropped once negotiated", rfc=7323, section="3.2", level=SHOULD, layer=4, needs=("sockets",), optional=TIMESTAMPS)
def test_segment_without_tsopt_is_dropped_once_negotiated(lan):
    """Once timestamps are negotiated, a non-RST segment that arrives without a TSopt is silently
    dropped.

    The tester sends a data segment without options: its data must not reach the application,
    and the SUT must not acknowledge it.
    """
    flow = timestamped(lan)
    flow.send(b"n" * 100, options=[], advance=False)
    forbid(lan.tester, flow.from_sut(ack=flow.offset(100)),
           "RFC 7323 3.2: a non-RST segment without TSopt should be silently dropped, so its data is never acknowledged")
    got = flow.sock.read_available()
    assert got == b"", (
        f"RFC 7323 3.2: a segment without TSopt should be silently dropped; the application read {len(got)} octets"
    )
