"""A hand-driven TCP endpoint on the tester side, for transport cases.

The tester's kernel has no address and never sees these connections; TcpPeer builds every
segment itself and keeps the sequence space, so a case can send exactly the segment an RFC
clause talks about (an RST one byte off, a SYN in ESTABLISHED) and read what the SUT answers.
"""

from __future__ import annotations

import itertools
from typing import Any

from scapy.layers.inet import IP, TCP, in4_chksum
from scapy.layers.inet6 import IPv6, in6_chksum
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from conformance.match import Matcher, Mismatch, like
from conformance.wire import Port

SEQ_MOD = 1 << 32
_ports = itertools.count(40000)


def seq_add(a: int, b: int) -> int:
    return (a + b) % SEQ_MOD


def ip_layer(src: str, dst: str) -> Packet:
    """The network header of a segment between `src` and `dst`: IPv6 for IPv6 addresses."""
    return IPv6(src=src, dst=dst) if ":" in dst else IP(src=src, dst=dst)


def payload(segment: Packet) -> bytes:
    """The segment's data as the IP total length bounds it (Ethernet padding excluded)."""
    tcp = segment[TCP]
    start = tcp.dataofs * 4
    if segment.getlayer(IP) is None:  # IPv6: scapy cuts the segment at the Payload Length
        return bytes(tcp)[start:]
    ip = segment[IP]
    length = ip.len - ip.ihl * 4 - start
    return bytes(tcp)[start : start + max(length, 0)]


class TcpPeer:
    """One connection's tester end: addresses, ports and the sequence numbers both ways."""

    def __init__(self, port: Port, *, dst_ip: str, dst_mac: str, dport: int, sport: int | None = None,
                 src_ip: str | None = None, isn: int = 0x10000000) -> None:
        self.port = port
        self.src_ip = src_ip or (port.ip6 if ":" in dst_ip else port.ip) or ""
        self.dst_ip = dst_ip
        self.dst_mac = dst_mac
        self.sport = sport if sport is not None else 40000 + next(_ports) % 20000
        self.dport = dport
        self.isn = isn
        self.snd_nxt = isn  # next sequence number the tester sends
        self.rcv_nxt = 0  # next sequence number expected from the SUT
        self.irs = 0  # the SUT's initial sequence number
        self.window = 65535

    def segment(self, flags: str = "A", data: bytes = b"", *, seq: int | None = None, ack: int | None = None,
                window: int | None = None, options: list[Any] | None = None, raw_options: bytes | None = None,
                bad_checksum: bool = False, **tcp_fields: Any) -> Packet:
        """A segment of this connection; sequence and ack default to the connection's state.

        `raw_options` are header bytes put verbatim after the fixed header (padded with NOPs to
        a multiple of 4; the data offset covers them), for options scapy would not encode, such
        as a length of 0 or one that runs past the header. `bad_checksum` flips the checksum.
        """
        if raw_options is not None:
            raw = raw_options + b"\x01" * (-len(raw_options) % 4)
            tcp_fields["dataofs"] = 5 + len(raw) // 4
            data = raw + data
        tcp = TCP(sport=self.sport, dport=self.dport, flags=flags,
                  seq=self.snd_nxt if seq is None else seq,
                  ack=(self.rcv_nxt if "A" in flags else 0) if ack is None else ack,
                  window=self.window if window is None else window, options=options or [], **tcp_fields)
        frame = Ether(src=self.port.mac, dst=self.dst_mac) / ip_layer(self.src_ip, self.dst_ip) / tcp
        if data:
            frame = frame / data
        if bad_checksum:
            good = Ether(bytes(frame))[TCP].chksum
            frame[TCP].chksum = good ^ 0x5A5A
        return frame

    def from_sut(self, flags: str | None = None, **tcp_fields: Any) -> Matcher:
        """A matcher for segments of this connection from the SUT."""
        fields: dict[str, Any] = {"sport": self.dport, "dport": self.sport, **tcp_fields}
        if flags is not None:
            fields["flags"] = flags
        return like(ip_layer(self.dst_ip, self.src_ip) / TCP(**fields))

    def open(self, options: list[Any] | None = None, window: int | None = None) -> Packet:
        """Three-way handshake to the SUT's listener; returns the SYN-ACK."""
        syn = self.segment("S", options=[("MSS", 1460)] if options is None else options, window=window)
        synack = self.port.exchange(syn, expect=self.from_sut("SA", ack=seq_add(self.isn, 1)))
        self.irs = synack[TCP].seq
        self.rcv_nxt = seq_add(self.irs, 1)
        self.snd_nxt = seq_add(self.isn, 1)
        self.port.send(self.segment("A", window=window))
        return synack

    def send_data(self, data: bytes, flags: str = "PA", advance: bool = True, **kw: Any) -> None:
        self.port.send(self.segment(flags, data, **kw))
        if advance:
            self.snd_nxt = seq_add(self.snd_nxt, len(data))

    def expect_data(self, timeout: float = 1.0) -> bytes:
        """The next in-order data segment from the SUT; acknowledges nothing."""
        seg = self.port.expect(self.from_sut(seq=self.rcv_nxt), timeout)
        data = payload(seg)
        if not data:
            return self.expect_data(timeout)
        self.rcv_nxt = seq_add(self.rcv_nxt, len(data))
        return data

    def ack(self, **kw: Any) -> None:
        self.port.send(self.segment("A", **kw))

    # --- additions for connection establishment, resets and segment acceptance -----------

    def take_syn(self, syn: Packet) -> None:
        """Adopt the SUT's SYN of an active open: its ISN becomes this end's IRS."""
        self.irs = syn[TCP].seq
        self.rcv_nxt = seq_add(self.irs, 1)

    def accept_synack(self, synack: Packet) -> None:
        """Adopt the SUT's SYN-ACK (sent by `open` or by hand): IRS, RCV.NXT, and SND.NXT
        past this end's SYN."""
        self.irs = synack[TCP].seq
        self.rcv_nxt = seq_add(self.irs, 1)
        self.snd_nxt = synack[TCP].ack

    def expect_ack(self, timeout: float = 1.0, **tcp_fields: Any) -> Packet:
        """The SUT's pure acknowledgment of what this end has sent (ack=SND.NXT)."""
        fields = {"ack": self.snd_nxt, **tcp_fields}
        return self.port.expect(self.from_sut("A", **fields), timeout)

    def reply(self, flags: str | None = None, **tcp_fields: Any) -> Matcher:
        """Like `from_sut`, but never matching a SYN or SYN-ACK that carries the SUT's ISN again:
        the SUT retransmits those on its own timer (1 s), so they answer nothing the tester sent
        and must not be taken for the answer a case waits for, or forbids."""
        base = self.from_sut(flags, **tcp_fields)
        return _NotRetransmittedSyn(base.template, iss=self.irs)

    def sync(self) -> None:
        """Wait until the SUT has processed everything sent so far: an echo through the Port's
        fence is answered only after the frames before it. Frames that arrived before the sync
        no longer count as answers to later sends."""
        self.port.sync()

    def answer_to(self, frame: Packet, matcher: Matcher | None = None) -> Packet | None:
        """Send `frame` and return the first segment like `matcher` (default: any segment of
        this connection from the SUT) that arrived before the fence's answer, or None. For
        requirements that allow either an answer or silence, and judge whichever came."""
        return self.port.before_fence(matcher or self.from_sut(), stimulus=frame)


def tcp_options(segment: Packet) -> dict[Any, Any]:
    """A segment's TCP options by name ('MSS', 'WScale', 'SAckOK', 'Timestamp', or the kind
    number of an option scapy does not know); NOP and EOL left out."""
    return {name: value for name, value in segment[TCP].options if name not in ("NOP", "EOL")}


def checksum_ok(segment: Packet) -> bool:
    """Whether the TCP checksum of a received segment is right: the one's complement sum over
    the pseudo-header and the segment, checksum included, must come out as zero."""
    if segment.getlayer(IP) is None:
        return bool(in6_chksum(6, segment[IPv6], bytes(segment[TCP])) == 0)
    ip = segment[IP]
    return in4_chksum(6, ip, bytes(ip[TCP])[: ip.len - ip.ihl * 4]) == 0


class _NotRetransmittedSyn(Matcher):
    """A segment matcher that refuses segments with SYN set and the SUT's ISN as sequence number."""

    def __init__(self, template: Packet, iss: int) -> None:
        super().__init__(template)
        self.iss = iss

    def mismatches(self, frame: Packet) -> list[Mismatch]:
        out = super().mismatches(frame)
        tcp = frame.getlayer(TCP)
        if not out and tcp is not None and int(tcp.flags) & 0x02 and tcp.seq == self.iss:
            out.append(Mismatch("TCP.flags", "not a (re)transmission of the SUT's SYN", str(tcp.flags)))
        return out

    def describe(self) -> str:
        return super().describe() + ", not a retransmitted SYN"
