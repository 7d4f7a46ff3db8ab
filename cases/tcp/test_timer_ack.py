"""Delayed acknowledgments: bounded delay and an ACK for every second full-sized segment
(RFC 1122 4.2.3.2, RFC 9293 3.8.6.3). The SUT's socket is put in delayed-ACK mode first
(TCP_QUICKACK off), so the delayed path is what gets measured."""

import socket

from cases.tcp.flow import arrival_ns, establish, last_sent_ns
from conformance.catalog import MUST, SHOULD, case

QUICKACK = getattr(socket, "TCP_QUICKACK", 12)


def delayed_mode(flow) -> None:
    flow.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 0)


@case("TCP-TIMER-DELAYED-ACK-BOUND", title="Delayed ACK comes within half a second", rfc=1122, section="4.2.3.2", level=MUST, layer=4, needs=("sockets",),
      also=(9293,), waits="up to the SUT's delayed-ACK timer (< 0.5 s), five times")
def test_delayed_ack_comes_within_half_a_second(lan):
    """An ACK may be delayed, but by less than 0.5 seconds.

    Five times, the tester sends one small segment and measures the time until its ACK.
    """
    flow = establish(lan)
    delays = []
    for _ in range(5):
        delayed_mode(flow)
        flow.send(b"d" * 10)
        sent = last_sent_ns(lan.tester)
        ack = flow.expect_ack(flow.peer.snd_nxt, timeout=1.5)
        delays.append((arrival_ns(lan.tester, ack) - sent) / 1e9)
    shown = ", ".join(f"{d * 1000:.0f}" for d in delays)
    assert max(delays) < 0.5, f"the ACK delay must be less than 0.5 s; the ACKs came after {shown} ms"


@case("TCP-TIMER-ACK-EVERY-SECOND-SEGMENT", rfc=1122, section="4.2.3.2", level=SHOULD, layer=4,
      needs=("sockets",), also=(9293,))
def test_every_second_full_sized_segment_is_acked_at_once(lan):
    """In a stream of full-sized segments there is an ACK for at least every second segment: the
    second one is acknowledged without waiting for the delayed-ACK timer.

    The tester sends two 1460-octet segments back to back, then its fence (an echo request the
    SUT answers at once); an ACK covering both segments must come before the fence's answer.
    Three rounds, the application reading in between.
    """
    flow = establish(lan)
    for round_ in range(3):
        delayed_mode(flow)
        start = len(lan.tester.capture.frames)
        flow.send(b"f" * 1460)
        flow.send(b"g" * 1460)
        probe, answer = lan.tester.fence()
        lan.tester.send(probe)
        fence_at = arrival_ns(lan.tester, lan.tester.expect(answer))
        acks = [f for f in lan.tester.capture.frames[start:]
                if f.direction == "in" and flow.from_sut(ack=flow.peer.snd_nxt)(f.packet)]
        assert acks and acks[0].t_ns < fence_at, (
            f"round {round_ + 1}: two full-sized segments should be acknowledged at once (ACK {flow.peer.snd_nxt:#x}); "
            + (f"the ACK came {(acks[0].t_ns - fence_at) / 1e6:.1f} ms after the fence's answer" if acks
               else "no ACK came before the fence's answer")
        )
        flow.app_read(2 * 1460)
