"""ICMP error messages the SUT receives about its own datagrams (RFC 1122 3.2.2, 3.2.2.1).

A connected UDP socket on the SUT sends a datagram to the tester; the tester answers with an
ICMP error quoting it, and the socket's pending error (SO_ERROR) shows what reached UDP.
"""

import errno

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether

from cases.icmp.frames import ip_bytes, ip_like
from conformance.catalog import MUST, case
from conformance.match import like
from conformance.verdict import Inconclusive

SUT_PORT, PEER_PORT = 7100, 9100
TCP_PROTOCOL = 6


def sut_datagram_to_tester(lan, payload: bytes):
    """Have a connected UDP socket on the SUT send `payload` to the tester; return (socket, frame seen)."""
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, PEER_PORT))
    sock.send(payload)
    frame = lan.tester.expect(like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / UDP(sport=SUT_PORT, dport=PEER_PORT)))
    return sock, frame


def unreachable_about(lan, frame, code: int, protocol: int | None = None):
    """Destination Unreachable quoting `frame`'s header and first 8 data octets; `protocol`
    rewrites the quoted header's protocol field (and its checksum) to name another transport."""
    raw = ip_bytes(frame)
    quote = raw[: (raw[0] & 0x0F) * 4 + 8]
    if protocol is not None:
        header = IP(quote)
        header.proto = protocol
        del header.chksum
        quote = bytes(header)[: len(quote)]
    return Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip) / ICMP(type=3, code=code) / quote


def settle(lan) -> None:
    """Fence: once the SUT answers an echo sent after the ICMP message, it has processed it."""
    lan.tester.expect_none(like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / ICMP(type=3)))


@case("ICMP-UNREACH-NET-HINT", rfc=1122, section="3.2.2.1", level=MUST, layer=3, needs=("sockets",))
def test_net_unreachable_is_only_a_hint(lan):
    """A Destination Unreachable with code 0 (net) is only a hint: the SUT does not treat the destination as unreachable.

    After the tester answers a connected UDP socket's datagram with Net Unreachable, the
    socket's next datagram must still be sent to the same destination. Reporting the error to
    the application is not judged: RFC 1122 4.1.3.3 wants UDP to pass ICMP errors up.
    """
    sock, frame = sut_datagram_to_tester(lan, b"first")
    lan.tester.send(unreachable_about(lan, frame, code=0))
    settle(lan)
    sock.error()  # a reported (soft) error is allowed; reading it clears it for the next send
    sock.send(b"second")
    try:
        lan.tester.expect(like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / UDP(sport=SUT_PORT, dport=PEER_PORT)))
    except AssertionError as exc:
        raise AssertionError(
            f"a Net Unreachable is only a hint and must not stop the SUT sending to that destination; {exc}"
        ) from None


@case("ICMP-ERR-DEMUX-PROTOCOL", rfc=1122, section="3.2.2", level=MUST, layer=3, needs=("sockets",))
def test_error_goes_to_the_protocol_named_in_the_quote(lan):
    """An ICMP error is passed to the transport protocol named by the protocol number in the quoted header, and to no other.

    The tester first answers the UDP socket's datagram with a Port Unreachable whose quote is
    the datagram's header with the protocol number changed to TCP (same addresses and ports):
    the UDP socket must not see it. A correct Port Unreachable afterwards must reach it
    (ECONNREFUSED), which shows the socket does take errors that are meant for it.
    """
    sock, frame = sut_datagram_to_tester(lan, b"demux")
    lan.tester.send(unreachable_about(lan, frame, code=3, protocol=TCP_PROTOCOL))
    settle(lan)
    err = sock.error()
    assert err == 0, (
        "an error quoting a TCP header must not be given to UDP; the UDP socket reported "
        f"{errno.errorcode.get(err, err)}"
    )
    lan.tester.send(unreachable_about(lan, frame, code=3))
    settle(lan)
    if sock.error() != errno.ECONNREFUSED:
        raise Inconclusive("a correctly quoted Port Unreachable did not reach the UDP socket either, so demultiplexing cannot be judged")
