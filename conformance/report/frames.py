"""Frames for the report: a case's pcapng decoded layer by layer, its hex, and its ladder.

The ladder is a sequence diagram: one lane per tester Port and one for the SUT, one arrow per
frame in time order. Every frame a Port saw went between that Port and the SUT, so an arrow
always joins the SUT's lane and one Port's lane.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import pcap

SUT_LANE = "SUT"
# Frames the suite sends or answers on its own, to be told apart from the exchange under test.
AUXILIARY_NOTES = ("fence", "tester ARP reply", "tester neighbor advertisement")
LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6 = 1, 101, 228, 229
MAX_FIELD_TEXT = 200  # a field's text beyond this is cut (the pcap has it whole)


@dataclass
class Layer:
    name: str
    fields: list[tuple[str, str]]


@dataclass
class Frame:
    n: int
    t_ms: float  # since the case's first frame
    port: str
    direction: str  # "out": tester -> SUT; "in": SUT -> tester
    length: int
    summary: str
    note: str
    src_lane: int = 0
    dst_lane: int = 0
    layers: list[Layer] = field(default_factory=list)
    b64: str = ""  # the bytes, base64: the page draws the hex dump when it is opened

    @property
    def auxiliary(self) -> bool:
        return any(self.note.startswith(n) for n in AUXILIARY_NOTES)


@dataclass
class Ladder:
    lanes: list[str]
    frames: list[Frame]
    decoded: bool  # whether the frames carry their bytes (the pcap was found and matched)


def ladder(frames: list[dict[str, Any]], pcap_path: Path | None) -> Ladder:
    """The case's ladder from its results.json frames, with bytes from its pcap when it has one."""
    ports: list[str] = []
    for f in frames:
        if f["port"] not in ports:
            ports.append(f["port"])
    lanes = [*ports[:1], SUT_LANE, *ports[1:]]
    packets = _read_pcap(pcap_path) if pcap_path is not None else None
    decoded = packets is not None and len(packets) == len(frames)
    t0 = frames[0]["t_ms"] if frames else 0.0
    out = []
    for i, f in enumerate(frames):
        port_lane, sut_lane = lanes.index(f["port"]), lanes.index(SUT_LANE)
        outward = f["dir"] == "out"
        fr = Frame(n=i + 1, t_ms=round(f["t_ms"] - t0, 3), port=f["port"], direction=f["dir"], length=f["len"],
                   summary=f["summary"], note=f.get("note") or "",
                   src_lane=port_lane if outward else sut_lane, dst_lane=sut_lane if outward else port_lane)
        if decoded and packets is not None:
            fr.layers = decode(packets[i].data, packets[i].linktype)
            fr.b64 = base64.b64encode(packets[i].data).decode()
        out.append(fr)
    return Ladder(lanes, out, decoded)


def _read_pcap(path: Path) -> list[pcap.Packet] | None:
    try:
        return pcap.read(path)
    except (OSError, ValueError, KeyError, IndexError):  # a missing or damaged pcap costs the decode only
        return None


def decode(data: bytes, linktype: int) -> list[Layer]:
    """Each layer of the frame with its fields as scapy shows them (names, enum names, flags)."""
    from scapy.fields import ConditionalField
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.packet import NoPayload, Packet, Raw

    try:
        if linktype == LINKTYPE_ETHERNET:
            pkt: Packet = Ether(data)
        elif linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6) and data:
            pkt = IPv6(data) if data[0] >> 4 == 6 else IP(data)
        else:
            pkt = Raw(data)
    except Exception as exc:  # scapy gave up: show the bytes only
        return [Layer("undecodable", [("error", f"{exc.__class__.__name__}: {exc}")])]
    layers = []
    layer: Any = pkt
    while layer is not None and not isinstance(layer, NoPayload):
        fields = []
        for fld in layer.fields_desc:
            try:
                if isinstance(fld, ConditionalField) and not fld._evalcond(layer):
                    continue  # a field this packet does not have (e.g. ICMP timestamps in an echo)
                value = layer.getfieldval(fld.name)
                if value is None:
                    continue
                text = str(fld.i2repr(layer, value))
            except Exception:  # a field scapy cannot show is left out, the hex still has it
                continue
            if len(text) > MAX_FIELD_TEXT:
                text = text[:MAX_FIELD_TEXT] + "…"
            fields.append((fld.name, text))
        layers.append(Layer(layer.name, fields))
        layer = layer.payload
    return layers


def hexdump(data: bytes) -> str:
    """Offset, 16 bytes in hex, and their printable ASCII, one line per 16 bytes.

    The page's script draws the same layout from the base64 bytes (report.js, hexdump); this is
    its reference, which the browser test compares against.
    """
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        hexpart = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:04x}  {hexpart:<47}  {text}")
    return "\n".join(lines)
