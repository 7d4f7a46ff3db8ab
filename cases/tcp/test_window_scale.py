"""Window scale arithmetic in the data phase (RFC 7323 2.2, 2.3; RFC 9293 3.8.6)."""

from itertools import pairwise

from cases.tcp.flow import active_open, data_past, establish, forbid, option, seq_add, seq_diff
from cases.tcp.frames import WINDOW_SCALE, declined
from conformance.catalog import MUST, SHOULD, case
from conformance.tcp import payload


@case("TCP-WSCALE-PEER-WINDOW-SHIFTED", title="SUT shifts the peer's window field", rfc=7323, section="2.3", level=MUST, layer=4, needs=("sockets",), optional=WINDOW_SCALE)
def test_sut_shifts_the_peers_window_field(lan):
    """Once window scaling is agreed, the SUT reads the peer's window field shifted left by the
    peer's scale: its send window is field << shift, no more and no less.

    The tester announces shift 8 and then offers window field 4, i.e. 1024 octets. The SUT's
    application writes 5000 octets: the SUT must send more than the unshifted 4 octets, and
    nothing past 1024. The SYN offers window 4 as well (unscaled there): a larger window in the
    SYN would make 1024 octets less than half of the largest window the SUT has seen, and sender
    silly-window avoidance (RFC 1122 4.2.3.4) may then hold the data back for its override time.
    """
    flow = establish(lan, wscale=8, window=4, ack_window=4)
    if option(flow.synack, "WScale") is None:
        declined(WINDOW_SCALE, "its SYN-ACK did not answer the Window Scale offer")
    start = flow.peer.rcv_nxt
    flow.sock.send(bytes(5000))
    first = flow.take(flow.from_sut(seq=start))
    sent = len(payload(first))
    assert sent > 4, (
        f"with shift 8, window field 4 offers 1024 octets; the SUT sent {sent} octet(s), as if it ignored the scale"
    )
    forbid(lan.tester, data_past(flow, seq_add(start, 1024)),
           "window field 4 with shift 8 offers 1024 octets; the SUT must not send past them")


@case("TCP-WSCALE-SYN-WINDOW-UNSCALED", title="Window of a SYN-ACK is not scaled", rfc=7323, section="2.2", level=MUST, layer=4, needs=("sockets",), optional=WINDOW_SCALE)
def test_window_of_a_syn_ack_is_not_scaled(lan):
    """The window field of a SYN-ACK is never scaled, even when it carries a Window Scale option.

    The SUT opens a connection; the tester's SYN-ACK offers window 600 with shift 7. Until the
    tester sends another window, the SUT may send 600 octets, not 600 << 7.
    """
    flow = active_open(lan, window=600, synack_options=[("MSS", 1460), ("NOP", None), ("WScale", 7)])
    if option(flow.synack, "WScale") is None:
        declined(WINDOW_SCALE, "its own SYN offered no Window Scale option")
    start = flow.peer.rcv_nxt
    flow.sock.send(bytes(5000))
    flow.take(flow.from_sut(seq=start))
    forbid(lan.tester, data_past(flow, seq_add(start, 600)),
           "RFC 7323 2.2: the SYN-ACK's window (600) is not scaled, so the SUT must not send past 600 octets")


@case("TCP-WSCALE-OWN-WINDOW-SHIFTED", title="SUT accepts data up to its scaled window", rfc=7323, section="2.3", level=MUST, layer=4, needs=("sockets",), optional=WINDOW_SCALE)
def test_sut_accepts_data_up_to_its_scaled_window(lan):
    """The SUT's window field means field << its announced shift: data up to that right edge is
    accepted.

    The tester reads the SUT's window from an ACK, sends the 100 octets that end exactly at the
    scaled right edge first, then fills the gap; the SUT must acknowledge everything and its
    application read it all.
    """
    flow = establish(lan, wscale=0)
    shift = option(flow.synack, "WScale")
    if not shift:
        declined(WINDOW_SCALE, "its SYN-ACK announced no Window Scale option")
    flow.send(b"w" * 100)
    ack = flow.expect_ack(flow.peer.snd_nxt)
    window = ack["TCP"].window << shift
    last = flow.offset(window - 100)
    flow.send(b"z" * 100, seq=last)
    filler = window - 100
    sent = 0
    while sent < filler:
        n = min(1400, filler - sent)
        flow.send(bytes([0x30 + sent // 1400 % 10]) * n, seq=flow.offset(sent), advance=False)
        sent += n
    end = flow.offset(window)
    flow.peer.snd_nxt = end
    try:
        flow.take(flow.from_sut(ack=end), timeout=1.0)
    except AssertionError:
        raise AssertionError(
            f"the SUT offered {window} octets (field {ack['TCP'].window} << shift {shift}); data up to that edge must "
            f"be accepted and acknowledged, but no ACK of {end:#x} came"
        ) from None
    got = flow.app_read(100 + window, timeout=1.0)
    assert len(got) == 100 + window and got.endswith(b"z" * 100), (
        f"the SUT offered {window} octets (field << shift {shift}); data up to that edge must be accepted; "
        f"the application read {len(got)} of {100 + window} octets"
    )


@case("TCP-WINDOW-RIGHT-EDGE-KEPT", title="SUT does not shrink its window", rfc=9293, section="3.8.6", level=SHOULD, layer=4, needs=("sockets",),
      also=(7323,))
def test_sut_does_not_shrink_its_window(lan):
    """The SUT does not move the right edge of its offered window to the left (SHLD-14), with the
    window field read through the announced scale.

    The application reads nothing while the tester sends 30 segments of 1000 octets; the right
    edge (ACK + window << shift) of every ACK must be at or beyond the previous one.
    """
    flow = establish(lan, wscale=0)
    shift = option(flow.synack, "WScale") or 0
    edges = []
    for _ in range(30):
        flow.send(b"e" * 1000)
        ack = flow.expect_ack(flow.peer.snd_nxt)
        edges.append(seq_add(ack["TCP"].ack, ack["TCP"].window << shift))
    shrunk = [(i, a, b) for i, (a, b) in enumerate(pairwise(edges)) if seq_diff(b, a) < 0]
    assert not shrunk, f"the right window edge must not move left; it did after ACKs {shrunk[:3]}"
