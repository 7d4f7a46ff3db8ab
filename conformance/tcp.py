"""A hand-driven TCP endpoint on the tester side, for transport cases.

The tester's kernel has no address and never sees these connections; TcpPeer builds every
segment itself and keeps the sequence space, so a case can send exactly the segment an RFC
clause talks about (an RST one byte off, a SYN in ESTABLISHED) and read what the SUT answers.
"""

from __future__ import annotations

import itertools
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from conformance.match import Matcher, like
from conformance.wire import Port

SEQ_MOD = 1 << 32
_ports = itertools.count(40000)


def seq_add(a: int, b: int) -> int:
    return (a + b) % SEQ_MOD


def payload(segment: Packet) -> bytes:
    """The segment's data as the IP total length bounds it (Ethernet padding excluded)."""
    ip, tcp = segment[IP], segment[TCP]
    start = tcp.dataofs * 4
    length = ip.len - ip.ihl * 4 - start
    return bytes(tcp)[start : start + max(length, 0)]


class TcpPeer:
    """One connection's tester end: addresses, ports and the sequence numbers both ways."""

    def __init__(self, port: Port, *, dst_ip: str, dst_mac: str, dport: int, sport: int | None = None,
                 src_ip: str | None = None, isn: int = 0x10000000) -> None:
        self.port = port
        self.src_ip = src_ip or port.ip or ""
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
                window: int | None = None, options: list[Any] | None = None, **tcp_fields: Any) -> Packet:
        """A segment of this connection; sequence and ack default to the connection's state."""
        tcp = TCP(sport=self.sport, dport=self.dport, flags=flags,
                  seq=self.snd_nxt if seq is None else seq,
                  ack=(self.rcv_nxt if "A" in flags else 0) if ack is None else ack,
                  window=self.window if window is None else window, options=options or [], **tcp_fields)
        frame = Ether(src=self.port.mac, dst=self.dst_mac) / IP(src=self.src_ip, dst=self.dst_ip) / tcp
        return frame / data if data else frame

    def from_sut(self, flags: str | None = None, **tcp_fields: Any) -> Matcher:
        """A matcher for segments of this connection from the SUT."""
        fields: dict[str, Any] = {"sport": self.dport, "dport": self.sport, **tcp_fields}
        if flags is not None:
            fields["flags"] = flags
        return like(IP(src=self.dst_ip, dst=self.src_ip) / TCP(**fields))

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
