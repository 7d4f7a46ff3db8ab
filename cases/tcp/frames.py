"""Steps shared by the TCP connection cases: peers, an established connection, active opens,
the preconditions they stand for, and the optional TCP features a case may depend on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.packet import Packet

from conformance.app import Listener, SutSocket
from conformance.match import Matcher, like
from conformance.tcp import TcpPeer
from conformance.verdict import Inconclusive, not_implemented

SERVICE_PORT = 8080  # the SUT's listener in the cases that need one
CLOSED_PORT = 8081  # a port nobody listens on
REMOTE_PORT = 9090  # the tester's port for the SUT's active opens


def peer(lan: Any, dport: int = SERVICE_PORT, **kw: Any) -> TcpPeer:
    """The tester's end of a connection to the SUT's `dport`."""
    return TcpPeer(lan.tester, dst_ip=lan.sut.ip, dst_mac=lan.sut.mac, dport=dport, **kw)


# The optional features a TCP case may depend on (@case optional=...): options a TCP may decline
# in the handshake. Where the SUT did not agree to one, a case about its use is NOT-IMPLEMENTED.
TIMESTAMPS = "RFC 7323 Timestamps option (negotiated in the handshake)"
WINDOW_SCALE = "RFC 7323 Window Scale option (negotiated in the handshake)"
SACK = "RFC 2018 selective acknowledgment (negotiated in the handshake)"


def declined(feature: str, what: str) -> None:
    """End a case that depends on `feature`: the SUT showed (`what`) that it does not use it."""
    not_implemented(f"the SUT does not use the {feature}: {what}")


@contextmanager
def precondition(what: str) -> Iterator[None]:
    """A step the case needs but does not judge, typically the handshake that opens the
    connection a case then examines: if the SUT does not do it (no SYN-ACK, no connection to
    accept, no SYN), the verdict is INCONCLUSIVE with the reason, never FAIL or ERROR. The cases
    whose requirement that step is (TCP-EST-*) judge it themselves."""
    try:
        yield
    except (AssertionError, TimeoutError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Inconclusive(f"precondition not met: {what} ({detail})") from None


def require_handshake(lan: Any, dport: int = SERVICE_PORT) -> None:
    """For a case whose own SYN went unanswered: a plain SYN from another port must draw a
    SYN-ACK (reset at once, so no half-open connection is left), or the SUT does not answer
    SYNs at all, which TCP-EST-SYN-ACK judges, and the case is INCONCLUSIVE."""
    control = peer(lan, dport, sport=49999, isn=0x30000000)
    synack = control.answer_to(control.segment("S", options=[("MSS", 1460)]), control.from_sut("SA"))
    if synack is None:
        raise Inconclusive("precondition not met: the SUT does not answer even a plain SYN to its listener with a SYN-ACK")
    lan.tester.send(control.segment("R", seq=synack[TCP].ack, ack=0))


def synack_for(lan: Any, tcp: TcpPeer, syn: Packet, expect: Matcher | None = None) -> Packet:
    """Send `syn` to the SUT's listener and return its SYN-ACK (precondition: one comes)."""
    with precondition("the SUT answers a SYN to its listener with a SYN-ACK"):
        return lan.tester.exchange(syn, expect=expect or tcp.from_sut("SA"))


def accepted(listener: Listener, timeout: float = 1.0) -> SutSocket:
    """The connection a completed handshake left on `listener` (precondition: there is one)."""
    with precondition("the SUT's listener accepts the connection the handshake completed"):
        return listener.accept(timeout)


def established(lan: Any, options: list[Any] | None = None, window: int | None = None,
                dport: int = SERVICE_PORT) -> tuple[TcpPeer, SutSocket, Packet]:
    """A connection in ESTABLISHED from the tester to a listener on the SUT: the tester's end,
    the SUT's accepted socket and the SUT's SYN-ACK. A handshake that does not complete makes
    the case INCONCLUSIVE (TCP-EST-SYN-ACK and TCP-EST-HANDSHAKE judge it)."""
    listener = lan.app.listen(dport)
    tcp = peer(lan, dport)
    with precondition("the SUT completes a handshake to its listener"):
        synack = tcp.open(options=options, window=window)
    sock = accepted(listener)
    return tcp, sock, synack


def active_open(lan: Any, options: dict[tuple[int, int], int | bytes] | None = None,
                judged: bool = False) -> tuple[TcpPeer, SutSocket, Packet]:
    """The SUT's application connects to the tester; returns the tester's end (with the SUT's ISN
    adopted), the SUT's socket in SYN-SENT and the SUT's SYN. The SYN is a precondition (no SYN:
    INCONCLUSIVE), except for the case that judges the active open (`judged`: no SYN is a FAIL)."""
    sock = lan.app.connect(lan.tester.ip, REMOTE_PORT, options=options)
    syn_from_sut = like(IP(src=lan.sut.ip, dst=lan.tester.ip) / TCP(dport=REMOTE_PORT, flags="S"), name="the SUT's SYN")
    if judged:
        try:
            syn = lan.tester.expect(syn_from_sut)
        except AssertionError:
            raise AssertionError("RFC 9293 3.10.1: an active OPEN sends a SYN <SEQ=ISS><CTL=SYN>; the SUT's application "
                                 "opened a connection and no SYN came") from None
    else:
        with precondition("the SUT's application opens a connection and the SUT sends its SYN"):
            syn = lan.tester.expect(syn_from_sut)
    tcp = peer(lan, dport=syn[TCP].sport, sport=REMOTE_PORT)
    tcp.take_syn(syn)
    return tcp, sock, syn
