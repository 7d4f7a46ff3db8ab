"""Blind in-window attacks (RFC 5961): RSTs and SYNs on an established connection are acted on
only when they are exact, otherwise answered with a challenge ACK or dropped, and ACKs outside
the acceptable range are dropped.

RFC 5961's mitigations are optional (RFC 9293 3.10.7.4: "For stacks implementing the protection
described in RFC 5961, the three checks below apply"; the ACK check is MAY-12); its MUSTs bind
a stack that implements them. A case whose stimulus the SUT processes the RFC 793 way (an
in-window RST or SYN resets the connection, an old ACK is accepted) shows a SUT without the
protection: NOT-IMPLEMENTED, not FAIL. A challenge ACK with the wrong numbers is a FAIL. Where
RFC 793 processing and RFC 5961 agree (an exact RST resets, an out-of-window RST is dropped, an
ACK of unsent data is answered and dropped) the case is not optional. Item 1 of 5961 3.2
("silently drop the segment") carries no keyword; the two RST cases built on it read it as
MUST, like items 2 and 3.

RFC 5961 section 7 lets a stack throttle challenge ACKs; each case here provokes one per
connection, so the SUT's throttles (on Linux tcp_invalid_ratelimit per socket and
tcp_challenge_ack_limit per namespace) are left as the SUT is configured.
"""

import errno
import time

from scapy.layers.inet import TCP

from cases.tcp.frames import SERVICE_PORT, established, peer, precondition, synack_for
from conformance.catalog import MUST, case
from conformance.tcp import payload, seq_add
from conformance.verdict import Inconclusive, not_implemented

TESTER_WINDOW = 65535  # the tester's window, unscaled: the SUT's MAX.SND.WND
PROTECTION = "RFC 5961 protection against blind in-window attacks (optional: RFC 9293 3.10.7.4)"


def _reset_the_rfc793_way(answer, sock) -> bool:
    """The SUT answered with a RST or aborted the connection: what RFC 793 processing does with
    an in-window RST or SYN, and what RFC 5961 exists to prevent."""
    if answer is not None and "R" in str(answer[TCP].flags):
        return True
    return sock is not None and (sock.error() == errno.ECONNRESET or sock.tcp_info().state == "CLOSED")


def _challenge(lan, tcp, frame, what, sock=None):
    """`frame` must draw a challenge ACK. With `sock` (a case that depends on the optional
    protection), a SUT that instead resets the connection the RFC 793 way does not implement
    RFC 5961: NOT-IMPLEMENTED."""
    answer = tcp.answer_to(frame, tcp.reply())
    if sock is not None and _reset_the_rfc793_way(answer, sock):
        not_implemented(f"{what} reset the connection, as RFC 793 processing does, instead of drawing a challenge ACK")
    assert answer is not None, (
        f"{what} must draw a challenge ACK <SEQ=SND.NXT={tcp.rcv_nxt:#x}><ACK=RCV.NXT={tcp.snd_nxt:#x}><CTL=ACK>; nothing came"
    )
    assert answer[TCP].flags == "A" and (answer[TCP].seq, answer[TCP].ack) == (tcp.rcv_nxt, tcp.snd_nxt), (
        f"{what} must draw a challenge ACK <SEQ={tcp.rcv_nxt:#x}><ACK={tcp.snd_nxt:#x}><CTL=ACK>; came "
        f"{answer.summary()} seq={answer[TCP].seq:#x} ack={answer[TCP].ack:#x}"
    )


def _receive_acking(tcp, size, timeout=2.0):
    """Take the SUT's next `size` octets in order, acknowledging each segment as it comes; a
    segment that arrived before the tester's last ACK counts too."""
    port = tcp.port
    deadline = time.monotonic() + timeout
    got = 0
    while got < size:
        wanted = tcp.from_sut(seq=tcp.rcv_nxt)
        seg = next((f for f in port.capture.frames if f.port == port.name and f.direction == "in" and not f.consumed
                    and wanted(f.packet) and payload(f.packet)), None)
        if seg is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{got} of {size} octets came within {timeout:g} s")
            port.poll(left)
            continue
        seg.consumed = True
        got += len(payload(seg.packet))
        tcp.rcv_nxt = seq_add(tcp.rcv_nxt, len(payload(seg.packet)))
        tcp.ack()


def _still_established(sock, what):
    state = sock.tcp_info().state
    assert state == "ESTABLISHED", f"{what} must not change the connection; it is {state}"
    err = sock.error()
    assert err == 0, f"{what} must not reach the application; SO_ERROR is {errno.errorcode.get(err, err)}"


# --- RST (section 3) ---------------------------------------------------------------------------

@case("TCP-5961-RST-EXACT", title="RST at RCV.NXT resets the connection", rfc=5961, section="3.2", level=MUST, layer=4, also=(9293,), needs=("sockets",))
def test_rst_at_rcv_nxt_resets_connection(lan):
    """A RST whose sequence number is exactly RCV.NXT resets the connection: the application sees ECONNRESET and the state is CLOSED."""
    tcp, sock, _ = established(lan)
    lan.tester.send(tcp.segment("R", ack=0))
    tcp.sync()
    err = sock.error()
    state = sock.tcp_info().state
    assert err == errno.ECONNRESET, f"the exact RST must reset the connection (ECONNRESET); SO_ERROR is {errno.errorcode.get(err, err)}"
    assert state == "CLOSED", f"after the exact RST the connection must be CLOSED; it is {state}"


@case("TCP-5961-RST-IN-WINDOW", title="In-window RST not at RCV.NXT gets a challenge ACK", rfc=5961, section="3.2", level=MUST, layer=4, needs=("sockets",), optional=PROTECTION)
def test_in_window_rst_not_exact_gets_challenge_ack(lan):
    """A RST inside the receive window but not at RCV.NXT draws a challenge ACK and leaves the connection as it was."""
    tcp, sock, _ = established(lan)
    _challenge(lan, tcp, tcp.segment("R", seq=seq_add(tcp.snd_nxt, 1), ack=0), "an in-window RST one past RCV.NXT", sock)
    _still_established(sock, "an inexact RST")


@case("TCP-5961-RST-IN-WINDOW-FAR", title="In-window RST far from RCV.NXT gets a challenge ACK", rfc=5961, section="3.2", level=MUST, layer=4, needs=("sockets",), optional=PROTECTION)
def test_in_window_rst_far_from_rcv_nxt_gets_challenge_ack(lan):
    """A RST+ACK deep inside the receive window (1000 bytes past RCV.NXT) draws a challenge ACK and does not reset."""
    tcp, sock, _ = established(lan)
    _challenge(lan, tcp, tcp.segment("RA", seq=seq_add(tcp.snd_nxt, 1000)), "an in-window RST+ACK 1000 past RCV.NXT", sock)
    _still_established(sock, "an inexact RST")


@case("TCP-5961-RST-OUT-OF-WINDOW", title="RST outside the window is dropped silently", rfc=5961, section="3.2", level=MUST, layer=4, needs=("sockets",))
def test_rst_outside_window_is_dropped_silently(lan):
    """A RST outside the receive window is silently dropped: no ACK, no reset."""
    tcp, sock, _ = established(lan)
    lan.tester.send(tcp.segment("R", seq=seq_add(tcp.snd_nxt, 0x40000000), ack=0))
    lan.tester.expect_none(tcp.reply())
    _still_established(sock, "an out-of-window RST")


@case("TCP-5961-RST-BELOW-WINDOW", title="RST just below the window is dropped silently", rfc=5961, section="3.2", level=MUST, layer=4, needs=("sockets",))
def test_rst_just_below_window_is_dropped_silently(lan):
    """A RST one below RCV.NXT (left of the receive window) is silently dropped: no ACK, no reset."""
    tcp, sock, _ = established(lan)
    tcp.send_data(b"advance RCV.NXT")
    tcp.expect_ack()
    lan.tester.send(tcp.segment("R", seq=seq_add(tcp.snd_nxt, -1), ack=0))
    lan.tester.expect_none(tcp.reply())
    _still_established(sock, "a RST below the window")


# --- SYN (section 4) ---------------------------------------------------------------------------

@case("TCP-5961-SYN-IN-WINDOW", title="SYN in ESTABLISHED gets a challenge ACK", rfc=5961, section="4.2", level=MUST, layer=4, also=(9293,), needs=("sockets",), optional=PROTECTION)
def test_syn_in_established_gets_challenge_ack(lan):
    """A SYN at RCV.NXT on an established connection draws a challenge ACK and neither resets nor restarts the connection."""
    tcp, sock, _ = established(lan)
    _challenge(lan, tcp, tcp.segment("S"), "a SYN at RCV.NXT in ESTABLISHED", sock)
    _still_established(sock, "a SYN in ESTABLISHED")


@case("TCP-5961-SYN-OUT-OF-WINDOW", title="SYN outside the window gets a challenge ACK", rfc=5961, section="4.2", level=MUST, layer=4, needs=("sockets",), optional=PROTECTION)
def test_syn_outside_window_gets_challenge_ack(lan):
    """A SYN far outside the receive window on an established connection also draws a challenge ACK, irrespective of its sequence number."""
    tcp, sock, _ = established(lan)
    _challenge(lan, tcp, tcp.segment("S", seq=seq_add(tcp.snd_nxt, 0x70000000)), "a SYN outside the window in ESTABLISHED", sock)
    _still_established(sock, "a SYN in ESTABLISHED")


@case("TCP-5961-SYN-DATA-DROPPED", title="SYN with data in ESTABLISHED is dropped", rfc=5961, section="4.2", level=MUST, layer=4, needs=("sockets",), optional=PROTECTION)
def test_syn_with_data_in_established_is_dropped(lan):
    """After the challenge ACK for a SYN in ESTABLISHED the segment is dropped: data it carries is not delivered."""
    tcp, sock, _ = established(lan)
    _challenge(lan, tcp, tcp.segment("S", b"syn payload"), "a SYN with data at RCV.NXT in ESTABLISHED", sock)
    got = sock.read_available()
    assert got == b"", f"the SYN must be dropped after the challenge ACK; the application read {got!r}"


# --- ACK (section 5) ---------------------------------------------------------------------------

@case("TCP-5961-ACK-TOO-OLD", title="ACK below the acceptable range is dropped with an ACK", rfc=5961, section="5.2", level=MUST, layer=4, needs=("sockets",), optional=PROTECTION)
def test_ack_below_acceptable_range_is_dropped_with_ack(lan):
    """A segment whose ACK is below SND.UNA - MAX.SND.WND is discarded and answered with an ACK: its data is not delivered."""
    tcp, sock, _ = established(lan, window=TESTER_WINDOW)
    old = seq_add(tcp.rcv_nxt, -(TESTER_WINDOW + 1000))
    answer = tcp.answer_to(tcp.segment("PA", b"old ack", ack=old), tcp.reply())
    got = sock.read_available()
    if got == b"old ack" and (answer is None or answer[TCP].ack != tcp.snd_nxt):
        not_implemented("a segment whose ACK is below SND.UNA - MAX.SND.WND was accepted and its data delivered, "
                        "as RFC 793 processing does (the RFC 5961 ACK check is MAY-12 in RFC 9293)")
    assert answer is not None and answer[TCP].flags == "A" and (answer[TCP].seq, answer[TCP].ack) == (tcp.rcv_nxt, tcp.snd_nxt), (
        f"a segment with SEG.ACK {old:#x} < SND.UNA - MAX.SND.WND must draw a challenge ACK "
        f"<SEQ=SND.NXT={tcp.rcv_nxt:#x}><ACK=RCV.NXT={tcp.snd_nxt:#x}><CTL=ACK>; came "
        f"{answer.summary() + f' seq={answer[TCP].seq:#x} ack={answer[TCP].ack:#x}' if answer is not None else 'nothing'}"
    )
    assert got == b"", f"the segment must be discarded; the application read {got!r}"


@case("TCP-5961-ACK-UNSENT", title="ACK of unsent data is dropped with an ACK", rfc=5961, section="5.2", level=MUST, layer=4, also=(9293,), needs=("sockets",))
def test_ack_of_unsent_data_is_dropped_with_ack(lan):
    """A segment whose ACK acknowledges data not yet sent (SEG.ACK > SND.NXT) is discarded and answered with an ACK: its data is not delivered."""
    tcp, sock, _ = established(lan)
    ahead = seq_add(tcp.rcv_nxt, 5000)
    _challenge(lan, tcp, tcp.segment("PA", b"ack from the future", ack=ahead), f"a segment with SEG.ACK {ahead:#x} > SND.NXT")
    got = sock.read_available()
    assert got == b"", f"the segment must be discarded; the application read {got!r}"


@case("TCP-5961-ACK-OLD-IN-RANGE", title="Old ACK within range is accepted", rfc=5961, section="5.2", level=MUST, layer=4, needs=("sockets",))
def test_old_ack_within_range_is_accepted(lan):
    """A segment whose ACK is old but within SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT is acceptable: its data is delivered.

    The SUT first sends 3000 bytes that the tester acknowledges, so the old ACK (SND.UNA - 1000)
    acknowledges data that was really sent. Each data segment is acknowledged as it comes: the
    SUT may hold the rest back until then (its congestion window, RFC 5681 3.1; Nagle's
    algorithm for the last, partial segment, RFC 1122 4.2.3.4).
    """
    tcp, sock, _ = established(lan, window=TESTER_WINDOW)
    sock.send(b"s" * 3000)
    with precondition("the SUT sends the 3000 octets its application wrote"):
        _receive_acking(tcp, 3000)
    tcp.sync()
    if sock.tcp_info().unacked != 0:
        raise Inconclusive("precondition not met: the tester's ACK did not acknowledge all of the SUT's 3000 bytes")
    old = seq_add(tcp.rcv_nxt, -1000)
    tcp.send_data(b"old but acceptable", ack=old)
    tcp.sync()
    got = sock.read_available()
    assert got == b"old but acceptable", f"a duplicate ACK within the acceptable range does not make the segment unacceptable; the application read {got!r}"


@case("TCP-5961-RST-SYN-RECEIVED", title="Inexact RST in SYN-RECEIVED gets a challenge ACK", rfc=5961, section="3.2", level=MUST, layer=4, needs=("sockets",), optional=PROTECTION)
def test_inexact_rst_in_syn_received_gets_challenge_ack(lan):
    """In SYN-RECEIVED too, a RST inside the window but not at RCV.NXT draws a challenge ACK instead of a reset, and the handshake can still complete.

    RFC 5961 3.2 applies its RST validation "in all states except SYN-SENT".
    """
    listener = lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    synack = synack_for(lan, tcp, tcp.segment("S", options=[("MSS", 1460)]))
    tcp.accept_synack(synack)
    what = "an in-window RST 100 past RCV.NXT in SYN-RECEIVED"
    answer = tcp.answer_to(tcp.segment("R", seq=seq_add(tcp.snd_nxt, 100), ack=0), tcp.reply())
    lan.tester.send(tcp.segment("A"))
    try:
        conn = listener.accept()
    except TimeoutError:
        if answer is None:
            not_implemented(f"{what} drew no challenge ACK and ended the half-open connection, as RFC 793 processing does")
        raise AssertionError("the inexact RST must not end the half-open connection; the ACK that followed established nothing") from None
    assert answer is not None and answer[TCP].flags == "A" and (answer[TCP].seq, answer[TCP].ack) == (tcp.rcv_nxt, tcp.snd_nxt), (
        f"{what} must draw a challenge ACK <SEQ=SND.NXT={tcp.rcv_nxt:#x}><ACK=RCV.NXT={tcp.snd_nxt:#x}><CTL=ACK>; came "
        f"{answer.summary() + f' seq={answer[TCP].seq:#x} ack={answer[TCP].ack:#x}' if answer is not None else 'nothing'}"
    )
    state = conn.tcp_info().state
    assert state == "ESTABLISHED", f"the handshake must complete after the inexact RST; the connection is {state}"
