"""Selective acknowledgments from the SUT as data receiver (RFC 2018 4)."""

from cases.tcp.flow import establish, option, sack_blocks, seq_add
from cases.tcp.frames import SACK, declined
from conformance.catalog import MAY, MUST, SHOULD, case

BLOCK = 100


def send_islands(flow, offsets):
    """Send 100-octet blocks at the given offsets past RCV.NXT; return the ACK after each."""
    acks = []
    for off in offsets:
        flow.send(bytes([0x61 + off // BLOCK]) * BLOCK, seq=flow.offset(off))
        acks.append(flow.expect_ack(flow.peer.snd_nxt))
    return acks


def require_sack(flow):
    """SACK generation is optional: where the SUT declined SACK, rules about SACK blocks are
    NOT-IMPLEMENTED."""
    if not option(flow.synack, "SAckOK"):
        declined(SACK, "its SYN-ACK did not answer the SACK-permitted offer, so it generates no SACK options")


def block(flow, off):
    return (flow.offset(off), flow.offset(off + BLOCK))


@case("TCP-SACK-HOLE-REPORTED", title="Out-of-order block is reported in a SACK option", rfc=2018, section="4", level=MAY, layer=4, needs=("sockets",))
def test_out_of_order_block_is_reported_in_a_sack_option(lan):
    """With SACK permitted, the SUT's ACK for data received beyond a hole carries a SACK block
    that names exactly that data.

    The tester offers SACK-permitted, then sends octets 100..199 past RCV.NXT.
    """
    flow = establish(lan, sack=True)
    require_sack(flow)
    (ack,) = send_islands(flow, [BLOCK])
    assert sack_blocks(ack) == [block(flow, BLOCK)], (
        f"the duplicate ACK should report the received block {block(flow, BLOCK)}; its SACK blocks were "
        f"{sack_blocks(ack)}"
    )


@case("TCP-SACK-FIRST-BLOCK-LATEST", title="First SACK block holds the segment that triggered the ACK", rfc=2018, section="4", level=MUST, layer=4, needs=("sockets",), optional=SACK)
def test_first_sack_block_holds_the_segment_that_triggered_the_ack(lan):
    """The first SACK block of an ACK is the block containing the segment that triggered it.

    Blocks arrive at offsets 100 and then 300 (two holes): the second ACK's first SACK block
    must be the one at 300.
    """
    flow = establish(lan, sack=True)
    require_sack(flow)
    acks = send_islands(flow, [BLOCK, 3 * BLOCK])
    blocks = sack_blocks(acks[1])
    assert blocks, "the ACK for data beyond a hole carries no SACK option at all"
    assert blocks[0] == block(flow, 3 * BLOCK), (
        f"the first SACK block must be the most recent one {block(flow, 3 * BLOCK)}; the SACK option was {blocks}"
    )


@case("TCP-SACK-REPEATS-RECENT-BLOCKS", title="SACK option repeats the most recently reported blocks", rfc=2018, section="4", level=SHOULD, layer=4, needs=("sockets",), optional=SACK)
def test_sack_option_repeats_the_most_recently_reported_blocks(lan):
    """After the first block, the SACK option repeats the most recently reported blocks, as many
    distinct ones as fit.

    Blocks arrive at offsets 100, 300 and 500 (three holes, room for four blocks): the third
    ACK must list the blocks at 500, 300 and 100, in that order.
    """
    flow = establish(lan, sack=True)
    require_sack(flow)
    acks = send_islands(flow, [BLOCK, 3 * BLOCK, 5 * BLOCK])
    want = [block(flow, 5 * BLOCK), block(flow, 3 * BLOCK), block(flow, BLOCK)]
    assert sack_blocks(acks[2]) == want, (
        f"the SACK option should list {want} (newest first, earlier ones repeated); it was {sack_blocks(acks[2])}"
    )


@case("TCP-SACK-NOT-WITHOUT-PERMITTED", title="No SACK option when the peer did not permit it", rfc=2018, section="4", level=MUST, layer=4, needs=("sockets",))
def test_no_sack_option_when_the_peer_did_not_permit_it(lan):
    """A receiver that got no SACK-permitted option in the SYN sends no SACK options.

    The tester's SYN offers MSS only, then leaves a hole; the duplicate ACK must not carry SACK.
    """
    flow = establish(lan, sack=False)
    (ack,) = send_islands(flow, [BLOCK])
    assert option(ack, "SAck") is None, (
        f"SACK was not permitted in the SYN, so no SACK option may be sent; the ACK carried {sack_blocks(ack)}"
    )


@case("TCP-SACK-PERMITTED-ONLY-ON-SYN", title="SACK-permitted option is not sent after the SYN", rfc=2018, section="2", level=MUST, layer=4, needs=("sockets",))
def test_sack_permitted_option_is_not_sent_after_the_syn(lan):
    """The SACK-permitted option is sent only on SYN segments, never in the data phase.

    With SACK negotiated, the tester exchanges data both ways and leaves a hole; no segment of
    the SUT after its SYN-ACK may carry SACK-permitted.
    """
    flow = establish(lan, sack=True)
    send_islands(flow, [BLOCK])
    flow.send(b"f" * BLOCK)
    flow.expect_ack(seq_add(flow.peer.snd_nxt, BLOCK))
    flow.sock.send(b"s" * 1000)
    flow.receive(1000)
    flow.peer.sync()
    bad = [f.packet.summary() for f in lan.tester.capture.frames
           if f.direction == "in" and f.packet.haslayer("TCP") and "S" not in str(f.packet["TCP"].flags)
           and option(f.packet, "SAckOK")]
    assert not bad, f"SACK-permitted must not be sent on non-SYN segments; these carried it: {bad}"
