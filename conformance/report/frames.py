"""Frames for the report: a case's pcapng decoded layer by layer, its ladder, and the frame a
failed assertion is about.

The ladder is a sequence diagram: one lane per tester Port and one for the SUT, one arrow per
frame in time order. Every frame a Port saw went between that Port and the SUT, so an arrow
always joins the SUT's lane and one Port's lane.

Numbers are written one way in the decode, the ladder and the assertion messages: identifiers,
sequence and acknowledgement numbers and checksums in hex (`0x…`, as the messages write them);
counts, lengths, ports, TTLs and windows in decimal. A TCP arrow shows its ports, flags,
sequence and acknowledgement numbers relative to each direction's first one (as Wireshark
does; the decode gives the absolute ones), its length, window and options.
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
# Written in hex wherever they are numbers: sequence numbers, identifiers, checksums, and the
# type codes of link layers (EtherType, ARP's protocol type), as the assertion messages write them.
HEX_FIELDS = {"seq", "ack", "id", "chksum", "cksum"}
HEX_LAYER_FIELDS = {("Ethernet", "type"), ("802.1Q", "type"), ("ARP", "ptype"), ("SNAP", "code"), ("802.3", "type")}
DECIMAL_FIELDS = {"sport", "dport", "len", "ttl", "window", "urgptr", "plen", "hlen", "hwlen", "frag", "tos",
                  "dataofs", "ihl", "version", "hwtype", "op", "code"}
# How an assertion message says that an expected frame did not come.
ABSENCE = ("NoMatch", "no frame like", "nothing came", "nothing arrived", "no answer", "no reply", "never came",
           "none came", "did not answer", "got no ")
TCP_FLAGS = {"F": "FIN", "S": "SYN", "R": "RST", "P": "PSH", "A": "ACK", "U": "URG", "E": "ECE", "C": "CWR", "N": "NS"}


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
    summary: str  # scapy's one-line summary, as results.json records it
    note: str
    label: str = ""  # what the arrow says: for TCP, ports, flags, relative seq/ack, len, window, options
    src_lane: int = 0
    dst_lane: int = 0
    layers: list[Layer] = field(default_factory=list)
    b64: str = ""  # the bytes, base64: the page draws the hex dump when it is opened
    focus: str = ""  # why this is the frame the failed assertion is about, if it is

    @property
    def auxiliary(self) -> bool:
        return any(self.note.startswith(n) for n in AUXILIARY_NOTES)


@dataclass
class Ladder:
    lanes: list[str]
    frames: list[Frame]
    decoded: bool  # whether the frames carry their bytes (the pcap was found and matched)


def ladder(frames: list[dict[str, Any]], pcap_path: Path | None, *, outcome: str = "", message: str = "") -> Ladder:
    """The case's ladder from its results.json frames, with bytes from its pcap when it has one."""
    ports: list[str] = []
    for f in frames:
        if f["port"] not in ports:
            ports.append(f["port"])
    lanes = [*ports[:1], SUT_LANE, *ports[1:]]
    packets = _read_pcap(pcap_path) if pcap_path is not None else None
    decoded = packets is not None and len(packets) == len(frames)
    t0 = frames[0]["t_ms"] if frames else 0.0
    tcp = TcpNumbering()
    out = []
    for i, f in enumerate(frames):
        port_lane, sut_lane = lanes.index(f["port"]), lanes.index(SUT_LANE)
        outward = f["dir"] == "out"
        fr = Frame(n=i + 1, t_ms=round(f["t_ms"] - t0, 3), port=f["port"], direction=f["dir"], length=f["len"],
                   summary=f["summary"], note=f.get("note") or "", label=f["summary"],
                   src_lane=port_lane if outward else sut_lane, dst_lane=sut_lane if outward else port_lane)
        if decoded and packets is not None:
            pkt = dissect(packets[i].data, packets[i].linktype)
            fr.label = label(pkt, tcp, f["summary"]) if pkt is not None else f["summary"]
            fr.layers = decode_packet(pkt, tcp) if pkt is not None else [Layer("undecodable", [])]
            fr.b64 = base64.b64encode(packets[i].data).decode()
        out.append(fr)
    if outcome == "fail":
        mark_focus(out, message)
    return Ladder(lanes, out, decoded)


def mark_focus(frames: list[Frame], message: str) -> None:
    """Mark the frame a failed assertion is about: the one its message quotes; else, when no
    expected frame came, the stimulus; else the SUT's last frame (what the case judged)."""
    own = [f for f in frames if not f.auxiliary]
    quoted = [f for f in own if f.summary and f.summary in message]
    if quoted:
        quoted[-1].focus = "the frame the assertion message quotes"
        return
    if any(word in message for word in ABSENCE):
        sent = [f for f in own if f.direction == "out"]
        if sent:
            sent[-1].focus = "the frame the expected answer never came to"
        return
    received = [f for f in own if f.direction == "in"]
    if received:
        received[-1].focus = "the SUT's last frame, the one the assertion most likely judged"


def _read_pcap(path: Path) -> list[pcap.Packet] | None:
    try:
        return pcap.read(path)
    except (OSError, ValueError, KeyError, IndexError):  # a missing or damaged pcap costs the decode only
        return None


def dissect(data: bytes, linktype: int) -> Any:
    """The frame as scapy reads it, or None when scapy gives up."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    try:
        if linktype == LINKTYPE_ETHERNET:
            return Ether(data)
        if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6) and data:
            return IPv6(data) if data[0] >> 4 == 6 else IP(data)
        return Raw(data)
    except Exception:  # scapy gave up: show the bytes only
        return None


class TcpNumbering:
    """Relative TCP sequence numbers: each direction of a connection counts from its first segment."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, int, str, int], int] = {}

    @staticmethod
    def _ends(pkt: Any) -> tuple[tuple[str, int, str, int], tuple[str, int, str, int]]:
        from scapy.layers.inet import TCP

        ip = pkt[TCP].underlayer
        src, dst = str(getattr(ip, "src", "")), str(getattr(ip, "dst", ""))
        me = (src, int(pkt[TCP].sport), dst, int(pkt[TCP].dport))
        return me, (me[2], me[3], me[0], me[1])

    def relative(self, pkt: Any) -> tuple[int, int | None]:
        """(relative seq, relative ack or None when the other direction has not been seen)."""
        from scapy.layers.inet import TCP

        me, peer = self._ends(pkt)
        seg = pkt[TCP]
        base = self.first.setdefault(me, int(seg.seq))
        ack = None
        if peer in self.first:
            ack = (int(seg.ack) - self.first[peer]) % (1 << 32)
        return (int(seg.seq) - base) % (1 << 32), ack

    def peek(self, pkt: Any) -> tuple[int | None, int | None]:
        from scapy.layers.inet import TCP

        me, peer = self._ends(pkt)
        seg = pkt[TCP]
        seq = (int(seg.seq) - self.first[me]) % (1 << 32) if me in self.first else None
        ack = (int(seg.ack) - self.first[peer]) % (1 << 32) if peer in self.first else None
        return seq, ack


def flag_names(flags: Any) -> str:
    return ", ".join(TCP_FLAGS.get(ch, ch) for ch in str(flags)) or "none"


def tcp_options(options: Any) -> str:
    """TCP options as a person reads them: 'MSS 1460, SACK permitted, TS val 1 ecr 0, NOP, WS 7'."""
    out = []
    for option in options or []:
        name, value = option if isinstance(option, tuple) and len(option) == 2 else (str(option), None)
        if name == "MSS":
            out.append(f"MSS {value}")
        elif name == "WScale":
            out.append(f"WS {value}")
        elif name == "SAckOK":
            out.append("SACK permitted")
        elif name == "SAck":
            values = list(value or ())
            out.append("SACK " + " ".join(f"{a:#x}-{b:#x}" for a, b in zip(values[::2], values[1::2], strict=False)))
        elif name == "Timestamp" and isinstance(value, tuple):
            out.append(f"TS val {value[0]} ecr {value[1]}")  # clock values: decimal
        elif name in ("NOP", "EOL"):
            out.append(name)
        else:
            shown = value.hex() if isinstance(value, bytes) else value
            out.append(f"{name} {shown}" if shown not in (None, "") else str(name))
    return ", ".join(out)


def label(pkt: Any, tcp: TcpNumbering, summary: str = "") -> str:
    """The arrow's text: TCP and UDP with numeric ports (and TCP's numbers), else scapy's summary."""
    from scapy.layers.inet import TCP, UDP

    if pkt.haslayer(TCP) and type(pkt[TCP]) is TCP:
        seg = pkt[TCP]
        seq, ack = tcp.relative(pkt)
        payload = len(bytes(seg.payload))
        text = f"{seg.sport} → {seg.dport} [{flag_names(seg.flags)}] seq={seq}"
        if "A" in str(seg.flags):
            text += f" ack={ack}" if ack is not None else f" ack={int(seg.ack):#x}"
        text += f" win={seg.window} len={payload}"
        opts = tcp_options(seg.options)
        return text + (f" <{opts}>" if opts else "")
    if pkt.haslayer(UDP) and type(pkt[UDP]) is UDP:
        dgram = pkt[UDP]
        ip = dgram.underlayer
        return f"UDP {getattr(ip, 'src', '?')}:{dgram.sport} → {getattr(ip, 'dst', '?')}:{dgram.dport} len={len(bytes(dgram.payload))}"
    return summary or str(pkt.summary())


def _field_text(layer: Any, fld: Any, value: Any, tcp: TcpNumbering, enum: Any) -> str:
    name = fld.name
    if layer.name == "TCP" and name == "options":
        return tcp_options(value) or "none"
    if layer.name == "TCP" and name == "flags":
        return f"{value} ({flag_names(value)})"
    if isinstance(value, int) and not isinstance(value, bool):
        hexed = name in HEX_FIELDS or (layer.name, name) in HEX_LAYER_FIELDS
        number = f"{value:#x}" if hexed else str(value)
        if layer.name == "TCP" and name in ("seq", "ack"):
            rel = tcp.peek(layer)[0 if name == "seq" else 1]
            return f"{number} (relative {rel})" if rel is not None else number
        if isinstance(fld, enum) and name not in ("sport", "dport"):
            shown = str(fld.i2repr(layer, value))
            if shown not in (str(value), hex(value)):
                return f"{shown} ({number})"
        if hexed or name in DECIMAL_FIELDS or type(fld).__name__.startswith("X"):
            return number
    return str(fld.i2repr(layer, value))


def decode_packet(pkt: Any, tcp: TcpNumbering | None = None) -> list[Layer]:
    """Each layer of the frame with its fields (names, enum names with their numbers, flags)."""
    from scapy.fields import ConditionalField, EnumField
    from scapy.packet import NoPayload

    tcp = tcp or TcpNumbering()
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
                text = _field_text(layer, getattr(fld, "fld", fld), value, tcp, EnumField)
            except Exception:  # a field scapy cannot show is left out, the hex still has it
                continue
            if len(text) > MAX_FIELD_TEXT:
                text = text[:MAX_FIELD_TEXT] + "…"
            fields.append((fld.name, text))
        layers.append(Layer(layer.name, fields))
        layer = layer.payload
    return layers


def decode(data: bytes, linktype: int) -> list[Layer]:
    """The frame's layers, from its bytes."""
    pkt = dissect(data, linktype)
    if pkt is None:
        return [Layer("undecodable", [])]
    return decode_packet(pkt)


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
