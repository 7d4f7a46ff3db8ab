"""Segment acceptance in synchronized states (RFC 9293 3.10.7.4, 3.1, 3.4; RFC 1122 4.2.2.7):
the four acceptability tests, the ACK that answers an unacceptable segment, segments without
ACK, checksums, and options the SUT does not know or that are malformed.

RFC 9293's event processing (3.10.7) is written in lower case; these cases read its "must" and
its plain instructions ("if the ACK bit is off, drop the segment and return") as MUST, its
"should" as SHOULD. An unacceptable segment is answered with an ACK: 3.10.7.4 says it "should"
be, 3.5.2 item 3 that it "must be responded to with an empty acknowledgment segment".
"""

import errno
import socket

from scapy.layers.inet import TCP

from cases.tcp.frames import SERVICE_PORT, accepted, established, peer, precondition, require_handshake
from conformance.catalog import MUST, SHOULD, case
from conformance.tcp import checksum_ok, seq_add
from conformance.verdict import Inconclusive

SMALL_RCVBUF = 2048  # the kernel doubles it; small enough that one or two segments close the window
UNKNOWN_OPTION = (99, b"\x01\x02\x03\x04")  # kind 99 is unassigned; length 6


def _receive_window(segment):
    """The window a segment of a connection without window scaling announces."""
    return segment[TCP].window


def _dup_ack_check(lan, tcp, sock, frame, what, read=True):
    """An unacceptable segment is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and (with
    `read`, where the application has read everything before) its data is not delivered."""
    answer = tcp.answer_to(frame, tcp.reply())
    assert answer is not None, f"{what} is not acceptable and must be answered with an ACK <SEQ={tcp.rcv_nxt:#x}><ACK={tcp.snd_nxt:#x}>; nothing came"
    assert answer[TCP].flags == "A" and (answer[TCP].seq, answer[TCP].ack) == (tcp.rcv_nxt, tcp.snd_nxt), (
        f"{what} must be answered with <SEQ=SND.NXT={tcp.rcv_nxt:#x}><ACK=RCV.NXT={tcp.snd_nxt:#x}><CTL=ACK>; came "
        f"{answer.summary()} seq={answer[TCP].seq:#x} ack={answer[TCP].ack:#x}"
    )
    if read:
        got = sock.read_available()
        assert got == b"", f"the data of an unacceptable segment must not be delivered; the application read {got!r}"


# --- the acceptability tests ---------------------------------------------------------------------

@case("TCP-ACC-DATA-BEYOND-WINDOW", title="Data beyond the window gets a duplicate ACK", rfc=9293, section="3.10.7.4", level=MUST, layer=4, also=(793,), needs=("sockets",))
def test_data_beyond_window_gets_duplicate_ack(lan):
    """A data segment wholly beyond the receive window is not acceptable: it is answered with an ACK of RCV.NXT and dropped."""
    tcp, sock, synack = established(lan)
    far = seq_add(tcp.snd_nxt, 4 * _receive_window(synack) + 1000)
    _dup_ack_check(lan, tcp, sock, tcp.segment("PA", b"far ahead", seq=far), "data beyond the receive window")


@case("TCP-ACC-DATA-AT-RIGHT-EDGE", title="Data starting at the window edge gets a duplicate ACK", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_data_starting_at_window_edge_gets_duplicate_ack(lan):
    """A data segment that starts at RCV.NXT+RCV.WND (just past the window) is not acceptable: it is answered with an ACK of RCV.NXT and dropped."""
    tcp, sock, synack = established(lan)
    edge = seq_add(tcp.snd_nxt, _receive_window(synack))
    _dup_ack_check(lan, tcp, sock, tcp.segment("PA", b"x" * 10, seq=edge), f"data at RCV.NXT+RCV.WND ({edge:#x})")


@case("TCP-ACC-EMPTY-AT-RIGHT-EDGE", title="Empty segment at the window edge gets a duplicate ACK", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_empty_segment_at_window_edge_gets_duplicate_ack(lan):
    """A zero-length segment with SEG.SEQ = RCV.NXT+RCV.WND fails the test RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND and is answered with an ACK of RCV.NXT."""
    tcp, sock, synack = established(lan)
    edge = seq_add(tcp.snd_nxt, _receive_window(synack))
    _dup_ack_check(lan, tcp, sock, tcp.segment("A", seq=edge), f"an empty segment at RCV.NXT+RCV.WND ({edge:#x})")


@case("TCP-ACC-EMPTY-OLD", title="Empty segment below the window gets a duplicate ACK", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_empty_segment_below_window_gets_duplicate_ack(lan):
    """A zero-length segment with SEG.SEQ below RCV.NXT is not acceptable and is answered with an ACK of RCV.NXT."""
    tcp, sock, _ = established(lan)
    tcp.send_data(b"0123456789")
    tcp.expect_ack()
    with precondition("the in-order data reaches the application"):
        assert sock.recv() == b"0123456789", "the application read something else"
    _dup_ack_check(lan, tcp, sock, tcp.segment("A", seq=seq_add(tcp.snd_nxt, -5)), "an empty segment below RCV.NXT")


@case("TCP-ACC-OLD-DATA", title="Data wholly below the window gets a duplicate ACK", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_data_wholly_below_window_gets_duplicate_ack(lan):
    """A data segment that lies wholly below RCV.NXT (an old duplicate) is not acceptable: it is answered with an ACK of RCV.NXT and its data is not delivered again."""
    tcp, sock, _ = established(lan)
    tcp.send_data(b"first copy")
    tcp.expect_ack()
    with precondition("the first copy reaches the application"):
        assert sock.recv() == b"first copy", "the application read something else"
    _dup_ack_check(lan, tcp, sock, tcp.segment("PA", b"first copy", seq=seq_add(tcp.snd_nxt, -10)), "an old duplicate data segment")


@case("TCP-ACC-EMPTY-IN-WINDOW", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_empty_segment_inside_window_is_accepted(lan):
    """A zero-length segment with RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND is acceptable even when SEG.SEQ is not RCV.NXT: its acknowledgment is processed."""
    tcp, sock, _ = established(lan)
    sock.send(b"to be acknowledged")
    tcp.expect_data()
    with precondition("the SUT's data segment is outstanding"):
        assert sock.tcp_info().unacked == 1, f"tcp_info shows {sock.tcp_info().unacked} unacknowledged segments"
    tcp.port.send(tcp.segment("A", seq=seq_add(tcp.snd_nxt, 100)))
    tcp.sync()
    unacked = sock.tcp_info().unacked
    assert unacked == 0, f"the acceptable segment's ACK must acknowledge the SUT's data; {unacked} segment(s) still unacknowledged"


@case("TCP-ACC-SEQ-WRAP", rfc=9293, section="3.4", level=MUST, layer=4, needs=("sockets",))
def test_data_across_sequence_wrap_is_accepted(lan):
    """Sequence numbers are compared modulo 2**32: data whose sequence numbers wrap past zero is accepted, delivered and acknowledged."""
    listener = lan.app.listen(SERVICE_PORT)
    tcp = peer(lan, isn=0xFFFFFFF0)
    with precondition("the SUT completes a handshake to its listener"):
        tcp.open()
    sock = accepted(listener)
    data = bytes(range(48))
    tcp.send_data(data)
    ack = lan.tester.expect(tcp.reply("A"))
    want = seq_add(0xFFFFFFF1, len(data))  # the SYN took 0xfffffff0
    assert ack[TCP].ack == want, f"the ACK must wrap to {want:#x}; came {ack[TCP].ack:#x}"
    got = sock.recv()
    assert got == data, f"all 48 bytes across the wrap must be delivered; the application read {len(got)} bytes"


def _closed_window(lan):
    """A connection whose SUT end announces RCV.WND = 0: a small receive buffer on the SUT's
    socket, an application that does not read, and the tester sending up to the window."""
    listener = lan.app.listen(SERVICE_PORT, options={(socket.SOL_SOCKET, socket.SO_RCVBUF): SMALL_RCVBUF})
    tcp = peer(lan)
    with precondition("the SUT completes a handshake to its listener"):
        window = _receive_window(tcp.open())
    sock = accepted(listener)
    for _ in range(16):
        if window == 0:
            return tcp, sock
        tcp.send_data(b"w" * min(window, 1000))
        window = tcp.expect_ack()[TCP].window
    raise Inconclusive(f"the SUT's receive window did not close (last announced {window}) with a {SMALL_RCVBUF}-byte SO_RCVBUF")


@case("TCP-ACC-ZERO-WINDOW-DATA", title="Data into a zero window gets an ACK and is dropped", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_data_into_zero_window_gets_ack_and_is_dropped(lan):
    """With RCV.WND = 0 a segment carrying data is not acceptable, even at RCV.NXT: it is answered with an ACK of RCV.NXT and its data never reaches the application."""
    tcp, sock = _closed_window(lan)
    accepted = (tcp.snd_nxt - tcp.isn - 1) % (1 << 32)
    _dup_ack_check(lan, tcp, sock, tcp.segment("PA", b"X" * 100), "data at RCV.NXT into a zero window", read=False)
    got = b""
    while chunk := sock.read_available():  # everything the SUT accepted is queued already
        got += chunk
    assert got == b"w" * accepted, (
        f"the application must read only the {accepted} bytes that fitted the window; it read {len(got)} bytes "
        f"({got.count(b'X')} of them from the segment sent into the zero window)"
    )


@case("TCP-ACC-ZERO-WINDOW-ACK", title="ACK at RCV.NXT with a zero window is accepted", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_ack_at_rcv_nxt_with_zero_window_is_accepted(lan):
    """With RCV.WND = 0 a zero-length segment with SEG.SEQ = RCV.NXT is acceptable: its acknowledgment is processed."""
    tcp, sock = _closed_window(lan)
    sock.send(b"reply while the window is shut")
    tcp.expect_data()
    with precondition("the SUT's data segment is outstanding"):
        assert sock.tcp_info().unacked == 1, f"tcp_info shows {sock.tcp_info().unacked} unacknowledged segments"
    tcp.port.send(tcp.segment("A"))
    tcp.sync()
    unacked = sock.tcp_info().unacked
    assert unacked == 0, f"a valid ACK must be accepted with a zero window; {unacked} segment(s) still unacknowledged"


@case("TCP-ACC-ZERO-WINDOW-EMPTY-AHEAD", title="Empty segment past RCV.NXT with a zero window gets an ACK", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_empty_segment_past_rcv_nxt_with_zero_window_gets_ack(lan):
    """With RCV.WND = 0 a zero-length segment is acceptable only at SEG.SEQ = RCV.NXT; one at RCV.NXT+1 is answered with an ACK of RCV.NXT."""
    tcp, sock = _closed_window(lan)
    _dup_ack_check(lan, tcp, sock, tcp.segment("A", seq=seq_add(tcp.snd_nxt, 1)), "an empty segment at RCV.NXT+1 into a zero window", read=False)


@case("TCP-ACC-ZERO-WINDOW-RST", title="RST at RCV.NXT with a zero window resets", rfc=9293, section="3.10.7.4", level=SHOULD, layer=4, needs=("sockets",))
def test_rst_at_rcv_nxt_with_zero_window_resets(lan):
    """With RCV.WND = 0 a RST at RCV.NXT is still accepted: "special allowance should be made to accept valid ACKs, URGs, and RSTs"."""
    tcp, sock = _closed_window(lan)
    lan.tester.send(tcp.segment("R", ack=0))
    tcp.sync()
    err = sock.error()
    assert err == errno.ECONNRESET, f"a RST at RCV.NXT should reset the connection even with a zero window; SO_ERROR is {errno.errorcode.get(err, err)}"


# --- ACK flag, checksum ----------------------------------------------------------------------------

@case("TCP-ACC-NO-ACK-DROPPED", title="Data without the ACK flag is dropped", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_data_without_ack_flag_is_dropped(lan):
    """In a synchronized state a segment without the ACK bit is dropped: its data is neither delivered nor acknowledged."""
    tcp, sock, _ = established(lan)
    answer = tcp.answer_to(tcp.segment("P", b"no ack bit"), tcp.from_sut(ack=seq_add(tcp.snd_nxt, 10)))
    assert answer is None, f"a segment without ACK must be dropped, not acknowledged; came {answer.summary() if answer else ''}"
    got = sock.read_available()
    assert got == b"", f"a segment without ACK must be dropped; the application read {got!r}"


@case("TCP-ACC-BAD-CHECKSUM-DATA", rfc=1122, section="4.2.2.7", level=MUST, layer=4, also=(9293,), needs=("sockets",))
def test_data_with_bad_checksum_is_dropped(lan):
    """A data segment with a wrong TCP checksum is discarded: its data is neither delivered nor acknowledged."""
    tcp, sock, _ = established(lan)
    answer = tcp.answer_to(tcp.segment("PA", b"corrupted", bad_checksum=True), tcp.from_sut(ack=seq_add(tcp.snd_nxt, 9)))
    assert answer is None, f"a segment with a bad checksum must be discarded, not acknowledged; came {answer.summary() if answer else ''}"
    got = sock.read_available()
    assert got == b"", f"a segment with a bad checksum must be discarded; the application read {got!r}"
    tcp.send_data(b"corrupted")
    assert sock.recv() == b"corrupted", "the same data with a correct checksum must then be delivered"


@case("TCP-ACC-BAD-CHECKSUM-SYN", title="SYN with a bad checksum is dropped", rfc=1122, section="4.2.2.7", level=MUST, layer=4, also=(9293,), needs=("sockets",))
def test_syn_with_bad_checksum_is_dropped(lan):
    """A SYN with a wrong TCP checksum is discarded: no SYN-ACK, no RST."""
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    lan.tester.send(tcp.segment("S", options=[("MSS", 1460)], bad_checksum=True))
    lan.tester.expect_none(tcp.from_sut())


@case("TCP-ACC-CHECKSUM-SENT", title="SUT segments carry correct checksums", rfc=1122, section="4.2.2.7", level=MUST, layer=4, also=(9293,), needs=("sockets",))
def test_sut_segments_carry_correct_checksums(lan):
    """Every segment the SUT sends carries a correct TCP checksum (over the pseudo-header, header and data)."""
    tcp, sock, synack = established(lan)
    sock.send(b"checksummed data" * 20)
    data = lan.tester.expect(tcp.from_sut(seq=tcp.rcv_nxt))
    for seg in (synack, data):
        assert checksum_ok(seg), f"the TCP checksum of {seg.summary()} ({seg[TCP].chksum:#06x}) is wrong"


# --- options ---------------------------------------------------------------------------------------

@case("TCP-ACC-UNKNOWN-OPTION-SYN", title="Unknown option in a SYN is ignored", rfc=9293, section="3.1", level=MUST, layer=4, needs=("sockets",))
def test_unknown_option_in_syn_is_ignored(lan):
    """An option the SUT does not implement, with a length field, is ignored in a SYN: the SYN is answered as usual (MUST-6)."""
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    synack = tcp.answer_to(tcp.segment("S", options=[UNKNOWN_OPTION, ("MSS", 1460)]))
    if synack is None:
        require_handshake(lan)
        raise AssertionError("a SYN with an unknown option must be answered like any SYN; nothing came, though a plain SYN is")
    assert synack[TCP].flags == "SA" and synack[TCP].ack == seq_add(tcp.isn, 1), (
        f"a SYN with an unknown option must be answered with a SYN-ACK of SEG.SEQ+1; came {synack.summary()}"
    )


@case("TCP-ACC-UNKNOWN-OPTION-DATA", rfc=9293, section="3.1", level=MUST, layer=4, needs=("sockets",))
def test_unknown_option_in_data_segment_is_ignored(lan):
    """An unknown option with a length field in a data segment is ignored: the data is delivered and acknowledged (MUST-5, MUST-6)."""
    tcp, sock, _ = established(lan)
    tcp.send_data(b"with an unknown option", options=[UNKNOWN_OPTION])
    tcp.expect_ack()
    got = sock.recv()
    assert got == b"with an unknown option", f"the data of a segment with an unknown option must be delivered; the application read {got!r}"


def _malformed_option_is_handled(lan, raw_options, what):
    """RFC 9293 3.1 MUST-7: the SUT is prepared for an illegal option length. Either it resets
    the connection (the suggested procedure) or it drops or ignores the segment; in no case are
    option bytes taken as data or the stream corrupted. The tester then sends the same data
    correctly and one more segment, and the application must read exactly those bytes."""
    tcp, sock, _ = established(lan)
    first, second = b"A" * 16, b"B" * 16
    start = tcp.snd_nxt
    tcp.answer_to(tcp.segment("PA", first, raw_options=raw_options))
    state = sock.tcp_info().state
    if state == "CLOSED":
        err = sock.error()
        assert err == errno.ECONNRESET, f"a connection reset for {what} must tell the application (ECONNRESET); SO_ERROR is {errno.errorcode.get(err, err)}"
        return
    assert state == "ESTABLISHED", f"after {what} the connection must be reset or stay ESTABLISHED; it is {state}"
    tcp.send_data(first, seq=start)
    tcp.send_data(second)
    tcp.expect_ack()
    got = sock.read(32, timeout=0.5)
    assert got == first + second, (
        f"after {what} the stream must hold exactly the data sent ({first + second!r}); the application read {got!r}"
    )


@case("TCP-ACC-OPTION-LENGTH-ZERO", rfc=9293, section="3.1", level=MUST, layer=4, needs=("sockets",))
def test_option_with_length_zero_is_handled(lan):
    """A segment with an option length of zero is handled without harm: the connection is reset or the option is not used, and no option byte becomes data (MUST-7)."""
    _malformed_option_is_handled(lan, b"\x63\x00\x01\x01", "an option of length 0")


@case("TCP-ACC-OPTION-LENGTH-ONE", rfc=9293, section="3.1", level=MUST, layer=4, needs=("sockets",))
def test_option_with_length_one_is_handled(lan):
    """A segment with an option length of one (shorter than its own kind and length bytes) is handled without harm (MUST-7)."""
    _malformed_option_is_handled(lan, b"\x08\x01\x01\x01", "an option of length 1")


@case("TCP-ACC-OPTION-PAST-HEADER", rfc=9293, section="3.1", level=MUST, layer=4, needs=("sockets",))
def test_option_running_past_header_is_handled(lan):
    """A segment whose last option claims more bytes than the header holds is handled without harm: data bytes are never read as option and option bytes never delivered (MUST-7)."""
    _malformed_option_is_handled(lan, b"\x01\x01\x08\x0a", "a Timestamps option running past the data offset")


@case("TCP-ACC-FIN-NO-ACK-DROPPED", title="FIN without the ACK flag is dropped", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_fin_without_ack_flag_is_dropped(lan):
    """In ESTABLISHED a FIN without the ACK bit is dropped: the connection does not move to CLOSE-WAIT and the application sees no end of stream."""
    tcp, sock, _ = established(lan)
    answer = tcp.answer_to(tcp.segment("F"), tcp.from_sut(ack=seq_add(tcp.snd_nxt, 1)))
    assert answer is None, f"a FIN without ACK must be dropped, not acknowledged; came {answer.summary() if answer else ''}"
    state = sock.tcp_info().state
    assert state == "ESTABLISHED", f"a FIN without ACK must be dropped before FIN processing; the connection moved to {state}"
