"""Fragments the tester sends and the SUT's own fragments as they arrive (RFC 791 3.2).

`fragment()` cuts a whole datagram built by cases.ipv4.frames into pieces given by octet
ranges of its data, copying the header (and, in the first piece only, its options unless told
otherwise); `sut_fragments()` gathers the pieces of the SUT's datagrams once a fence is in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from scapy.layers.inet import IP
from scapy.packet import Packet

from cases.ipv4.frames import FLAG_MF, frames_since, ip_header


@dataclass(frozen=True)
class Piece:
    """Octets [start, end) of the datagram's data, as one fragment; `last` clears MF."""

    start: int
    end: int
    last: bool = False


def split(length: int, size: int) -> list[Piece]:
    """Consecutive pieces of `size` octets (a multiple of 8) covering `length` octets."""
    pieces = [Piece(start, min(start + size, length)) for start in range(0, length, size)]
    pieces[-1] = Piece(pieces[-1].start, pieces[-1].end, last=True)
    return pieces


def fragment(datagram: bytes, pieces: list[Piece], *, options_everywhere: bool = False, ttl: int | None = None,
             data: dict[int, bytes] | None = None) -> list[bytes]:
    """The fragments of `datagram` for `pieces`, in the order given. `data` replaces the
    contents of the piece at that index (same length), for overlap cases."""
    ihl = (datagram[0] & 0x0F) * 4
    src, dst = ".".join(map(str, datagram[12:16])), ".".join(map(str, datagram[16:20]))
    ident = int.from_bytes(datagram[4:6], "big")
    options, body = datagram[20:ihl], datagram[ihl:]
    out = []
    for i, piece in enumerate(pieces):
        chunk = body[piece.start : piece.end] if data is None or i not in data else data[i]
        with_options = options if piece.start == 0 or options_everywhere else b""
        head = ip_header(src=src, dst=dst, proto=datagram[9], payload_len=len(chunk), ident=ident,
                         ttl=datagram[8] if ttl is None else ttl, tos=datagram[1],
                         flags=0 if piece.last else FLAG_MF, offset=piece.start, options=with_options)
        out.append(head + chunk)
    return out


def sut_fragments(lan, start: int, proto: int) -> dict[int, list[Packet]]:
    """The SUT's datagrams of protocol `proto` to the tester received since `start`, fenced,
    grouped by identification, each group sorted by fragment offset."""
    lan.tester.sync()
    groups: dict[int, list[Packet]] = defaultdict(list)
    for packet in frames_since(lan, start):
        if IP in packet and packet[IP].src == lan.sut.ip and packet[IP].dst == lan.tester.ip and packet[IP].proto == proto:
            groups[packet[IP].id].append(packet)
    return {ident: sorted(group, key=lambda p: p[IP].frag) for ident, group in groups.items()}


def fragment_data(packet: Packet) -> bytes:
    """The data octets a fragment carries (after its header, up to its Total Length)."""
    raw = bytes(packet.original or bytes(packet))[14:]  # as received, not as scapy would rebuild it
    return raw[(raw[0] & 0x0F) * 4 : int.from_bytes(raw[2:4], "big")]


def reassemble(group: list[Packet]) -> bytes:
    """The data of a fragment group laid out by offset (the group must be contiguous)."""
    return b"".join(fragment_data(p) for p in group)
