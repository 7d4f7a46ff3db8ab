"""Connection establishment (RFC 9293 3.5, 3.10.7.2-3.10.7.4): the handshake from either side,
LISTEN, SYN-SENT and SYN-RECEIVED against RSTs, stray ACKs and illegal flag combinations,
simultaneous open and half-open connections.

RFC 9293's event processing (3.10.7) is written in lower case; these cases take its "must" as
MUST, its "should" as SHOULD, and its plain instructions ("drop the segment and return", "form a
reset segment ... and send it") as MUST. A case that departs from this says why.
"""

import errno

from scapy.layers.inet import IP, TCP

from cases.tcp.frames import (
    SERVICE_PORT,
    accepted,
    active_open,
    established,
    peer,
    precondition,
    require_handshake,
    synack_for,
)
from conformance.catalog import MAY, MUST, SHOULD, case
from conformance.match import like
from conformance.tcp import payload, seq_add

FOREIGN_ACK = 0x0BADF00D
SUBNET_BROADCAST = "198.18.0.255"  # of the lan's 198.18.0.0/24
ALL_HOSTS, ALL_HOSTS_MAC = "224.0.0.1", "01:00:5e:00:00:01"


# --- passive open: LISTEN and SYN-RECEIVED -------------------------------------------------

@case("TCP-EST-SYN-ACK", title="SYN to a listener gets a SYN-ACK", rfc=9293, section="3.10.7.2", level=MUST, layer=4, needs=("sockets",))
def test_syn_to_listener_gets_syn_ack(lan):
    """A SYN to a listening port is answered with <SEQ=ISS><ACK=SEG.SEQ+1><CTL=SYN,ACK> and no data.

    3.10.7.2 words this step with "should" ("ISS should be selected and a SYN segment sent");
    the case reads it as MUST because it is the second step of the three-way handshake (3.5,
    Figure 6), without which no connection can be opened, and the RFC offers no alternative.
    """
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    synack = lan.tester.exchange(tcp.segment("S", options=[("MSS", 1460)]), expect=tcp.from_sut())
    assert synack[TCP].flags == "SA", f"the answer to a SYN in LISTEN must be SYN+ACK; came flags {synack[TCP].flags}"
    assert synack[TCP].ack == seq_add(tcp.isn, 1), (
        f"the SYN-ACK must acknowledge SEG.SEQ+1 = {seq_add(tcp.isn, 1):#x}; came {synack[TCP].ack:#x}"
    )
    assert not payload(synack), f"the SYN-ACK must carry no data; came {len(payload(synack))} bytes"


@case("TCP-EST-HANDSHAKE", title="ACK of the SYN-ACK establishes the connection", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_ack_of_syn_ack_establishes_connection(lan):
    """The ACK of the SYN-ACK moves the SUT's connection to ESTABLISHED, and its first data is sent at ISS+1."""
    listener = lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    with precondition("the SUT answers a SYN to its listener with a SYN-ACK"):
        synack = tcp.open()
    try:
        sock = listener.accept()
    except TimeoutError:
        raise AssertionError("the ACK of the SYN-ACK must establish the connection; the listener had none to accept") from None
    state = sock.tcp_info().state
    assert state == "ESTABLISHED", f"after SND.UNA < SEG.ACK =< SND.NXT in SYN-RECEIVED the state must be ESTABLISHED; came {state}"
    sock.send(b"hello")
    data = tcp.expect_data()
    assert data == b"hello", f"the SUT's first data must start at ISS+1 = {seq_add(synack[TCP].seq, 1):#x}; came {data!r}"


@case("TCP-EST-LISTEN-RST-IGNORED", title="RST in LISTEN is ignored", rfc=9293, section="3.10.7.2", level=SHOULD, layer=4, needs=("sockets",))
def test_rst_in_listen_is_ignored(lan):
    """A RST arriving at a listening port is ignored: no answer, and the listener keeps accepting."""
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    lan.tester.send(tcp.segment("R"))
    lan.tester.expect_none(tcp.from_sut())
    synack = tcp.answer_to(tcp.segment("S"))
    if synack is None:
        require_handshake(lan)  # INCONCLUSIVE if this listener answers no SYN at all
    assert synack is not None and synack[TCP].flags == "SA", (
        f"after ignoring the RST the listener must still answer a SYN with a SYN-ACK; came {synack.summary() if synack else 'nothing'}"
    )


@case("TCP-EST-LISTEN-ACK-RST", title="ACK in LISTEN gets a RST from the ACK field", rfc=9293, section="3.10.7.2", level=SHOULD, layer=4, also=(793,), needs=("sockets",))
def test_ack_in_listen_gets_rst_from_ack_field(lan):
    """Any ACK arriving at a listening port is answered with <SEQ=SEG.ACK><CTL=RST>.

    3.10.7.2 (second, check for an ACK): "An acceptable reset segment should be formed for any
    arriving ACK-bearing segment", read as SHOULD.
    """
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    rst = lan.tester.exchange(tcp.segment("A", ack=FOREIGN_ACK), expect=tcp.from_sut())
    assert rst[TCP].flags == "R", f"the answer to an ACK in LISTEN should be a RST without ACK; came flags {rst[TCP].flags}"
    assert rst[TCP].seq == FOREIGN_ACK, f"the RST should take its sequence number from SEG.ACK ({FOREIGN_ACK:#x}); came {rst[TCP].seq:#x}"


@case("TCP-EST-LISTEN-SYN-ACK-RST", title="SYN-ACK in LISTEN gets a RST", rfc=9293, section="3.10.7.2", level=SHOULD, layer=4, needs=("sockets",))
def test_syn_ack_in_listen_gets_rst(lan):
    """A SYN+ACK arriving at a listening port is an acknowledgment in LISTEN: it is answered with <SEQ=SEG.ACK><CTL=RST>, not a connection.

    3.10.7.2 checks the ACK before the SYN, and an ACK-bearing segment "should" get the reset:
    read as SHOULD.
    """
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    rst = lan.tester.exchange(tcp.segment("SA", ack=FOREIGN_ACK), expect=tcp.from_sut())
    assert rst[TCP].flags == "R", f"the answer should be a RST without ACK; came flags {rst[TCP].flags}"
    assert rst[TCP].seq == FOREIGN_ACK, f"the RST should take its sequence number from SEG.ACK ({FOREIGN_ACK:#x}); came {rst[TCP].seq:#x}"


@case("TCP-EST-LISTEN-SYN-RST-IGNORED", title="SYN+RST in LISTEN is ignored", rfc=9293, section="3.10.7.2", level=SHOULD, layer=4, needs=("sockets",))
def test_syn_rst_in_listen_is_ignored(lan):
    """A segment with both SYN and RST at a listening port is handled as a RST (checked first) and ignored: no SYN-ACK, no RST."""
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    lan.tester.send(tcp.segment("SR"))
    lan.tester.expect_none(tcp.from_sut())


@case("TCP-EST-LISTEN-FIN-DROPPED", title="FIN without SYN in LISTEN is dropped", rfc=9293, section="3.10.7.2", level=MUST, layer=4, needs=("sockets",))
def test_fin_without_syn_in_listen_is_dropped(lan):
    """A FIN without SYN or ACK at a listening port is dropped without an answer."""
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    lan.tester.send(tcp.segment("F"))
    lan.tester.expect_none(tcp.from_sut())


@case("TCP-EST-LISTEN-DATA-DROPPED", title="Data without SYN or ACK in LISTEN is dropped", rfc=9293, section="3.10.7.2", level=MUST, layer=4, needs=("sockets",))
def test_data_without_syn_or_ack_in_listen_is_dropped(lan):
    """A data segment without SYN or ACK at a listening port is dropped without an answer, and nothing is accepted."""
    listener = lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    lan.tester.send(tcp.segment("P", b"no handshake"))
    lan.tester.expect_none(tcp.from_sut())
    try:
        conn = listener.accept(timeout=0)
    except TimeoutError:
        return
    raise AssertionError(f"a segment without SYN must not create a connection; the listener accepted one in state {conn.tcp_info().state}")


@case("TCP-EST-LISTEN-SYN-FIN", title="SYN+FIN in LISTEN is handled as a SYN", rfc=9293, section="3.10.7.2", level=MAY, layer=4, needs=("sockets",))
def test_syn_fin_in_listen_is_handled_as_syn(lan):
    """A SYN+FIN at a listening port may be processed as a SYN, its FIN queued for later: the SUT answers with a SYN-ACK acknowledging the SYN.

    RFC 9293 3.10.7.2 (third, check for a SYN) says "any other control or text should be queued
    for processing later", and the SYN-ACK step itself reads "ISS should be selected and a SYN
    segment sent": lower-case "should", not the BCP 14 keyword, and no requirement elsewhere
    covers a FIN that comes with a SYN. Processing it is what the text describes; a SUT that
    drops the segment instead (Linux does, against SYN+FIN scans) violates no requirement, so
    the case is a MAY and such a SUT is NOT-IMPLEMENTED.
    """
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    synack = tcp.answer_to(tcp.segment("SF"))
    assert synack is not None, "the SUT does not process a SYN+FIN as a SYN: nothing came (the segment was dropped)"
    assert synack[TCP].flags == "SA" and synack[TCP].ack == seq_add(tcp.isn, 1), (
        f"the SYN of a SYN+FIN is answered with a SYN-ACK acknowledging SEG.SEQ+1; came {synack.summary()}"
    )


@case("TCP-EST-SYN-DATA", title="Data in a SYN reaches the application once", rfc=9293, section="3.10.7.2", level=MUST, layer=4, needs=("sockets",))
def test_data_in_syn_reaches_application_once(lan):
    """Data carried by a SYN is either acknowledged by the SYN-ACK and then delivered, or left unacknowledged; the application receives it exactly once after the handshake.

    RFC 9293 3.10.7.2 queues the text of a SYN for processing once the connection is
    synchronized. The SYN-ACK shows which way the SUT went: an ACK past the data promises its
    delivery; an ACK of the SYN alone makes the tester send the data again after the handshake.
    """
    listener = lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    data = b"early data in the SYN"
    synack = tcp.answer_to(tcp.segment("S", data, options=[("MSS", 1460)]), tcp.from_sut("SA"))
    if synack is None:
        require_handshake(lan)
        raise AssertionError("a SYN that carries data must be answered like any SYN; no SYN-ACK came, though a plain SYN gets one")
    acked = synack[TCP].ack
    assert acked in (seq_add(tcp.isn, 1), seq_add(tcp.isn, 1 + len(data))), (
        f"the SYN-ACK must acknowledge the SYN ({seq_add(tcp.isn, 1):#x}) or the SYN and its data "
        f"({seq_add(tcp.isn, 1 + len(data)):#x}); came {acked:#x}"
    )
    tcp.irs, tcp.rcv_nxt, tcp.snd_nxt = synack[TCP].seq, seq_add(synack[TCP].seq, 1), acked
    lan.tester.send(tcp.segment("A"))
    sock = accepted(listener)
    if acked == seq_add(tcp.isn, 1):
        tcp.send_data(data)
    got = sock.read(len(data))
    tcp.sync()
    got += sock.read_available()
    assert got == data, f"the application must read the SYN's data exactly once ({data!r}); it read {got!r}"


@case("TCP-EST-SYNRCVD-RST", title="RST in SYN-RECEIVED returns to LISTEN", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_rst_in_syn_received_returns_to_listen(lan):
    """A RST in SYN-RECEIVED of a passive open returns the connection to LISTEN: the half-open connection is gone and a late ACK of the SYN-ACK cannot complete it, so nothing is accepted.

    The late ACK then meets the listener, which "should" answer it with <SEQ=SEG.ACK><CTL=RST>
    (3.10.7.2, a SHOULD of its own: TCP-EST-LISTEN-ACK-RST); here a RST or silence both pass,
    and any other answer shows the old connection still alive.
    """
    listener = lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    synack = synack_for(lan, tcp, tcp.segment("S"))
    tcp.accept_synack(synack)
    lan.tester.send(tcp.segment("R", ack=0))
    tcp.sync()
    answer = tcp.answer_to(tcp.segment("A"))
    if answer is not None:
        assert answer[TCP].flags == "R" and answer[TCP].seq == tcp.rcv_nxt, (
            f"after the RST the connection is back in LISTEN, where the ACK can only draw <SEQ=SEG.ACK={tcp.rcv_nxt:#x}><CTL=RST> "
            f"or nothing; came {answer.summary()} seq={answer[TCP].seq:#x}"
        )
    try:
        conn = listener.accept(timeout=0)
    except TimeoutError:
        return
    raise AssertionError(f"the reset half-open connection must not be accepted; the listener gave one in state {conn.tcp_info().state}")


@case("TCP-EST-SYNRCVD-BAD-ACK", title="Unacceptable ACK in SYN-RECEIVED gets a RST", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_unacceptable_ack_in_syn_received_gets_rst(lan):
    """An ACK in SYN-RECEIVED that does not acknowledge the SYN-ACK is answered with <SEQ=SEG.ACK><CTL=RST>, and the handshake can still complete."""
    listener = lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    synack = synack_for(lan, tcp, tcp.segment("S"))
    tcp.accept_synack(synack)
    wrong = seq_add(synack[TCP].seq, 1000)
    rst = lan.tester.exchange(tcp.segment("A", ack=wrong), expect=tcp.reply())
    assert rst[TCP].flags == "R" and rst[TCP].seq == wrong, (
        f"an unacceptable ACK in SYN-RECEIVED must be answered with <SEQ=SEG.ACK={wrong:#x}><CTL=RST>; "
        f"came {rst.summary()} seq={rst[TCP].seq:#x}"
    )
    lan.tester.send(tcp.segment("A"))
    try:
        state = listener.accept().tcp_info().state
    except TimeoutError:
        raise AssertionError("the RST answers the bad segment only; the right ACK must still establish the connection, "
                             "but the listener had none to accept") from None
    assert state == "ESTABLISHED", f"the RST answers the bad segment only; the right ACK must still establish the connection, which is {state}"


# --- active open: SYN-SENT -------------------------------------------------------------------

@case("TCP-EST-SYNSENT-SYN-ACK", title="SYN-ACK in SYN-SENT is acknowledged", rfc=9293, section="3.10.7.3", level=MUST, layer=4, needs=("sockets",))
def test_syn_ack_in_syn_sent_is_acknowledged(lan):
    """In SYN-SENT, an acceptable SYN-ACK moves the connection to ESTABLISHED and is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.

    This case judges the active open as a whole: an application's connect that sends no SYN
    fails it (the other active-open cases are INCONCLUSIVE then).
    """
    tcp, sock, syn = active_open(lan, judged=True)
    lan.tester.send(tcp.segment("SA", seq=tcp.isn, ack=seq_add(syn[TCP].seq, 1), options=[("MSS", 1460)]))
    tcp.snd_nxt = seq_add(tcp.isn, 1)
    ack = lan.tester.expect(tcp.reply())
    assert ack[TCP].flags == "A" and (ack[TCP].seq, ack[TCP].ack) == (tcp.rcv_nxt, tcp.snd_nxt), (
        f"the SYN-ACK must be acknowledged with <SEQ={tcp.rcv_nxt:#x}><ACK={tcp.snd_nxt:#x}><CTL=ACK>; "
        f"came {ack.summary()} seq={ack[TCP].seq:#x} ack={ack[TCP].ack:#x}"
    )
    state = sock.tcp_info().state
    assert state == "ESTABLISHED", f"the SUT's connection must be ESTABLISHED; it is {state}"


@case("TCP-EST-SYNSENT-BAD-ACK", title="Unacceptable ACK in SYN-SENT gets a RST", rfc=9293, section="3.10.7.3", level=MUST, layer=4, needs=("sockets",))
def test_unacceptable_ack_in_syn_sent_gets_rst(lan):
    """In SYN-SENT, a segment whose ACK is not ISS < SEG.ACK =< SND.NXT is answered with <SEQ=SEG.ACK><CTL=RST> and the connection stays in SYN-SENT."""
    tcp, sock, syn = active_open(lan)
    wrong = seq_add(syn[TCP].seq, 5000)
    rst = lan.tester.exchange(tcp.segment("SA", seq=tcp.isn, ack=wrong), expect=tcp.reply())
    assert rst[TCP].flags == "R" and rst[TCP].seq == wrong, (
        f"an unacceptable ACK in SYN-SENT must be answered with <SEQ=SEG.ACK={wrong:#x}><CTL=RST>; "
        f"came {rst.summary()} seq={rst[TCP].seq:#x}"
    )
    state = sock.tcp_info().state
    assert state == "SYN-SENT", f"the bad segment is dropped; the connection must stay in SYN-SENT, it is {state}"


@case("TCP-EST-SYNSENT-RST", title="RST with an acceptable ACK in SYN-SENT closes", rfc=9293, section="3.10.7.3", level=MUST, layer=4, needs=("sockets",))
def test_rst_with_acceptable_ack_in_syn_sent_closes(lan):
    """In SYN-SENT, a RST whose ACK acknowledges the SYN closes the connection and tells the application."""
    tcp, sock, syn = active_open(lan)
    lan.tester.send(tcp.segment("RA", seq=0, ack=seq_add(syn[TCP].seq, 1)))
    tcp.sync()
    err = sock.error()
    state = sock.tcp_info().state
    assert state == "CLOSED", f"a RST with an acceptable ACK must move SYN-SENT to CLOSED; the state is {state}"
    assert err in (errno.ECONNREFUSED, errno.ECONNRESET), (
        f"the application must be told the connection was reset; SO_ERROR is {errno.errorcode.get(err, err)}"
    )


@case("TCP-EST-SYNSENT-RST-BAD-ACK", title="RST with an unacceptable ACK in SYN-SENT is dropped", rfc=9293, section="3.10.7.3", level=MUST, layer=4, needs=("sockets",))
def test_rst_with_unacceptable_ack_in_syn_sent_is_dropped(lan):
    """In SYN-SENT, a RST whose ACK does not acknowledge the SYN is dropped: no answer, and the connection stays in SYN-SENT."""
    tcp, sock, syn = active_open(lan)
    lan.tester.send(tcp.segment("RA", seq=0, ack=seq_add(syn[TCP].seq, 77)))
    lan.tester.expect_none(tcp.reply())
    state = sock.tcp_info().state
    assert state == "SYN-SENT", f"the RST must be dropped and the connection stay in SYN-SENT; it is {state}"


@case("TCP-EST-SYNSENT-RST-NO-ACK", title="RST without ACK in SYN-SENT is dropped", rfc=9293, section="3.10.7.3", level=MUST, layer=4, needs=("sockets",))
def test_rst_without_ack_in_syn_sent_is_dropped(lan):
    """In SYN-SENT, a RST without ACK is dropped: the connection stays in SYN-SENT."""
    tcp, sock, _syn = active_open(lan)
    lan.tester.send(tcp.segment("R", seq=tcp.isn))
    lan.tester.expect_none(tcp.reply())
    state = sock.tcp_info().state
    assert state == "SYN-SENT", f"a RST without ACK must be dropped in SYN-SENT; the connection is {state}"


@case("TCP-EST-SYNSENT-SYN-ACK-DATA", title="Data in a SYN-ACK reaches the application once", rfc=9293, section="3.10.7.3", level=MUST, layer=4, needs=("sockets",))
def test_data_in_syn_ack_reaches_application_once(lan):
    """Data carried by a SYN-ACK is either acknowledged and delivered, or left unacknowledged; the application receives it exactly once.

    RFC 9293 3.10.7.3 goes on to the URG and text steps after the SYN-ACK is accepted. The SUT's
    ACK shows which way it went: an ACK past the data promises its delivery; an ACK of the SYN
    alone makes the tester send the data again.
    """
    tcp, sock, syn = active_open(lan)
    data = b"data with the SYN-ACK"
    lan.tester.send(tcp.segment("SA", data, seq=tcp.isn, ack=seq_add(syn[TCP].seq, 1), options=[("MSS", 1460)]))
    ack = lan.tester.expect(tcp.from_sut("A"))
    acked = ack[TCP].ack
    assert acked in (seq_add(tcp.isn, 1), seq_add(tcp.isn, 1 + len(data))), (
        f"the ACK must acknowledge the SYN ({seq_add(tcp.isn, 1):#x}) or the SYN and its data "
        f"({seq_add(tcp.isn, 1 + len(data)):#x}); came {acked:#x}"
    )
    tcp.snd_nxt = seq_add(tcp.isn, 1)
    if acked == tcp.snd_nxt:
        tcp.send_data(data)
    else:
        tcp.snd_nxt = acked
    got = sock.read(len(data))
    tcp.sync()
    got += sock.read_available()
    assert got == data, f"the application must read the SYN-ACK's data exactly once ({data!r}); it read {got!r}"


# --- simultaneous open -------------------------------------------------------------------------

@case("TCP-EST-SIMULTANEOUS-SYN-ACK", title="Crossing SYN in SYN-SENT gets a SYN-ACK", rfc=9293, section="3.10.7.3", level=MUST, layer=4, needs=("sockets",))
def test_crossing_syn_in_syn_sent_gets_syn_ack(lan):
    """A SYN without ACK in SYN-SENT (simultaneous open) moves the connection to SYN-RECEIVED and is answered with <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>."""
    tcp, sock, syn = active_open(lan)
    lan.tester.send(tcp.segment("S", seq=tcp.isn, options=[("MSS", 1460)]))
    tcp.snd_nxt = seq_add(tcp.isn, 1)
    synack = lan.tester.expect(tcp.from_sut("SA"))  # a SYN+ACK: a retransmitted bare SYN does not count
    assert (synack[TCP].seq, synack[TCP].ack) == (syn[TCP].seq, tcp.snd_nxt), (
        f"the SYN-ACK must repeat the SUT's ISS and acknowledge the crossing SYN: <SEQ={syn[TCP].seq:#x}><ACK={tcp.snd_nxt:#x}>; "
        f"came <SEQ={synack[TCP].seq:#x}><ACK={synack[TCP].ack:#x}>"
    )
    state = sock.tcp_info().state
    assert state == "SYN-RECEIVED", f"the connection must be in SYN-RECEIVED; it is {state}"


@case("TCP-EST-SIMULTANEOUS-OPEN", rfc=9293, section="3.5", level=MUST, layer=4, needs=("sockets",))
def test_simultaneous_open_reaches_established(lan):
    """A simultaneous open (crossing SYNs, then each side's SYN-ACK) ends in ESTABLISHED, and data then flows."""
    tcp, sock, _syn = active_open(lan)
    lan.tester.send(tcp.segment("S", seq=tcp.isn, options=[("MSS", 1460)]))
    with precondition("the SUT answers a crossing SYN in SYN-SENT with a SYN-ACK (TCP-EST-SIMULTANEOUS-SYN-ACK)"):
        lan.tester.expect(tcp.from_sut("SA"))
    tcp.snd_nxt = seq_add(tcp.isn, 1)
    lan.tester.send(tcp.segment("SA", seq=tcp.isn, ack=tcp.rcv_nxt, options=[("MSS", 1460)]))
    tcp.sync()
    state = sock.tcp_info().state
    assert state == "ESTABLISHED", f"the simultaneous open must end in ESTABLISHED; the connection is {state}"
    sock.send(b"both opened")
    assert tcp.expect_data() == b"both opened", "data must flow after a simultaneous open"


@case("TCP-EST-SYNRCVD-ACTIVE-RST", title="RST in SYN-RECEIVED after a simultaneous open refuses the connection", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_rst_in_syn_received_of_active_open_refuses(lan):
    """A RST in SYN-RECEIVED reached from SYN-SENT (simultaneous open) means the connection was refused: it is closed and the application told."""
    tcp, sock, _syn = active_open(lan)
    lan.tester.send(tcp.segment("S", seq=tcp.isn, options=[("MSS", 1460)]))
    with precondition("the SUT answers a crossing SYN in SYN-SENT with a SYN-ACK (TCP-EST-SIMULTANEOUS-SYN-ACK)"):
        lan.tester.expect(tcp.from_sut("SA"))
        tcp.snd_nxt = seq_add(tcp.isn, 1)
        assert sock.tcp_info().state == "SYN-RECEIVED", "the crossing SYN did not put the connection in SYN-RECEIVED"
    lan.tester.send(tcp.segment("R", ack=0))
    tcp.sync()
    err = sock.error()
    state = sock.tcp_info().state
    assert state == "CLOSED", f"a RST in SYN-RECEIVED of an active open must close the connection; it is {state}"
    assert err in (errno.ECONNREFUSED, errno.ECONNRESET), (
        f"the application must be told the connection was refused; SO_ERROR is {errno.errorcode.get(err, err)}"
    )


# --- half-open connections ---------------------------------------------------------------------

@case("TCP-EST-HALF-OPEN-RECOVERY", title="Half-open connection is cleared by a new SYN", rfc=9293, section="3.5.1", level=MUST, layer=4, also=(5961,), needs=("sockets",))
def test_half_open_connection_is_cleared_by_new_syn(lan):
    """When the peer of an ESTABLISHED connection has lost it and opens anew, the SUT's ACK to the new SYN lets the peer reset the old connection, after which the new SYN is accepted.

    RFC 9293 3.5.1 (Figure 9): the SYN of the restarted peer draws an ACK; the peer answers it
    with a RST whose sequence number is that ACK's acknowledgment, the SUT aborts the old
    connection, and the peer's next SYN opens a new one.
    """
    tcp, sock, _ = established(lan)
    tcp.send_data(b"before the crash")
    tcp.expect_ack()
    new_isn = seq_add(tcp.isn, 0x40000000)
    ack = lan.tester.exchange(tcp.segment("S", seq=new_isn), expect=tcp.from_sut())
    assert ack[TCP].flags == "A" and ack[TCP].ack == tcp.snd_nxt, (
        f"a SYN on a synchronized connection must be answered with an ACK of RCV.NXT ({tcp.snd_nxt:#x}), "
        f"not a new connection; came {ack.summary()} ack={ack[TCP].ack:#x}"
    )
    lan.tester.send(tcp.segment("R", seq=ack[TCP].ack, ack=0))
    tcp.sync()
    err = sock.error()
    assert err == errno.ECONNRESET, f"the RST at RCV.NXT must abort the old connection (ECONNRESET); SO_ERROR is {errno.errorcode.get(err, err)}"
    fresh = peer(lan, sport=tcp.sport, isn=new_isn)
    fresh.open()


# --- invalid addresses (RFC 9293 3.9.2.3, RFC 1122 4.2.3.10) ------------------------------

def _no_answer_to(lan, syn, port):
    """Nothing TCP from the SUT's `port` may follow the SYN, to any address."""
    lan.tester.send(syn)
    lan.tester.expect_none(like(IP(src=lan.sut.ip) / TCP(sport=port)))


@case("TCP-EST-SYN-TO-BROADCAST", title="SYN to a broadcast address is discarded", rfc=9293, section="3.9.2.3", level=MUST, layer=4, also=(1122,), needs=("sockets",))
def test_syn_to_broadcast_address_is_discarded(lan):
    """A SYN addressed to the subnet's broadcast address is silently discarded, even with a listener on every address: no SYN-ACK, no RST (MUST-57)."""
    lan.app.listen_at("0.0.0.0", SERVICE_PORT)
    tcp = peer(lan)
    tcp.dst_ip, tcp.dst_mac = SUBNET_BROADCAST, "ff:ff:ff:ff:ff:ff"
    _no_answer_to(lan, tcp.segment("S", options=[("MSS", 1460)]), SERVICE_PORT)


@case("TCP-EST-SYN-TO-MULTICAST", title="SYN to a multicast address is discarded", rfc=9293, section="3.9.2.3", level=MUST, layer=4, also=(1122,), needs=("sockets",))
def test_syn_to_multicast_address_is_discarded(lan):
    """A SYN addressed to a multicast group is silently discarded, even with a listener on every address: no SYN-ACK, no RST (MUST-57)."""
    lan.app.listen_at("0.0.0.0", SERVICE_PORT)
    tcp = peer(lan)
    tcp.dst_ip, tcp.dst_mac = ALL_HOSTS, ALL_HOSTS_MAC
    _no_answer_to(lan, tcp.segment("S", options=[("MSS", 1460)]), SERVICE_PORT)


@case("TCP-EST-SYN-FROM-MULTICAST", title="SYN from a multicast source is ignored", rfc=9293, section="3.9.2.3", level=MUST, layer=4, also=(1122,), needs=("sockets",))
def test_syn_from_multicast_source_is_ignored(lan):
    """A SYN whose source address is a multicast address is ignored (by TCP or by IP): no SYN-ACK, no RST (MUST-63)."""
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan, src_ip="224.0.0.5")
    _no_answer_to(lan, tcp.segment("S", options=[("MSS", 1460)]), SERVICE_PORT)


@case("TCP-EST-SYN-FROM-BROADCAST", title="SYN from a broadcast source is ignored", rfc=9293, section="3.9.2.3", level=MUST, layer=4, also=(1122,), needs=("sockets",))
def test_syn_from_broadcast_source_is_ignored(lan):
    """A SYN whose source address is the subnet's broadcast address is ignored (by TCP or by IP): no SYN-ACK, no RST (MUST-63).

    RFC 1122 3.2.1.3 makes a directed broadcast address invalid as a source; the SUT's own
    connected subnet tells it that 198.18.0.255 is one.
    """
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan, src_ip=SUBNET_BROADCAST)
    _no_answer_to(lan, tcp.segment("S", options=[("MSS", 1460)]), SERVICE_PORT)
