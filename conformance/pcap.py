"""pcapng files: one interface block per Port, each packet with its direction.

pcapng rather than pcap because one case spans several Ports (and a TUN Port has no Ethernet
header), and because Wireshark then shows which Port saw each frame and in which direction.
Timestamps are in nanoseconds (if_tsresol = 9).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SHB, IDB, EPB = 0x0A0D0D0A, 0x00000001, 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_END, OPT_COMMENT = 0, 1
IF_NAME, IF_TSRESOL = 2, 9
EPB_FLAGS = 2
DIRECTION_FLAG = {"in": 1, "out": 2}
DIRECTION_NAME = {1: "in", 2: "out"}


@dataclass(frozen=True)
class Packet:
    t_ns: int
    interface: str
    linktype: int
    direction: str
    data: bytes
    comment: str = ""


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad(value)


def _block(kind: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def write(path: Path, packets: Iterable[Packet]) -> None:
    """Write packets (in the order given) to a pcapng file at `path`."""
    with open(path, "wb") as f:
        write_stream(f, packets)


def write_stream(f: BinaryIO, packets: Iterable[Packet]) -> None:
    shb = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + _option(OPT_END, b"")
    f.write(_block(SHB, shb))
    ids: dict[tuple[str, int], int] = {}
    for pkt in packets:
        key = (pkt.interface, pkt.linktype)
        if key not in ids:
            ids[key] = len(ids)
            body = struct.pack("<HHI", pkt.linktype, 0, 0)
            body += _option(IF_NAME, pkt.interface.encode()) + _option(IF_TSRESOL, b"\x09")
            body += _option(OPT_END, b"")
            f.write(_block(IDB, body))
        opts = _option(EPB_FLAGS, struct.pack("<I", DIRECTION_FLAG.get(pkt.direction, 0)))
        if pkt.comment:
            opts += _option(OPT_COMMENT, pkt.comment.encode())
        opts += _option(OPT_END, b"")
        body = struct.pack(
            "<IIIII", ids[key], pkt.t_ns >> 32, pkt.t_ns & 0xFFFFFFFF, len(pkt.data), len(pkt.data)
        )
        f.write(_block(EPB, body + _pad(pkt.data) + opts))


def read(path: Path) -> list[Packet]:
    with open(path, "rb") as f:
        return list(read_stream(f.read()))


def read_stream(buf: bytes) -> Iterator[Packet]:
    """Read the pcapng files this module writes (little-endian, one section)."""
    interfaces: list[tuple[str, int]] = []
    pos = 0
    while pos + 12 <= len(buf):
        kind, length = struct.unpack_from("<II", buf, pos)
        if length < 12 or pos + length > len(buf):
            raise ValueError(f"truncated pcapng block at offset {pos}")
        body = buf[pos + 8 : pos + length - 4]
        pos += length
        if kind == SHB:
            if struct.unpack_from("<I", body)[0] != BYTE_ORDER_MAGIC:
                raise ValueError("not a little-endian pcapng file")
            interfaces = []
        elif kind == IDB:
            linktype = struct.unpack_from("<H", body)[0]
            opts = dict(_options(body[8:]))
            interfaces.append((opts.get(IF_NAME, b"").decode(), linktype))
        elif kind == EPB:
            ifid, hi, lo, caplen, _orig = struct.unpack_from("<IIIII", body)
            data = body[20 : 20 + caplen]
            opts = dict(_options(body[20 + caplen + (-caplen % 4) :]))
            flags = struct.unpack("<I", opts[EPB_FLAGS])[0] if EPB_FLAGS in opts else 0
            name, linktype = interfaces[ifid]
            yield Packet(
                (hi << 32) | lo, name, linktype, DIRECTION_NAME.get(flags & 3, ""), bytes(data),
                opts.get(OPT_COMMENT, b"").decode(),
            )


def _options(buf: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos + 4 <= len(buf):
        code, length = struct.unpack_from("<HH", buf, pos)
        if code == OPT_END:
            return
        yield code, buf[pos + 4 : pos + 4 + length]
        pos += 4 + length + (-length % 4)
