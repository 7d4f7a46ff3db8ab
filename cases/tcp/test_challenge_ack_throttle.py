"""Throttling of challenge ACKs (RFC 5961 7), judged at the SUT's own default limit.

RFC 5961 7: "An implementation SHOULD include an ACK throttling mechanism to be conservative."
The numbers are left to the implementer (the RFC's example, 10 challenge ACKs in 5 seconds, is
called empirical and tunable), so the case fixes no rate: it asks only that a burst far beyond
that example does not draw one challenge ACK per segment. Unlike the other RFC 5961 cases,
this one changes none of the SUT's rate limits.
"""

from scapy.layers.inet import TCP

from cases.tcp.frames import established
from conformance.burst_counters import BurstCounters
from conformance.catalog import SHOULD, case
from conformance.tcp import seq_add
from conformance.verdict import not_implemented

BURST = 100  # ten times the RFC's example budget for 5 seconds, sent in well under a second


@case("TCP-5961-ACK-THROTTLING", rfc=5961, section="7", level=SHOULD, layer=4, needs=("sockets",),
      optional="RFC 5961 challenge ACKs (section 3.2)")
def test_burst_of_inexact_rsts_draws_throttled_challenge_acks(lan):
    """A burst of segments that each call for a challenge ACK draws fewer challenge ACKs than segments.

    The tester sends 100 in-window, inexact RSTs (SEQ = RCV.NXT + 1) back to back on an
    established connection, then the fence. RFC 5961 3.2 answers each with a challenge ACK;
    section 7 asks the SUT to throttle them, so fewer than 100 may come. A SUT that sends no
    challenge ACK at all does not implement RFC 5961 3.2, and this case does not apply. Where the
    SUT offers its counters, Tcp.InSegs must show every RST arrived and TcpExt.TCPChallengeACK no
    more challenge ACKs sent than reached the tester (else INCONCLUSIVE).
    """
    tcp, _sock, _ = established(lan)
    rst = bytes(tcp.segment("R", seq=seq_add(tcp.snd_nxt, 1), ack=0))
    since = len(lan.tester.capture.frames)
    counters = BurstCounters(lan.control, ("snmp", "Tcp.InSegs"), ("netstat", "TcpExt.TCPChallengeACK"))
    for _ in range(BURST):
        lan.tester.send(rst)
    lan.tester.sync()
    challenge = tcp.reply("A", seq=tcp.rcv_nxt, ack=tcp.snd_nxt)
    acks = [f for f in lan.tester.capture.frames[since:]
            if f.port == lan.tester.name and f.direction == "in" and challenge(f.packet) and f.packet[TCP].flags == "A"]
    counters.check(BURST, "RSTs of the burst", len(acks), "challenge ACKs")
    if not acks:
        not_implemented("no in-window inexact RST drew a challenge ACK: the SUT does not implement RFC 5961 3.2")
    assert len(acks) < BURST, (
        f"RFC 5961 7: challenge ACKs SHOULD be throttled; {BURST} inexact RSTs sent back to back drew {len(acks)} "
        "challenge ACKs, one for every segment"
    )
