"""Retransmission of the SUT's SYN and SYN-ACK: same segment, 1 s initial RTO, exponential
backoff (RFC 9293 3.8.1, RFC 6298 2.1 and 5.5, RFC 1122 4.2.3.1). The tester claims its address
by ARP but its kernel never answers, so the SUT's active open goes unanswered; on the passive
side the tester simply never completes the handshake.

RFC 6298's backoff (5.5, a MUST) is the rule of the retransmission timer for data; RFC 1122
4.2.3.1 extends it to the handshake with a SHOULD: "Retransmission of SYN segments SHOULD use
the same algorithm as data segments." The backoff cases of SYN and SYN-ACK are therefore SHOULD.
"""

from cases.tcp.flow import LISTEN_PORT, arrival_ns, sut_syn
from cases.tcp.frames import synack_for
from conformance.catalog import MUST, SHOULD, case
from conformance.tcp import TcpPeer
from conformance.verdict import Inconclusive

PORT = 9100


def syn_train(lan, count: int, timeout: float):
    """Start an active open on the SUT and collect its first SYN and `count` retransmissions."""
    lan.app.connect(lan.tester.ip, PORT)
    try:
        syns = [lan.tester.expect(sut_syn(lan, PORT))]
    except AssertionError:
        raise Inconclusive("precondition not met: the SUT's application opened a connection but no SYN came") from None
    return _train(lan, syns, lambda: sut_syn(lan, PORT), count, timeout, "SYN")


def _train(lan, segments, matcher, count: int, timeout: float, what: str):
    """Add `count` retransmissions of the first of `segments` to it. The first is awaited for
    `timeout`; each later one also for 2.5 times the gap before it, which a backed-off timer
    needs (an initial RTO of 3 s, RFC 1122's, doubles to 6 s). A first retransmission that does
    not come is the caller's to judge (AssertionError); a later one makes the backoff unjudgeable."""
    for i in range(count):
        wait = timeout
        if len(segments) > 1:
            wait = max(timeout, 2.5 * (arrival_ns(lan.tester, segments[-1]) - arrival_ns(lan.tester, segments[-2])) / 1e9)
        try:
            segments.append(lan.tester.expect(matcher(), timeout=wait))
        except AssertionError:
            if i == 0:
                raise
            raise Inconclusive(f"precondition not met: the SUT sent no further {what} retransmission within {wait:.1f} s "
                               f"of its last, so the timer's backoff cannot be judged") from None
    return segments


@case("TCP-RETRANSMIT-SYN", title="Unanswered SYN is retransmitted unchanged", rfc=9293, section="3.10.8", level=MUST, layer=4, needs=("sockets",), also=(6298,),
      waits="the initial retransmission timeout (1 s)")
def test_unanswered_syn_is_retransmitted_unchanged(lan):
    """An unanswered SYN is retransmitted: the same segment, with the same initial sequence number,
    ports and options.

    RFC 9293 3.10.8: on a retransmission timeout, "send the segment at the front of the
    retransmission queue again" (a plain instruction, read as MUST); 3.8.3: "SYN retransmissions
    MUST be handled in the general way just described for data retransmissions".
    """
    try:
        first, again = syn_train(lan, 1, timeout=3.5)
    except AssertionError:
        raise AssertionError("an unanswered SYN must be retransmitted; no second SYN came within 3.5 s") from None
    a, b = first["TCP"], again["TCP"]
    assert b.seq == a.seq, f"the retransmitted SYN must keep the ISN {a.seq:#x}; it carried {b.seq:#x}"
    assert (b.sport, b.dport) == (a.sport, a.dport), "the retransmitted SYN must belong to the same connection"
    kinds = [name for name, _ in a.options], [name for name, _ in b.options]
    assert kinds[0] == kinds[1], f"the retransmitted SYN must offer the same options: {kinds[0]} then {kinds[1]}"
    fixed = [o for o in a.options if o[0] != "Timestamp"], [o for o in b.options if o[0] != "Timestamp"]
    assert fixed[0] == fixed[1], (
        f"the retransmitted SYN must offer the same option values (a TSval may advance): {fixed[0]} then {fixed[1]}"
    )


@case("TCP-RETRANSMIT-SYN-INITIAL-RTO", title="Initial RTO is one second", rfc=6298, section="2.1", level=SHOULD, layer=4, needs=("sockets",),
      waits="the initial retransmission timeout (1 s)")
def test_initial_rto_is_one_second(lan):
    """Before any RTT measurement the RTO is 1 second: the first SYN retransmission comes about 1 s
    after the SYN (accepted: 0.9 to 1.5 s)."""
    first, again = syn_train(lan, 1, timeout=3.5)
    gap = (arrival_ns(lan.tester, again) - arrival_ns(lan.tester, first)) / 1e9
    assert 0.9 <= gap <= 1.5, f"the initial RTO should be 1 s; the SYN was retransmitted after {gap:.3f} s"


@case("TCP-RETRANSMIT-SYN-BACKOFF", title="SYN retransmission timer backs off", rfc=1122, section="4.2.3.1", level=SHOULD,
      layer=4, needs=("sockets",), also=(6298,),
      waits="two SYN retransmission timeouts (1 s + 2 s; up to 2.5 times the first for the second)")
def test_syn_retransmission_timer_backs_off(lan):
    """SYN retransmission uses the data algorithm, whose RTO doubles on each expiry: the second SYN
    retransmission waits about twice as long as the first (at least 1.6 times, for timer slack).

    RFC 1122 4.2.3.1: "Retransmission of SYN segments SHOULD use the same algorithm as data
    segments"; that algorithm (RFC 6298 5.5) sets RTO <- RTO * 2 when the timer expires.
    """
    syns = syn_train(lan, 2, timeout=4.5)
    t = [arrival_ns(lan.tester, s) / 1e9 for s in syns]
    first, second = t[1] - t[0], t[2] - t[1]
    assert second >= 1.6 * first, (
        f"RFC 1122 4.2.3.1 / RFC 6298 5.5: SYN retransmission should back off like data (RTO doubled on expiry); "
        f"the SYN retransmissions came {first:.3f} s and then {second:.3f} s apart"
    )


def synack_train(lan, count: int, timeout: float):
    """Send a SYN to a listener on the SUT, never complete the handshake, and collect the SUT's
    SYN-ACK and `count` retransmissions of it."""
    lan.app.listen(LISTEN_PORT)
    peer = TcpPeer(lan.tester, dst_ip=lan.sut.ip, dst_mac=lan.sut.mac, dport=LISTEN_PORT)
    synacks = [synack_for(lan, peer, peer.segment("S", options=[("MSS", 1460)]))]
    return _train(lan, synacks, lambda: peer.from_sut("SA"), count, timeout, "SYN-ACK")


@case("TCP-RETRANSMIT-SYNACK", title="Unanswered SYN-ACK is retransmitted", rfc=9293, section="3.10.8", level=MUST, layer=4, needs=("sockets",), also=(6298,),
      waits="the initial retransmission timeout (1 s)")
def test_unanswered_syn_ack_is_retransmitted(lan):
    """A SYN-ACK that is not acknowledged is retransmitted with the same sequence and
    acknowledgment numbers.

    RFC 9293 3.10.8: on a retransmission timeout, "send the segment at the front of the
    retransmission queue again" (a plain instruction, read as MUST).
    """
    try:
        first, again = synack_train(lan, 1, timeout=3.5)
    except AssertionError:
        raise AssertionError("an unacknowledged SYN-ACK must be retransmitted; none came again within 3.5 s") from None
    assert (again["TCP"].seq, again["TCP"].ack) == (first["TCP"].seq, first["TCP"].ack), (
        f"the retransmitted SYN-ACK must repeat SEQ {first['TCP'].seq:#x} ACK {first['TCP'].ack:#x}; it carried "
        f"SEQ {again['TCP'].seq:#x} ACK {again['TCP'].ack:#x}"
    )


@case("TCP-RETRANSMIT-SYNACK-BACKOFF", title="SYN-ACK retransmission timer backs off", rfc=1122, section="4.2.3.1",
      level=SHOULD, layer=4, needs=("sockets",), also=(6298,),
      waits="two SYN-ACK retransmission timeouts (1 s + 2 s; up to 2.5 times the first for the second)")
def test_syn_ack_retransmission_timer_backs_off(lan):
    """The SYN-ACK is a SYN segment too, retransmitted with the data algorithm: the second SYN-ACK
    retransmission waits at least 1.6 times as long as the first (RFC 1122 4.2.3.1, a SHOULD)."""
    synacks = synack_train(lan, 2, timeout=4.5)
    t = [arrival_ns(lan.tester, s) / 1e9 for s in synacks]
    first, second = t[1] - t[0], t[2] - t[1]
    assert second >= 1.6 * first, (
        f"RFC 1122 4.2.3.1 / RFC 6298 5.5: SYN-ACK retransmission should back off like data (RTO doubled on expiry); "
        f"the SYN-ACK retransmissions came {first:.3f} s and then {second:.3f} s apart"
    )
