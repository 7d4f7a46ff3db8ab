"""Source Quench reaching a TCP connection is silently discarded (RFC 9293 3.9.2.2, MUST-55;
RFC 6633 deprecated Source Quench and updated RFC 1122 4.2.3.9 to say so).

The SUT's socket asks for ICMP errors (IP_RECVERR) so that any error the stack hands to the
connection shows; the positive control, on the same connection and the same quoted segment, is
a Destination Unreachable (host), which the stack must act on (RFC 9293 MUST-54).
"""

import errno
import socket

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from cases.tcp.flow import establish
from conformance.catalog import MUST, case
from conformance.match import like, not_equal
from conformance.verdict import Inconclusive

IP_RECVERR = 11  # <linux/in.h>; Python's socket module does not export it
SOURCE_QUENCH, DEST_UNREACHABLE, HOST_UNREACHABLE = 4, 3, 1


def _icmp_about(lan, segment, icmp_type: int, code: int = 0) -> Ether:
    """An ICMP error from the tester about `segment` (the SUT's own), quoting its IP header and
    the first 8 octets of TCP: ports and sequence number."""
    raw = bytes(segment[IP])
    quote = raw[: segment[IP].ihl * 4 + 8]
    return (Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip)
            / ICMP(type=icmp_type, code=code) / quote)


@case("TCP-SOURCE-QUENCH-IGNORED", rfc=9293, section="3.9.2.2", level=MUST, layer=4, needs=("sockets",),
      also=(6633, 1122))
def test_source_quench_is_silently_discarded(lan):
    """A Source Quench about a segment the SUT has in flight changes nothing: no answer, no error for the application, no smaller congestion window.

    RFC 9293 3.9.2.2: "TCP implementations MUST silently discard any received ICMP Source
    Quench messages (MUST-55)." The SUT's application writes 100 octets; the tester holds back
    its ACK and sends a Source Quench quoting that segment. After the fence: SO_ERROR is still
    0, nothing is on the socket's error queue, the congestion window has not shrunk and no ICMP
    came back. Positive control: a Destination Unreachable (host) quoting the same segment must
    then reach the connection.
    """
    flow = establish(lan)
    flow.sock.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    flow.sock.send(b"q" * 100)
    segment = flow.expect(flow.from_sut(seq=flow.peer.rcv_nxt))
    cwnd = flow.sock.tcp_info().snd_cwnd

    lan.tester.send(_icmp_about(lan, segment, SOURCE_QUENCH))
    lan.tester.expect_none(like(IP(src=lan.sut.ip, dst=lan.tester.ip) / ICMP(),
                                where={"ICMP.type": not_equal(0)}, name="an ICMP message about the Source Quench"))
    err = flow.sock.error()
    assert err == 0, (
        f"RFC 9293 3.9.2.2 (MUST-55): a Source Quench must be silently discarded; the application got "
        f"{errno.errorcode.get(err, err)}"
    )
    info = flow.sock.tcp_info()
    assert info.state == "ESTABLISHED", f"a Source Quench must not change the connection; it is {info.state}"
    assert info.snd_cwnd >= cwnd, (
        f"RFC 9293 3.9.2.2 (MUST-55): a Source Quench must have no effect; the congestion window went from {cwnd} to "
        f"{info.snd_cwnd} segments"
    )

    lan.tester.send(_icmp_about(lan, segment, DEST_UNREACHABLE, HOST_UNREACHABLE))
    lan.tester.sync()
    if flow.sock.error() == 0:
        raise Inconclusive("the control Destination Unreachable quoting the same segment did not reach the "
                           "connection either, so the absence of an effect proves nothing")
