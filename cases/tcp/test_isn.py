"""Initial sequence numbers: clock-driven per connection identifier, and not predictable from
another connection's (RFC 9293 3.4.1, RFC 6528 3)."""

import time
from itertools import pairwise

from scapy.layers.inet import TCP

from cases.tcp.flow import LISTEN_PORT, arrival_ns
from cases.tcp.frames import synack_for
from conformance.catalog import MUST, SHOULD, case
from conformance.tcp import TcpPeer

SEQ_MOD = 1 << 32


def synack_isn(lan, sport: int):
    """Open a connection from `sport` to the SUT's listener, reset it, and return the SYN-ACK's
    ISN and when the SYN-ACK arrived (ns)."""
    peer = TcpPeer(lan.tester, dst_ip=lan.sut.ip, dst_mac=lan.sut.mac, dport=LISTEN_PORT, sport=sport, isn=1000)
    synack = synack_for(lan, peer, peer.segment("S", options=[("MSS", 1460)]), expect=peer.from_sut("SA", ack=1001))
    lan.tester.send(peer.segment("R", seq=1001, ack=0))  # no half-open connection left behind
    return synack[TCP].seq, arrival_ns(lan.tester, synack)


@case("TCP-ISN-UNPREDICTABLE-ACROSS-PORTS", title="ISN of one connection does not reveal another's", rfc=9293, section="3.4.1", level=SHOULD, layer=4, needs=("sockets",),
      also=(6528,))
def test_isn_of_one_connection_does_not_reveal_anothers(lan):
    """The ISN adds a secret function of the connection identifier to the clock (ISN = M + F(...)),
    so the ISN seen on one connection does not predict the ISN of a connection with another port.

    Eight connections from eight source ports are opened within a few milliseconds. With a
    global counter or clock their ISNs would lie within a few million of each other; with a
    per-identifier offset consecutive ISNs differ by a uniformly spread amount. The case fails
    when at least four of the seven consecutive differences are below 2^24 (for a random offset
    each has a chance of 1 in 128, so the case does not fail by accident).
    """
    lan.app.listen(LISTEN_PORT)
    isns = [synack_isn(lan, 41000 + 17 * i)[0] for i in range(8)]
    diffs = [min((b - a) % SEQ_MOD, (a - b) % SEQ_MOD) for a, b in pairwise(isns)]
    close = [d for d in diffs if d < 1 << 24]
    assert len(close) < 4, (
        "RFC 9293 3.4.1 (SHLD-1, RFC 6528): the ISN should add a secret function of the connection identifier, so "
        "it is not predictable from another connection's; ISNs from different ports "
        f"were close together: differences {diffs}"
    )


@case("TCP-ISN-CLOCK-DRIVEN", title="ISN for one connection identifier follows a clock", rfc=9293, section="3.4.1", level=MUST, layer=4, needs=("sockets",), also=(6528,),
      waits="30 ms and 120 ms between connections")
def test_isn_for_one_identifier_follows_a_clock(lan):
    """For one connection identifier, the ISN is driven by a clock: it grows with the time between
    connections rather than by a fixed step per connection.

    Three connections with the same 4-tuple, 30 ms and then 120 ms apart. Each ISN must be
    above the previous one, and the second difference must be roughly four times the first
    (between 2 and 8 times): a per-connection increment would give equal steps.
    """
    lan.app.listen(LISTEN_PORT)
    synack_isn(lan, 42425)  # resolves the tester's address first, so no SYN-ACK waits for ARP
    samples = []
    for pause in (0.0, 0.03, 0.12):
        time.sleep(pause)  # the case's subject is the ISN clock: the pauses are the stimulus
        samples.append(synack_isn(lan, 42424))
    (i0, t0), (i1, t1), (i2, t2) = samples
    d1, d2 = (i1 - i0) % SEQ_MOD, (i2 - i1) % SEQ_MOD
    assert 0 < d1 < 1 << 31 and 0 < d2 < 1 << 31, (
        f"a clock-driven ISN must increase between connections; ISNs were {i0:#x}, {i1:#x}, {i2:#x}"
    )
    ratio = d2 / d1
    elapsed = (t2 - t1) / (t1 - t0)
    assert 0.5 * elapsed <= ratio <= 2 * elapsed, (
        f"the ISN must follow the clock: connections {elapsed:.1f} times as far apart in time should differ "
        f"about as much more in ISN; the ISN steps were {d1} and {d2} (ratio {ratio:.2f})"
    )
