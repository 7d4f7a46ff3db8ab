"""Closing a connection: FIN in each state, with the SUT's TCP state as the second oracle
(RFC 9293 3.6, 3.10.4, 3.10.7.4).

RFC 9293's event processing (3.10) and its description of closing (3.6) are written in lower
case; these cases take its "must" as MUST, its "should" as SHOULD, and its plain instructions
("enter the CLOSE-WAIT state", "send an acknowledgment") as MUST, as the establishment cases do.
"""

import socket

from cases.tcp.flow import establish, sut_fin, table_state, wait_state
from conformance.catalog import MUST, case
from conformance.verdict import Inconclusive


def close_wait(lan):
    """A flow in which the tester sent FIN and the SUT acknowledged it (SUT in CLOSE-WAIT)."""
    flow = establish(lan)
    flow.send(flags="FA")
    flow.expect_ack(flow.peer.snd_nxt)
    return flow


def fin_wait_1(lan):
    """A flow in which the SUT's application shut down its sending side (SUT in FIN-WAIT-1)."""
    flow = establish(lan)
    flow.sock.shutdown(socket.SHUT_WR)
    fin = sut_fin(flow)
    return flow, fin


@case("TCP-CLOSE-FIN-IN-ESTABLISHED", title="FIN in ESTABLISHED is acknowledged and leads to CLOSE-WAIT", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_fin_in_established_is_acked_and_leads_to_close_wait(lan):
    """A FIN received in ESTABLISHED is acknowledged, the connection enters CLOSE-WAIT and the
    application is told the peer has closed (end of stream)."""
    flow = establish(lan)
    fin_seq = flow.peer.snd_nxt
    flow.send(flags="FA")
    ack = flow.expect(flow.from_sut())
    assert ack["TCP"].ack == flow.peer.snd_nxt, (
        f"the FIN at {fin_seq:#x} must be acknowledged with ACK {flow.peer.snd_nxt:#x}; the SUT sent ACK {ack['TCP'].ack:#x}"
    )
    state = wait_state(flow, "CLOSE-WAIT")
    assert state == "CLOSE-WAIT", f"after a FIN in ESTABLISHED the SUT must be in CLOSE-WAIT; it is {state}"
    assert flow.sock.recv(timeout=0.5) == b"", "the application must see the end of the stream"


@case("TCP-CLOSE-FIN-REPEATED-IN-CLOSE-WAIT", title="Repeated FIN in CLOSE-WAIT is acknowledged and the state kept", rfc=9293, section="3.10.7.4", level=MUST, layer=4,
      needs=("sockets",))
def test_repeated_fin_in_close_wait_is_acked_and_state_kept(lan):
    """A retransmitted FIN in CLOSE-WAIT is acknowledged again and the connection stays in CLOSE-WAIT."""
    flow = close_wait(lan)
    flow.send(flags="FA", seq=(flow.peer.snd_nxt - 1) % (1 << 32))
    ack = flow.expect(flow.from_sut())
    assert ack["TCP"].ack == flow.peer.snd_nxt, (
        f"a repeated FIN must be acknowledged with RCV.NXT {flow.peer.snd_nxt:#x}; the SUT sent ACK {ack['TCP'].ack:#x}"
    )
    state = flow.sock.tcp_info().state
    assert state == "CLOSE-WAIT", f"a repeated FIN must leave the SUT in CLOSE-WAIT; it is {state}"


@case("TCP-CLOSE-LAST-ACK-FIN", title="CLOSE in CLOSE-WAIT sends a FIN and enters LAST-ACK", rfc=9293, section="3.10.4", level=MUST, layer=4, needs=("sockets",))
def test_close_in_close_wait_sends_fin_and_enters_last_ack(lan):
    """A CLOSE in CLOSE-WAIT sends a FIN at SND.NXT that acknowledges the peer's FIN, and the
    connection enters LAST-ACK."""
    flow = close_wait(lan)
    snd_nxt = flow.peer.rcv_nxt
    flow.sock.shutdown(socket.SHUT_WR)
    fin = sut_fin(flow)
    assert fin["TCP"].seq == snd_nxt and fin["TCP"].ack == flow.peer.snd_nxt, (
        f"the FIN must carry SEQ=SND.NXT {snd_nxt:#x} and ACK {flow.peer.snd_nxt:#x}; it carried "
        f"SEQ {fin['TCP'].seq:#x} ACK {fin['TCP'].ack:#x}"
    )
    state = wait_state(flow, "LAST-ACK")
    assert state == "LAST-ACK", f"after CLOSE in CLOSE-WAIT the SUT must be in LAST-ACK; it is {state}"


@case("TCP-CLOSE-LAST-ACK-TO-CLOSED", title="ACK of FIN in LAST-ACK closes", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_ack_of_fin_in_last_ack_closes(lan):
    """In LAST-ACK, the acknowledgment of the SUT's FIN deletes the TCB: the connection is CLOSED."""
    flow = close_wait(lan)
    flow.sock.shutdown(socket.SHUT_WR)
    sut_fin(flow)
    flow.send(flags="A")
    state = wait_state(flow, "CLOSED")
    assert state == "CLOSED", f"once its FIN is acknowledged in LAST-ACK the SUT must be CLOSED; it is {state}"
    assert table_state(lan, flow) is None, "the TCB must be deleted (no entry in the SUT's TCP table)"


@case("TCP-CLOSE-FIN-REPEATED-IN-LAST-ACK", title="Repeated FIN in LAST-ACK is acknowledged and the state kept", rfc=9293, section="3.10.7.4", level=MUST, layer=4,
      needs=("sockets",))
def test_repeated_fin_in_last_ack_is_acked_and_state_kept(lan):
    """A retransmitted FIN from the peer in LAST-ACK is acknowledged and the SUT stays in LAST-ACK."""
    flow = close_wait(lan)
    flow.sock.shutdown(socket.SHUT_WR)
    fin = sut_fin(flow)
    flow.send(flags="FA", seq=(flow.peer.snd_nxt - 1) % (1 << 32), ack=fin["TCP"].seq)
    ack = flow.expect(flow.from_sut())
    assert ack["TCP"].ack == flow.peer.snd_nxt, (
        f"a repeated FIN must be acknowledged with RCV.NXT {flow.peer.snd_nxt:#x}; the SUT sent ACK {ack['TCP'].ack:#x}"
    )
    state = flow.sock.tcp_info().state
    assert state == "LAST-ACK", f"a repeated FIN must leave the SUT in LAST-ACK; it is {state}"


@case("TCP-CLOSE-FIN-WAIT-1", title="CLOSE in ESTABLISHED sends a FIN and enters FIN-WAIT-1", rfc=9293, section="3.10.4", level=MUST, layer=4, needs=("sockets",))
def test_close_in_established_sends_fin_and_enters_fin_wait_1(lan):
    """A CLOSE in ESTABLISHED sends a FIN at SND.NXT and the connection enters FIN-WAIT-1."""
    flow = establish(lan)
    snd_nxt = flow.peer.rcv_nxt
    flow.sock.shutdown(socket.SHUT_WR)
    fin = sut_fin(flow)
    assert fin["TCP"].seq == snd_nxt, f"the FIN must carry SEQ=SND.NXT {snd_nxt:#x}; it carried {fin['TCP'].seq:#x}"
    state = flow.sock.tcp_info().state
    assert state == "FIN-WAIT-1", f"after CLOSE in ESTABLISHED the SUT must be in FIN-WAIT-1; it is {state}"


@case("TCP-CLOSE-FIN-WAIT-2", title="ACK of FIN in FIN-WAIT-1 leads to FIN-WAIT-2", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_ack_of_fin_in_fin_wait_1_leads_to_fin_wait_2(lan):
    """In FIN-WAIT-1, the acknowledgment of the SUT's FIN moves the connection to FIN-WAIT-2."""
    flow, _ = fin_wait_1(lan)
    flow.send(flags="A")
    state = wait_state(flow, "FIN-WAIT-2")
    assert state == "FIN-WAIT-2", f"once its FIN is acknowledged the SUT must be in FIN-WAIT-2; it is {state}"


@case("TCP-CLOSE-FIN-IN-FIN-WAIT-2", title="FIN in FIN-WAIT-2 is acknowledged and leads to TIME-WAIT", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets", "counters"))
def test_fin_in_fin_wait_2_is_acked_and_leads_to_time_wait(lan):
    """A FIN received in FIN-WAIT-2 is acknowledged and the connection enters TIME-WAIT."""
    flow, _ = fin_wait_1(lan)
    flow.send(flags="A")
    wait_state(flow, "FIN-WAIT-2")
    flow.send(flags="FA")
    ack = flow.expect(flow.from_sut())
    assert ack["TCP"].ack == flow.peer.snd_nxt, (
        f"the FIN must be acknowledged with ACK {flow.peer.snd_nxt:#x}; the SUT sent ACK {ack['TCP'].ack:#x}"
    )
    flow.peer.sync()
    state = table_state(lan, flow)
    assert state == "TIME-WAIT", f"after a FIN in FIN-WAIT-2 the SUT's TCB must be in TIME-WAIT; it is {state}"


@case("TCP-CLOSE-SIMULTANEOUS-CLOSING", title="FIN in FIN-WAIT-1 without an ACK of ours leads to CLOSING", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_fin_in_fin_wait_1_without_ack_of_ours_leads_to_closing(lan):
    """A FIN that arrives in FIN-WAIT-1 without acknowledging the SUT's FIN (a simultaneous close)
    is acknowledged and the connection enters CLOSING."""
    flow, fin = fin_wait_1(lan)
    flow.send(flags="FA", ack=fin["TCP"].seq)
    ack = flow.expect(flow.from_sut())
    assert ack["TCP"].ack == flow.peer.snd_nxt, (
        f"the peer's FIN must be acknowledged with ACK {flow.peer.snd_nxt:#x}; the SUT sent ACK {ack['TCP'].ack:#x}"
    )
    state = wait_state(flow, "CLOSING")
    assert state == "CLOSING", f"after a FIN that does not ack its own, the SUT must be in CLOSING; it is {state}"


@case("TCP-CLOSE-CLOSING-TO-TIME-WAIT", title="ACK of FIN in CLOSING leads to TIME-WAIT", rfc=9293, section="3.10.7.4", level=MUST, layer=4,
      needs=("sockets", "counters"))
def test_ack_of_fin_in_closing_leads_to_time_wait(lan):
    """In CLOSING, the acknowledgment of the SUT's FIN moves the connection to TIME-WAIT."""
    flow, fin = fin_wait_1(lan)
    flow.send(flags="FA", ack=fin["TCP"].seq)
    flow.expect(flow.from_sut())
    wait_state(flow, "CLOSING")
    flow.send(flags="A")
    flow.peer.sync()
    state = table_state(lan, flow)
    assert state == "TIME-WAIT", f"once its FIN is acknowledged in CLOSING the SUT must be in TIME-WAIT; it is {state}"


@case("TCP-CLOSE-FIN-ACK-IN-FIN-WAIT-1", title="FIN acking our FIN in FIN-WAIT-1 leads to TIME-WAIT", rfc=9293, section="3.10.7.4", level=MUST, layer=4,
      needs=("sockets", "counters"))
def test_fin_acking_our_fin_in_fin_wait_1_leads_to_time_wait(lan):
    """A FIN that also acknowledges the SUT's FIN in FIN-WAIT-1 is acknowledged and the
    connection goes straight to TIME-WAIT."""
    flow, _ = fin_wait_1(lan)
    flow.send(flags="FA")
    ack = flow.expect(flow.from_sut())
    assert ack["TCP"].ack == flow.peer.snd_nxt, (
        f"the peer's FIN must be acknowledged with ACK {flow.peer.snd_nxt:#x}; the SUT sent ACK {ack['TCP'].ack:#x}"
    )
    flow.peer.sync()
    state = table_state(lan, flow)
    assert state == "TIME-WAIT", f"after FIN+ACK of its FIN in FIN-WAIT-1 the SUT must be in TIME-WAIT; it is {state}"


@case("TCP-CLOSE-FIN-WITH-DATA", title="FIN carrying data delivers the data, then the end", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_fin_carrying_data_delivers_the_data_then_the_end(lan):
    """A FIN segment that carries data delivers the data, then the end of the stream; the ACK
    covers both the data and the FIN."""
    flow = establish(lan)
    flow.send(b"last words", flags="FPA")
    ack = flow.expect(flow.from_sut())
    assert ack["TCP"].ack == flow.peer.snd_nxt, (
        f"the ACK must cover the 10 octets and the FIN ({flow.peer.snd_nxt:#x}); it was {ack['TCP'].ack:#x}"
    )
    got = flow.app_read(10)
    assert got == b"last words", f"the FIN's data must reach the application; it read {got!r}"
    assert flow.sock.recv(timeout=0.5) == b"", "after the data the application must see the end of the stream"


@case("TCP-CLOSE-FIN-OUT-OF-ORDER", title="FIN beyond a hole waits for the missing data", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_fin_beyond_a_hole_waits_for_the_missing_data(lan):
    """A FIN that arrives beyond a gap is not processed until the gap is filled: the connection
    stays ESTABLISHED and the FIN unacknowledged; once the missing data arrives, all is
    acknowledged, the connection enters CLOSE-WAIT and the application reads the data, then
    the end of the stream."""
    flow = establish(lan)
    flow.send(b"b" * 100, flags="FPA", seq=flow.offset(100), advance=False)
    try:
        dup = flow.expect(flow.from_sut())
    except AssertionError:
        # The duplicate ACK is RFC 5681 4.2's SHOULD (TCP-DATA-OOO-IMMEDIATE-DUPACK judges it);
        # without it only the connection's state shows whether the FIN was taken.
        state = flow.sock.tcp_info().state
        assert state == "ESTABLISHED", f"a FIN beyond a hole must not be processed yet; the SUT is in {state}"
        raise Inconclusive("the SUT sent no duplicate ACK for the out-of-order FIN segment (RFC 5681 4.2 SHOULD) and "
                           "stayed ESTABLISHED, so whether it holds the FIN until the gap is filled cannot be seen") from None
    assert dup["TCP"].ack == flow.peer.snd_nxt, (
        f"a FIN beyond a hole must not be acknowledged (ACK must stay {flow.peer.snd_nxt:#x}); it was {dup['TCP'].ack:#x}"
    )
    state = flow.sock.tcp_info().state
    assert state == "ESTABLISHED", f"a FIN beyond a hole must not be processed yet; the SUT is in {state}"
    flow.send(b"a" * 100)
    end = flow.offset(101)
    try:
        flow.take(flow.from_sut(ack=end), timeout=1.0)
    except AssertionError:
        raise AssertionError(f"once the gap is filled, the data and the FIN must be acknowledged ({end:#x})") from None
    state = wait_state(flow, "CLOSE-WAIT")
    assert state == "CLOSE-WAIT", f"once the gap is filled the FIN must be processed (CLOSE-WAIT); it is {state}"
    got = flow.app_read(200)
    assert got == b"a" * 100 + b"b" * 100, f"the application must read the 200 octets in order; it read {len(got)}"
    assert flow.sock.recv(timeout=0.5) == b"", "after the data the application must see the end of the stream"
