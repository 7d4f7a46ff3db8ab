"""Data around a close: half-close in both directions, RST for data that would be lost, the
FIN after queued data and its retransmission, and ABORT (RFC 9293 3.6, 3.10.2, 3.10.4, 3.10.5,
3.10.7.4; RFC 1122 4.2.2.13).

RFC 9293's event processing (3.10) and its description of closing (3.6) are written in lower
case; these cases take its "must" as MUST, its "should" as SHOULD, and its plain instructions
("enter the CLOSE-WAIT state", "send an acknowledgment") as MUST, as the establishment cases do.
"""

import socket
import struct

from cases.tcp.flow import arrival_ns, establish, has, sut_fin, wait_state
from conformance.catalog import MUST, SHOULD, case
from conformance.tcp import payload, seq_add


@case("TCP-CLOSE-HALF-CLOSE-SEND", title="SUT still sends after receiving a FIN", rfc=9293, section="3.10.2", level=MUST, layer=4, needs=("sockets",))
def test_sut_still_sends_after_receiving_fin(lan):
    """After the peer's FIN (CLOSE-WAIT), the SUT's application can still send, and the data
    reaches the peer: a half-closed connection carries data the other way."""
    flow = establish(lan)
    flow.send(flags="FA")
    flow.expect_ack(flow.peer.snd_nxt)
    wait_state(flow, "CLOSE-WAIT")
    flow.sock.send(b"h" * 500)
    got = b"".join(payload(s) for s in flow.receive(500))
    assert got == b"h" * 500, f"the 500 octets sent in CLOSE-WAIT must reach the peer; {len(got)} came"


@case("TCP-CLOSE-HALF-CLOSE-RECEIVE", title="SUT still receives after shutting down its side", rfc=9293, section="3.10.7.4", level=MUST, layer=4, needs=("sockets",))
def test_sut_still_receives_after_shutting_down_its_side(lan):
    """After the SUT's application closed its sending side (FIN-WAIT-2), data from the peer is
    still acknowledged and delivered to the application."""
    flow = establish(lan)
    flow.sock.shutdown(socket.SHUT_WR)
    sut_fin(flow)
    flow.send(flags="A")
    wait_state(flow, "FIN-WAIT-2")
    flow.send(b"r" * 500)
    ack = flow.expect(flow.from_sut())
    assert ack["TCP"].ack == flow.peer.snd_nxt, (
        f"data received in FIN-WAIT-2 must be acknowledged (ACK {flow.peer.snd_nxt:#x}); the SUT sent ACK "
        f"{ack['TCP'].ack:#x}"
    )
    got = flow.app_read(500)
    assert got == b"r" * 500, f"the application must read the 500 octets received after its close; it read {len(got)}"


@case("TCP-CLOSE-UNREAD-DATA-RST", title="CLOSE with unread data sends a RST", rfc=1122, section="4.2.2.13", level=SHOULD, layer=4, needs=("sockets",),
      also=(9293,))
def test_close_with_unread_data_sends_rst(lan):
    """A CLOSE while received data is still unread by the application sends an RST, to show the
    data was lost, rather than a FIN."""
    flow = establish(lan)
    flow.send(b"u" * 100)
    flow.expect_ack(flow.peer.snd_nxt)
    flow.sock.close()
    seg = flow.take(flow.from_sut(where={"TCP.flags": lambda f: "R" in str(f) or "F" in str(f)}))
    assert "R" in str(seg["TCP"].flags), (
        f"closing with 100 unread octets should send an RST; the SUT sent {seg['TCP'].flags} instead"
    )
    assert seg["TCP"].seq == flow.peer.rcv_nxt, (
        f"the RST must be acceptable to the peer (SEQ {flow.peer.rcv_nxt:#x}); it carried {seg['TCP'].seq:#x}"
    )


@case("TCP-CLOSE-DATA-AFTER-CLOSE-RST", title="Data arriving after close is answered with a RST", rfc=1122, section="4.2.2.13", level=SHOULD, layer=4, needs=("sockets",),
      also=(9293,))
def test_data_arriving_after_close_is_answered_with_rst(lan):
    """New data that arrives after the application called CLOSE (it can no longer be read) is
    answered with an RST."""
    flow = establish(lan)
    flow.sock.close()
    sut_fin(flow)
    flow.send(flags="A")
    flow.peer.sync()
    flow.send(b"late" * 25)
    try:
        flow.expect(flow.from_sut(where={"TCP.flags": has("R")}))
    except AssertionError:
        raise AssertionError(
            "RFC 1122 4.2.2.13: data received after CLOSE should be answered with an RST to show it was lost; "
            "none came"
        ) from None


@case("TCP-CLOSE-FIN-AFTER-QUEUED-DATA", title="FIN follows all queued data", rfc=9293, section="3.10.4", level=MUST, layer=4, needs=("sockets",))
def test_fin_follows_all_queued_data(lan):
    """A CLOSE does not cut off data already queued: the FIN is sent after the last octet of the
    preceding SENDs, with the sequence number that follows it.

    The tester offers a 100-octet window; the application writes 300 octets and shuts down at
    once, so most of the data is still queued when CLOSE is called.
    """
    flow = establish(lan, window=100)
    start = flow.peer.rcv_nxt
    flow.sock.send(b"q" * 300)
    flow.sock.shutdown(socket.SHUT_WR)
    segments = flow.receive(300, timeout=5.0)
    got = b"".join(payload(s) for s in segments)
    fin = next((s for s in segments if "F" in str(s["TCP"].flags)), None)
    if fin is None:
        fin = flow.take(flow.from_sut(where={"TCP.flags": has("F")}))
    assert got == b"q" * 300, f"all 300 queued octets must be sent before the FIN; {len(got)} came"
    assert fin["TCP"].seq + len(payload(fin)) == seq_add(start, 300), (
        f"the FIN must follow the last queued octet (SEQ {seq_add(start, 300):#x}); it came at {fin['TCP'].seq:#x}"
    )


@case("TCP-CLOSE-FIN-RETRANSMITTED", title="Unacknowledged FIN is retransmitted", rfc=9293, section="3.6", level=MUST, layer=4, needs=("sockets",),
      waits="one retransmission timeout (0.2-1 s)")
def test_unacknowledged_fin_is_retransmitted(lan):
    """The FIN occupies sequence space and is retransmitted like data until it is acknowledged.

    RFC 9293 3.6, case 1: "All segments preceding and including FIN will be retransmitted until
    acknowledged" (no keyword; read as MUST).
    """
    flow = establish(lan)
    flow.sock.shutdown(socket.SHUT_WR)
    fin = sut_fin(flow)
    first = arrival_ns(lan.tester, fin)
    try:
        again = flow.take(flow.from_sut(seq=fin["TCP"].seq, where={"TCP.flags": has("F")}), timeout=3.0)
    except AssertionError:
        raise AssertionError("an unacknowledged FIN must be retransmitted; none came within 3 s") from None
    gap = (arrival_ns(lan.tester, again) - first) / 1e9
    assert payload(again) == b"", f"the retransmitted FIN must carry no new data ({gap:.2f} s after the first)"


@case("TCP-CLOSE-ABORT-SENDS-RST", title="ABORT sends a RST at SND.NXT", rfc=9293, section="3.10.5", level=MUST, layer=4, needs=("sockets",))
def test_abort_sends_rst_at_snd_nxt(lan):
    """An ABORT (close with a zero linger time) sends a reset <SEQ=SND.NXT><CTL=RST> and no FIN."""
    flow = establish(lan)
    flow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    flow.sock.close()
    seg = flow.take(flow.from_sut(where={"TCP.flags": lambda f: "R" in str(f) or "F" in str(f)}))
    assert "R" in str(seg["TCP"].flags) and "F" not in str(seg["TCP"].flags), (
        f"an ABORT must send a reset, not a FIN; the SUT sent {seg['TCP'].flags}"
    )
    assert seg["TCP"].seq == flow.peer.rcv_nxt, (
        f"the reset must carry SEQ=SND.NXT {flow.peer.rcv_nxt:#x}; it carried {seg['TCP'].seq:#x}"
    )
