"""The SUT never sends Source Quench (RFC 6633 3, which updates RFC 1122 3.2.2.3).

RFC 1122 let a host send Source Quench when it was "forced to discard incoming datagrams due
to a shortage of reassembly buffers or other resources"; RFC 6633 3 replaced that with "A host
MUST NOT send ICMP Source Quench messages." The case puts the SUT in exactly that situation.
"""

import socket

from scapy.layers.inet import ICMP

from cases.icmp.frames import ip_like, udp_datagram
from cases.ipv4.frames import frames_since
from conformance.catalog import MUST, case
from conformance.match import like
from conformance.verdict import Inconclusive

PORT = 7420
BURST = 60
SIZE = 1000
RCVBUF = 4 * SIZE  # room for a few datagrams, far from the burst's 60


@case("ICMP-SOURCE-QUENCH-NOT-SENT", title="SUT sends no Source Quench when it drops datagrams", rfc=6633, section="3", level=MUST, layer=3, needs=("sockets",), also=(1122,))
def test_sut_sends_no_source_quench_when_it_drops_datagrams(lan):
    """A host that has to drop incoming datagrams for lack of buffer space sends no Source Quench.

    The SUT's application holds a UDP socket with a receive buffer for a few datagrams (4000
    octets asked for: a stack that counts SO_RCVBUF in octets of data, as lwIP does, refuses
    every datagram larger than the buffer, so a smaller one would hold none; Linux doubles the
    value and charges its overhead) and reads nothing; the tester sends 60 datagrams of 1000 octets to it back to back, then the
    fence. No ICMP Source Quench (type 4) may come. Positive control: the socket must hold some
    of the datagrams but not all, showing the SUT did receive them and did run out of room.
    """
    sock = lan.app.udp_at(lan.sut.ip, PORT, options={(socket.SOL_SOCKET, socket.SO_RCVBUF): RCVBUF})
    start = len(lan.tester.capture.frames)
    for i in range(BURST):
        lan.tester.send(udp_datagram(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, dport=PORT,
                                     data=bytes([i]) * SIZE))
    lan.tester.sync()  # the SUT handles frames in order: every answer to the burst is in once the fence's is
    quench = like(ip_like(src=lan.sut.ip) / ICMP(type=4), name="an ICMP Source Quench from the SUT")
    sent = [p for p in frames_since(lan, start) if quench(p)]
    assert not sent, (
        f"RFC 6633 3: a host MUST NOT send ICMP Source Quench messages; the SUT sent {len(sent)} while its socket's "
        "buffer overflowed"
    )
    held = 0
    while sock.read_available():
        held += 1
    if not 0 < held < BURST:
        raise Inconclusive(f"the SUT's socket held {held} of the {BURST} datagrams, so the SUT was not shown to drop "
                           "datagrams it received for lack of buffer space")
