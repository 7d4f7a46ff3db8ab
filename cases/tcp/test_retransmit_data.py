"""Retransmission of data: the timer, its backoff and lower bound, fast retransmit and the R2
limit (RFC 6298 2.4, 5.4, 5.5; RFC 5681 3.2; RFC 1122 4.2.3.5). SACK is not negotiated, so the
retransmission timer and duplicate ACKs are the only loss signals."""

import errno
import socket
import time
from itertools import pairwise

from cases.tcp.flow import arrival_ns, establish, last_sent_ns, wait_state
from conformance.catalog import MUST, SHOULD, case
from conformance.tcp import payload, seq_add


def measured_flow(lan, **kw):
    """A connection on which the SUT already has an RTT sample (one data segment sent and acked)."""
    flow = establish(lan, **kw)
    flow.sock.send(b"m" * 10)
    flow.receive(10)
    return flow


def retransmissions(flow, data: bytes, count: int, timeout: float):
    """The SUT's application writes `data`; the tester acknowledges nothing and collects the
    original segment and `count` retransmissions of it."""
    seq = flow.peer.rcv_nxt
    flow.sock.send(data)
    segs = [flow.take(flow.from_sut(seq=seq))]
    for _ in range(count):
        segs.append(flow.take(flow.from_sut(seq=seq), timeout=timeout))
    return segs


@case("TCP-RETRANSMIT-DATA", rfc=9293, section="3.10.8", level=MUST, layer=4, needs=("sockets",), also=(6298,),
      waits="one retransmission timeout (0.2-1 s)")
def test_unacknowledged_data_is_retransmitted(lan):
    """When the retransmission timer expires, the earliest unacknowledged segment is retransmitted
    with its original sequence number and data.

    RFC 9293 3.10.8 (RETRANSMISSION TIMEOUT): "send the segment at the front of the retransmission
    queue again", a plain instruction of the event processing, read as MUST. RFC 6298 (5.4) says
    the same within an algorithm it only RECOMMENDS, so it is not the source of the level.
    """
    flow = measured_flow(lan)
    try:
        first, again = retransmissions(flow, b"R" * 200, 1, timeout=3.5)
    except AssertionError:
        raise AssertionError("unacknowledged data must be retransmitted; nothing came back within 3.5 s") from None
    assert payload(again) == payload(first), (
        f"the retransmission must carry the same data from the same sequence number; it carried {len(payload(again))} "
        f"octets {payload(again)[:8]!r}"
    )


@case("TCP-RETRANSMIT-DATA-BACKOFF", rfc=6298, section="5.5", level=MUST, layer=4, needs=("sockets", "sysctl"),
      waits="three retransmission timeouts with net.ipv4.tcp_rto_min_us=100000 (about 0.7 s)")
def test_data_retransmission_timer_backs_off(lan):
    """Each expiry of the retransmission timer doubles the RTO: successive retransmissions of the
    same segment come at least 1.6 times as far apart as the previous ones.

    The SUT's minimum RTO is lowered to 100 ms through its sysctl to keep the case short.
    """
    lan.control.set_sysctl("net.ipv4.tcp_rto_min_us", 100000)
    flow = measured_flow(lan)
    segs = retransmissions(flow, b"B" * 200, 3, timeout=3.0)
    t = [arrival_ns(lan.tester, s) / 1e9 for s in segs]
    gaps = [b - a for a, b in pairwise(t)]
    shown = ", ".join(f"{g * 1000:.0f}" for g in gaps)
    for earlier, later in pairwise(gaps):
        assert later >= 1.6 * earlier, f"RFC 6298 5.5: the RTO must double on each expiry; retransmissions came {shown} ms apart"


@case("TCP-RETRANSMIT-RTO-MIN-1S", title="RTO is at least one second", rfc=6298, section="2.4", level=SHOULD, layer=4, needs=("sockets",),
      waits="up to the 1 s minimum RTO")
def test_rto_is_at_least_one_second(lan):
    """Whenever the RTO is computed, a value below 1 second is rounded up to 1 second: even on a
    link with a sub-millisecond RTT the first retransmission comes no earlier than 1 s (0.95 s
    accepted for timer slack)."""
    flow = measured_flow(lan)
    first, again = retransmissions(flow, b"M" * 200, 1, timeout=3.0)
    gap = (arrival_ns(lan.tester, again) - arrival_ns(lan.tester, first)) / 1e9
    assert gap >= 0.95, f"RFC 6298 2.4: the RTO should be at least 1 s; the data was retransmitted after {gap:.3f} s"


@case("TCP-RETRANSMIT-FAST", rfc=5681, section="3.2", level=SHOULD, layer=4, needs=("sockets", "sysctl"))
def test_three_duplicate_acks_trigger_fast_retransmit(lan):
    """After three duplicate ACKs the sender retransmits the segment they point at without
    waiting for the retransmission timer.

    The SUT sends five 536-octet segments; the tester acknowledges the first and sends three
    duplicate ACKs for it. The second segment must come back within 0.5 s of the third
    duplicate ACK; the SUT's minimum RTO is raised to 1 s so a timeout cannot stand in for it.
    """
    lan.control.set_sysctl("net.ipv4.tcp_rto_min_us", 1000000)
    flow = establish(lan, mss=536)
    start = flow.peer.rcv_nxt
    flow.sock.send(bytes(5 * 536))
    flow.receive(5 * 536, ack=False)
    flow.peer.rcv_nxt = seq_add(start, 536)
    for _ in range(4):  # one ACK of the first segment, then three duplicates of it
        flow.send(flags="A")
    third_dup = last_sent_ns(lan.tester)
    try:
        again = flow.take(flow.from_sut(seq=seq_add(start, 536)), timeout=0.9)
    except AssertionError:
        raise AssertionError(
            "RFC 5681 3.2: three duplicate ACKs should trigger a fast retransmit of the missing segment; "
            "nothing came within 0.9 s (and the RTO is 1 s)"
        ) from None
    delay = (arrival_ns(lan.tester, again) - third_dup) / 1e9
    assert delay < 0.5, (
        f"RFC 5681 3.2: the retransmission after three duplicate ACKs should come at once; it came after {delay:.3f} s"
    )
    assert payload(again) == bytes(536), "the fast retransmission must carry the missing segment's data"


@case("TCP-RETRANSMIT-R2-CLOSES", rfc=1122, section="4.2.3.5", level=MUST, layer=4, needs=("sockets", "sysctl"),
      waits="the 1 s R2 limit set by the application")
def test_connection_is_closed_when_r2_is_reached(lan):
    """When retransmissions of a segment reach the R2 limit the application set for the
    connection, TCP closes the connection and reports the failure to the application.

    The application sets R2 as a 1 s user timeout (TCP_USER_TIMEOUT); the tester acknowledges
    nothing. Within 3 s the socket must be CLOSED with ETIMEDOUT.
    """
    lan.control.set_sysctl("net.ipv4.tcp_rto_min_us", 100000)
    flow = measured_flow(lan)
    flow.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 1000)
    flow.sock.send(b"U" * 100)
    state = wait_state(flow, "CLOSED", timeout=3.0)
    err = flow.sock.error()
    assert state == "CLOSED" and err == errno.ETIMEDOUT, (
        "with R2 set to 1 s by the application, the connection must be closed and the application told "
        f"(ETIMEDOUT); after 3 s it was {state} with error {errno.errorcode.get(err, err)}"
    )


@case("TCP-RETRANSMIT-TIMER-RESTART-ON-ACK", title="ACK of new data restarts the retransmission timer", rfc=6298, section="5.3", level=SHOULD, layer=4,
      needs=("sockets", "sysctl"), waits="0.25 s before the partial ACK, then one 0.5 s RTO")
def test_ack_of_new_data_restarts_the_retransmission_timer(lan):
    """An ACK that acknowledges new data restarts the retransmission timer, so the remaining data
    is retransmitted one RTO after that ACK, not one RTO after it was first sent.

    The SUT's minimum RTO is set to 0.5 s. It sends two segments; 0.25 s later the tester
    acknowledges the first. The second must not be retransmitted sooner than 0.45 s after that
    ACK (with the timer left running it would come about 0.25 s after it).
    """
    lan.control.set_sysctl("net.ipv4.tcp_rto_min_us", 500000)
    flow = measured_flow(lan, mss=536)
    start = flow.peer.rcv_nxt
    flow.sock.send(bytes(2 * 536))
    flow.receive(2 * 536, ack=False)
    time.sleep(0.25)  # the stimulus is an ACK that comes late, while the timer runs
    flow.peer.rcv_nxt = seq_add(start, 536)
    flow.send(flags="A")
    acked_at = last_sent_ns(lan.tester)
    again = flow.take(flow.from_sut(seq=seq_add(start, 536)), timeout=2.0)
    delay = (arrival_ns(lan.tester, again) - acked_at) / 1e9
    assert delay >= 0.45, (
        "RFC 6298 5.3: an ACK of new data should restart the retransmission timer (RTO 0.5 s); the remaining "
        f"segment was retransmitted {delay:.3f} s after that ACK"
    )
