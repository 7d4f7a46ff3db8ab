"""Steps shared by the TCP connection cases: peers, an established connection, active opens,
and the sysctls that make the SUT's answers to unacceptable segments deterministic."""

from __future__ import annotations

from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.packet import Packet

from conformance.app import SutSocket
from conformance.match import like
from conformance.tcp import TcpPeer

SERVICE_PORT = 8080  # the SUT's listener in the cases that need one
CLOSED_PORT = 8081  # a port nobody listens on
REMOTE_PORT = 9090  # the tester's port for the SUT's active opens


def peer(lan: Any, dport: int = SERVICE_PORT, **kw: Any) -> TcpPeer:
    """The tester's end of a connection to the SUT's `dport`."""
    return TcpPeer(lan.tester, dst_ip=lan.sut.ip, dst_mac=lan.sut.mac, dport=dport, **kw)


def unthrottled_acks(lan: Any) -> None:
    """Linux rate-limits the ACKs it sends for unacceptable segments: per socket (one per
    tcp_invalid_ratelimit ms) and per namespace (tcp_challenge_ack_limit a second). Lift both so
    every unacceptable segment of a case is answered, as the RFCs say."""
    lan.control.set_sysctl("net.ipv4.tcp_invalid_ratelimit", 0)
    lan.control.set_sysctl("net.ipv4.tcp_challenge_ack_limit", 2147483647)


def established(lan: Any, options: list[Any] | None = None, window: int | None = None,
                dport: int = SERVICE_PORT) -> tuple[TcpPeer, SutSocket, Packet]:
    """A connection in ESTABLISHED from the tester to a listener on the SUT: the tester's end,
    the SUT's accepted socket and the SUT's SYN-ACK."""
    listener = lan.app.listen(dport)
    tcp = peer(lan, dport)
    synack = tcp.open(options=options, window=window)
    sock = listener.accept()
    return tcp, sock, synack


def active_open(lan: Any, options: dict[tuple[int, int], int | bytes] | None = None) -> tuple[TcpPeer, SutSocket, Packet]:
    """The SUT's application connects to the tester; returns the tester's end (with the SUT's ISN
    adopted), the SUT's socket in SYN-SENT and the SUT's SYN."""
    sock = lan.app.connect(lan.tester.ip, REMOTE_PORT, options=options)
    syn = lan.tester.expect(like(IP(src=lan.sut.ip, dst=lan.tester.ip) / TCP(dport=REMOTE_PORT, flags="S"),
                                 name="the SUT's SYN"))
    tcp = peer(lan, dport=syn[TCP].sport, sport=REMOTE_PORT)
    tcp.take_syn(syn)
    return tcp, sock, syn
