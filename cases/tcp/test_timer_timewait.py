"""TIME-WAIT: how long it lasts and what it does with a repeated FIN, an RST and new SYNs
(RFC 9293 3.10.7.4, 3.4.2; RFC 1122 4.2.2.13; RFC 1337 is informational).

RFC 9293's event processing (3.10) and its description of closing (3.6) are written in lower
case; these cases take its "must" as MUST, its "should" as SHOULD, and its plain instructions
("enter the CLOSE-WAIT state", "send an acknowledgment") as MUST, as the establishment cases do.
"""

import socket

import pytest

from cases.tcp.flow import establish, sut_fin, table_entry, table_state
from cases.tcp.frames import precondition
from conformance.catalog import MAY, MUST, case
from conformance.tcp import TcpPeer, seq_add
from conformance.verdict import Inconclusive
from conformance.wire import UnwantedFrame

TIMER_SLACK_S = 2.0  # the time between the SUT entering TIME-WAIT and the case reading its timer


def time_wait(lan, judged: bool = False):
    """A flow the SUT closed actively and that is now in TIME-WAIT on the SUT; returns it and the
    SUT's SND.NXT (the largest sequence number it used, plus one).

    The close is a precondition of every TIME-WAIT case; reaching TIME-WAIT is one too, except
    for the case that judges it (`judged`): a SUT elsewhere is then a FAIL, not INCONCLUSIVE."""
    flow = establish(lan)
    with precondition("the SUT's application closes actively and the FIN exchange completes"):
        flow.send(b"t" * 100)
        flow.expect_ack(flow.peer.snd_nxt)
        flow.app_read(100)
        flow.sock.shutdown(socket.SHUT_WR)
        sut_fin(flow)
        flow.send(flags="FA")
        flow.expect_ack(flow.peer.snd_nxt)
    flow.peer.sync()
    state = table_state(lan, flow)
    if state != "TIME-WAIT":
        message = f"after an active close and the peer's FIN the SUT must be in TIME-WAIT; it is {state}"
        if judged:
            raise AssertionError(message)
        raise Inconclusive(f"precondition not met: {message}")
    return flow, flow.peer.rcv_nxt


def new_syn(lan, flow, seq: int):
    """A SYN for the same 4-tuple as `flow`, with sequence number `seq`."""
    peer = TcpPeer(lan.tester, dst_ip=lan.sut.ip, dst_mac=lan.sut.mac, dport=flow.peer.dport,
                   sport=flow.peer.sport, isn=seq)
    return peer, peer.segment("S", options=[("MSS", 1460)])


@case("TCP-TIMEWAIT-LASTS-2MSL", title="TIME-WAIT lasts two MSL", rfc=1122, section="4.2.2.13", level=MUST, layer=4,
      needs=("sockets", "counters"), also=(9293,))
def test_time_wait_lasts_two_msl(lan):
    """A connection closed actively lingers in TIME-WAIT for 2 x MSL, the MSL being the one the SUT declares.

    RFC 1122 4.2.2.13: "When a connection is closed actively, it MUST linger in TIME-WAIT state
    for a time 2xMSL (Maximum Segment Lifetime)". RFC 9293 3.4.2 takes the MSL to be 2 minutes
    and calls that "an engineering choice", so the suite does not fix it: the SUT declares its
    MSL (SutControl.msl_s; the local Linux kernel's is 30 s, its TIME-WAIT being a fixed
    TCP_TIMEWAIT_LEN of 60 s). The SUT's TCP table shows the time left on the TIME-WAIT timer
    right after it started; it must be at least 2 x MSL less 2 s for the time the case took.
    """
    flow, _ = time_wait(lan, judged=True)
    entry = table_entry(lan, flow)
    msl = lan.control.msl_s
    lan.control.preconditions.append(f"the SUT declares an MSL of {msl:g} s (TIME-WAIT judged against 2 x MSL = {2 * msl:g} s)")
    assert entry.timer_left_s >= 2 * msl - TIMER_SLACK_S, (
        f"TIME-WAIT must last 2 MSL = {2 * msl:g} s (the SUT's declared MSL is {msl:g} s); the SUT's TIME-WAIT timer "
        f"was set to {entry.timer_left_s:.1f} s"
    )


@case("TCP-TIMEWAIT-FIN-ACKED", title="Retransmitted FIN in TIME-WAIT is acknowledged", rfc=9293, section="3.10.7.4", level=MUST, layer=4,
      needs=("sockets", "counters"))
def test_retransmitted_fin_in_time_wait_is_acked(lan):
    """In TIME-WAIT, a retransmission of the peer's FIN is acknowledged and the connection stays
    in TIME-WAIT."""
    flow, _ = time_wait(lan)
    flow.send(flags="FA", seq=(flow.peer.snd_nxt - 1) % (1 << 32))
    ack = flow.expect(flow.from_sut())
    assert "A" in str(ack["TCP"].flags) and ack["TCP"].ack == flow.peer.snd_nxt, (
        f"a repeated FIN in TIME-WAIT must be acknowledged (ACK {flow.peer.snd_nxt:#x}); the SUT sent "
        f"{ack['TCP'].flags} ACK {ack['TCP'].ack:#x}"
    )
    flow.peer.sync()
    state = table_state(lan, flow)
    assert state == "TIME-WAIT", f"the SUT must stay in TIME-WAIT; it is {state}"


@case("TCP-TIMEWAIT-RST-CLOSES", title="RST in TIME-WAIT deletes the TCB", rfc=9293, section="3.10.7.4", level=MUST, layer=4,
      needs=("sockets", "counters"))
def test_rst_in_time_wait_deletes_the_tcb(lan):
    """An RST received in TIME-WAIT (at exactly RCV.NXT) makes the SUT enter CLOSED and delete
    the TCB (RFC 9293; RFC 1337, informational, argues for ignoring it instead)."""
    flow, _ = time_wait(lan)
    flow.send(flags="R")
    flow.peer.sync()
    state = table_state(lan, flow)
    assert state is None, f"an RST in TIME-WAIT must close the connection and delete the TCB; it is still {state}"


@case("TCP-TIMEWAIT-NEW-SYN-ACCEPTED", title="New SYN with a higher sequence number reopens from TIME-WAIT", rfc=1122, section="4.2.2.13", level=MAY, layer=4,
      needs=("sockets", "counters"))
def test_new_syn_with_higher_sequence_reopens_from_time_wait(lan):
    """A TCP in TIME-WAIT may accept a new SYN from the peer for the same 4-tuple when its sequence
    number is above the old connection's, opening a new incarnation (a SYN-ACK comes)."""
    flow, _ = time_wait(lan)
    peer, syn = new_syn(lan, flow, seq_add(flow.peer.snd_nxt, 100000))
    answer = peer.answer_to(syn)
    assert answer is not None and str(answer["TCP"].flags) == "SA", (
        "a SYN above the old sequence space may reopen the connection from TIME-WAIT; the SUT answered "
        f"{answer['TCP'].flags if answer is not None else 'nothing'}"
    )


@case("TCP-TIMEWAIT-REOPEN-ISN-ABOVE-OLD", title="Reopened connection uses an ISN above the old sequence space", rfc=1122, section="4.2.2.13", level=MUST, layer=4,
      needs=("sockets", "counters"))
def test_reopened_connection_uses_an_isn_above_the_old_sequence_space(lan):
    """When a SYN reopens a connection from TIME-WAIT, the new incarnation's ISN is larger than the
    largest sequence number used on the previous one."""
    flow, old_nxt = time_wait(lan)
    peer, syn = new_syn(lan, flow, seq_add(flow.peer.snd_nxt, 100000))
    answer = peer.answer_to(syn)
    if answer is None or str(answer["TCP"].flags) != "SA":
        pytest.skip("not applicable: the SUT did not reopen the connection from TIME-WAIT (it MAY refuse)")
    isn = answer["TCP"].seq
    diff = (isn - old_nxt) % (1 << 32)
    assert 0 < diff < 1 << 31, (
        f"the new ISN {isn:#x} must be above the old connection's last sequence number {old_nxt - 1:#x}"
    )


@case("TCP-TIMEWAIT-OLD-SYN-NO-REOPEN", title="SYN below the old sequence space does not reopen", rfc=1122, section="4.2.2.13", level=MUST, layer=4,
      needs=("sockets", "counters"), also=(9293,))
def test_syn_below_the_old_sequence_space_does_not_reopen(lan):
    """A SYN whose sequence number lies below the old connection's RCV.NXT (an old duplicate) does
    not open a new connection: the SUT stays in TIME-WAIT and sends no SYN-ACK."""
    flow, _ = time_wait(lan)
    peer, syn = new_syn(lan, flow, seq_add(flow.peer.snd_nxt, -50000))
    lan.tester.send(syn)
    try:
        lan.tester.expect_none(peer.from_sut("SA"))
    except UnwantedFrame:
        raise AssertionError(
            "TIME-WAIT must not be left for a SYN below the old sequence space (an old duplicate); "
            "the SUT answered with a SYN-ACK"
        ) from None
    state = table_state(lan, flow)
    assert state == "TIME-WAIT", f"the SUT must stay in TIME-WAIT; it is {state}"
