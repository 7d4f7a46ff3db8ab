"""Connections in the data phase for the TCP data, window, retransmission, timer and close cases.

`establish` runs the handshake from the tester to a listener on the SUT (with exactly the
options a case asks for) and accepts the connection on the SUT, so a case starts with both
ends in ESTABLISHED: `Flow.peer` is the tester's end (a TcpPeer), `Flow.sock` the SUT
application's socket. When timestamps were negotiated, every segment the tester sends carries
a TSopt (RFC 7323 3.2), with a TSval that grows by one per segment unless a case sets it.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.packet import Packet

from cases.tcp.frames import accepted, precondition
from conformance.app import SutSocket
from conformance.match import Matcher, Predicate, like
from conformance.tcp import TcpPeer, payload, seq_add
from conformance.wire import Port, UnwantedFrame

LISTEN_PORT = 8000
SEQ_MOD = 1 << 32


def seq_diff(a: int, b: int) -> int:
    """a - b in sequence space, as a signed number (RFC 9293 3.4 modular comparison)."""
    d = (a - b) % SEQ_MOD
    return d - SEQ_MOD if d >= SEQ_MOD // 2 else d


def option(segment: Packet, name: str) -> Any:
    """The value of TCP option `name` ('MSS', 'WScale', 'SAckOK', 'SAck', 'Timestamp'), or None."""
    for opt in segment[TCP].options:
        if opt[0] == name:
            return True if opt[1] in (None, b"") else opt[1]
    return None


def sack_blocks(segment: Packet) -> list[tuple[int, int]]:
    """The SACK blocks of a segment as (left edge, right edge) pairs, in the order sent."""
    raw = option(segment, "SAck")
    if not raw:
        return []
    return [(raw[i], raw[i + 1]) for i in range(0, len(raw) - 1, 2)]


def options_length(segment: Packet) -> int:
    return segment[TCP].dataofs * 4 - 20


def arrival_ns(port: Port, segment: Packet) -> int:
    """When the tester's kernel received `segment` (its receive timestamp)."""
    for frame in reversed(port.capture.frames):
        if frame.direction == "in" and frame._packet is segment:
            return frame.t_ns
    raise LookupError("the segment is not in the capture")


def last_sent_ns(port: Port) -> int:
    for frame in reversed(port.capture.frames):
        if frame.direction == "out" and frame.port == port.name:
            return frame.t_ns
    raise LookupError("the tester sent nothing yet")


@dataclass
class Flow:
    """An established connection: the tester's end, the SUT's socket and the options agreed."""

    peer: TcpPeer
    sock: SutSocket
    synack: Packet
    mss: int | None
    sack: bool
    wscale: int | None  # the shift the tester announced (None: no WScale option sent)
    timestamps: bool
    tsval: int = 1000  # the tester's next TSval
    ts_recent: int = 0  # the last TSval seen from the SUT, echoed as TSecr
    listener: Any = None
    sent_options: list[Any] = field(default_factory=list)

    @property
    def port(self) -> Port:
        return self.peer.port

    @property
    def sut_wscale(self) -> int:
        return option(self.synack, "WScale") or 0

    def opts(self, tsval: int | None = None) -> list[Any]:
        """The options every non-SYN segment of the tester carries: a TSopt when negotiated."""
        if not self.timestamps:
            return []
        if tsval is None:
            tsval = self.tsval
            self.tsval += 1
        return [("NOP", None), ("NOP", None), ("Timestamp", (tsval, self.ts_recent))]

    def segment(self, flags: str = "A", data: bytes = b"", *, tsval: int | None = None,
                options: list[Any] | None = None, **kw: Any) -> Packet:
        return self.peer.segment(flags, data, options=self.opts(tsval) if options is None else options, **kw)

    def send(self, data: bytes = b"", flags: str = "PA", *, seq: int | None = None, advance: bool | None = None,
             **kw: Any) -> None:
        """Send a segment; with no explicit `seq` the tester's SND.NXT advances past its data."""
        self.port.send(self.segment(flags, data, seq=seq, **kw))
        if advance if advance is not None else seq is None:
            self.peer.snd_nxt = seq_add(self.peer.snd_nxt, len(data) + ("F" in flags))

    def offset(self, n: int) -> int:
        """The sequence number n octets past the tester's SND.NXT."""
        return seq_add(self.peer.snd_nxt, n)

    def from_sut(self, flags: str | None = None, *, where: dict[str, Any] | None = None, **fields: Any) -> Matcher:
        """Segments of this connection from the SUT; `where` adds conditions (see conformance.match)."""
        matcher = self.peer.from_sut(flags, **fields)
        return like(matcher.template, where=where) if where else matcher

    def note_ts(self, segment: Packet) -> None:
        ts = option(segment, "Timestamp")
        if ts:
            self.ts_recent = ts[0]

    def expect(self, matcher: Matcher | None = None, timeout: float = 1.0) -> Packet:
        seg = self.port.expect(matcher or self.from_sut(), timeout)
        self.note_ts(seg)
        return seg

    def expect_ack(self, ack: int, timeout: float = 1.0) -> Packet:
        """The SUT's next segment acknowledging exactly up to `ack`."""
        return self.expect(self.from_sut(ack=ack), timeout)

    def take(self, matcher: Matcher, timeout: float = 1.0) -> Packet:
        """Like expect, but also finds frames that arrived before the tester's last send (a burst
        from the SUT that the tester acknowledged piece by piece)."""
        port = self.port
        deadline = time.monotonic() + timeout
        while True:
            for frame in port.capture.frames:
                if frame.port == port.name and frame.direction == "in" and not frame.consumed and matcher(frame.packet):
                    frame.consumed = True
                    self.note_ts(frame.packet)
                    return frame.packet
            left = deadline - time.monotonic()
            if left <= 0:
                if port.poll(0):  # frames that queued while this process was not running
                    deadline = time.monotonic()
                    continue
                return port.expect(matcher, 0)  # raises NoMatch with the usual account of what came
            port.poll(left)

    def receive(self, size: int, timeout: float = 2.0, ack: bool = True) -> list[Packet]:
        """Collect the SUT's data segments carrying the next `size` octets, in order; acknowledge
        each one unless `ack` is false. Returns the segments."""
        segments: list[Packet] = []
        got = 0
        deadline = time.monotonic() + timeout
        while got < size:
            seg = self.take(self.from_sut(seq=self.peer.rcv_nxt, where={"TCP.flags": has_no("SR")}),
                            max(deadline - time.monotonic(), 0.01))
            data = payload(seg)
            if not data:
                continue
            segments.append(seg)
            got += len(data)
            self.peer.rcv_nxt = seq_add(self.peer.rcv_nxt, len(data))
            if ack:
                self.send(flags="A")
        return segments

    def app_read(self, size: int, timeout: float = 1.0) -> bytes:
        """What the SUT's application reads, until `size` octets came or nothing more arrives."""
        return self.sock.read(size, timeout)


def has_no(flags: str) -> Predicate:
    return Predicate(lambda v: not any(f in str(v) for f in flags), f"without any of {flags}")


def has(flag: str) -> Predicate:
    return Predicate(lambda v: flag in str(v), f"with {flag}")


def establish(lan: Any, *, mss: int | None = 1460, wscale: int | None = None, sack: bool = False,
              timestamps: bool = False, window: int = 65535, nodelay: bool = True, port: int = LISTEN_PORT,
              sport: int | None = None, isn: int = 0x10000000, listener: Any = None,
              ack_window: int | None = None) -> Flow:
    """Handshake from the tester to a listener on the SUT with exactly the given SYN options;
    returns the flow with the SUT's accepted socket. The SYN offers `window`; the handshake's
    ACK offers `ack_window` (default: the same value, in the tester's scaled units). The
    handshake is a precondition: if it does not complete, the case is INCONCLUSIVE."""
    if listener is None:
        listener = lan.app.listen(port)
    peer = TcpPeer(lan.tester, dst_ip=lan.sut.ip, dst_mac=lan.sut.mac, dport=port, sport=sport, isn=isn)
    syn_opts: list[Any] = []
    if mss is not None:
        syn_opts.append(("MSS", mss))
    if sack:
        syn_opts.append(("SAckOK", b""))
    if timestamps:
        syn_opts.append(("Timestamp", (999, 0)))
    if wscale is not None:
        syn_opts += [("NOP", None), ("WScale", wscale)]
    with precondition("the SUT answers a SYN to its listener with a SYN-ACK"):
        synack = lan.tester.exchange(peer.segment("S", options=syn_opts, window=window),
                                     expect=peer.from_sut("SA", ack=seq_add(isn, 1)))
    peer.irs = synack[TCP].seq
    peer.rcv_nxt = seq_add(peer.irs, 1)
    peer.snd_nxt = seq_add(isn, 1)
    flow = Flow(peer, None, synack, mss, sack, wscale,  # type: ignore[arg-type]  # the socket comes after the ACK
                timestamps and option(synack, "Timestamp") is not None, listener=listener, sent_options=syn_opts)
    flow.note_ts(synack)
    peer.window = window if ack_window is None else ack_window
    flow.send(flags="A")
    flow.sock = accepted(listener)
    if nodelay:
        flow.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return flow


def active_open(lan: Any, *, port: int = 9000, synack_options: list[Any] | None = None, window: int = 65535,
                isn: int = 0x20000000, sut_port: int = 0, nodelay: bool = True) -> Flow:
    """An active open from the SUT's application to the tester, answered with a SYN-ACK that
    carries exactly `synack_options`; returns the flow once the SUT acknowledged the SYN-ACK.
    The active open is a precondition: a SUT that sends no SYN, or does not acknowledge the
    SYN-ACK, makes the case INCONCLUSIVE."""
    sock = lan.app.connect(lan.tester.ip, port, src_port=sut_port)
    with precondition("the SUT's application opens a connection and the SUT sends its SYN"):
        syn = lan.tester.expect(sut_syn(lan, port))
    peer = TcpPeer(lan.tester, dst_ip=lan.sut.ip, dst_mac=lan.sut.mac, dport=syn[TCP].sport, sport=port, isn=isn)
    peer.irs = syn[TCP].seq
    peer.rcv_nxt = seq_add(peer.irs, 1)
    peer.window = window
    synack = peer.segment("SA", options=synack_options or [])
    lan.tester.send(synack)
    peer.snd_nxt = seq_add(isn, 1)
    flow = Flow(peer, sock, syn, None, False, None, False, sent_options=synack_options or [])
    with precondition("the SUT acknowledges the tester's SYN-ACK"):
        flow.expect(flow.from_sut("A", ack=peer.snd_nxt))
    if nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return flow


def sut_syn(lan: Any, port: int) -> Matcher:
    """A SYN from the SUT to the tester's `port`."""
    return like(IP(src=lan.sut.ip, dst=lan.tester.ip) / TCP(dport=port, flags="S"))


def forbid(port: Port, matcher: Matcher, requirement: str) -> None:
    """expect_none, with the failure stated as the requirement that was broken."""
    try:
        port.expect_none(matcher)
    except UnwantedFrame as exc:
        raise AssertionError(f"{requirement}; instead: {str(exc).rsplit(': ', 1)[-1]}") from None


def table_state(lan: Any, flow: Flow) -> str | None:
    """The state of the flow's control block in the SUT's TCP table (None: no such TCB)."""
    entry = table_entry(lan, flow)
    return entry.state if entry is not None else None


def table_entry(lan: Any, flow: Flow) -> Any:
    """The flow's line of the SUT's TCP table (conformance.sut.TcpConnection), or None."""
    for conn in lan.control.tcp_connections():
        if conn.local == (lan.sut.ip, flow.peer.dport) and conn.remote == (flow.peer.src_ip, flow.peer.sport):
            return conn
    return None


def sut_fin(flow: Flow, timeout: float = 1.0) -> Packet:
    """The SUT's FIN at its SND.NXT; the tester's RCV.NXT moves past it."""
    fin = flow.take(flow.from_sut(seq=flow.peer.rcv_nxt, where={"TCP.flags": has("F")}), timeout)
    flow.peer.rcv_nxt = seq_add(flow.peer.rcv_nxt, len(payload(fin)) + 1)
    return fin


def wait_state(flow: Flow, state: str, timeout: float = 0.5) -> str:
    """The SUT socket's TCP state once it is `state`, or whatever it is after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        now = flow.sock.tcp_info().state
        if now == state or time.monotonic() > deadline:
            return now
        time.sleep(0.001)


def answered_before_fence(flow: Flow, matcher: Matcher) -> Packet | None:
    """After the tester's last segment, send the Port's fence (an echo the SUT answers at once)
    and return the first segment like `matcher` that the SUT sent before the fence's answer, or
    None. This judges "at once" by the order of the SUT's own answers, not by a clock that the
    tester's scheduling could disturb."""
    segment = flow.port.before_fence(matcher)
    if segment is not None:
        flow.note_ts(segment)
    return segment


class DataPast:
    """Matches the SUT's segments of a connection whose data reaches past sequence number `limit`."""

    def __init__(self, conn: Matcher, limit: int) -> None:
        self.conn = conn
        self.limit = limit

    def __call__(self, segment: Packet) -> bool:
        if not self.conn(segment):
            return False
        data = payload(segment)
        return bool(data) and seq_diff(seq_add(segment[TCP].seq, len(data)), self.limit) > 0

    def describe(self) -> str:
        return f"SUT data past sequence number {self.limit:#x}"


def data_past(flow: Flow, limit: int) -> DataPast:
    return DataPast(flow.from_sut(), limit)
