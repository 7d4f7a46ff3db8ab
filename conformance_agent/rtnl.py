"""A small rtnetlink client in the standard library: links, addresses, routes, rules and
neighbours, as the agent needs them. One socket per namespace; each request waits for its
acknowledgement or its dump, so errors come back as OSError with the kernel's errno.

Message layouts are those of the kernel's uapi headers (linux/netlink.h, linux/rtnetlink.h,
linux/if_link.h, linux/neighbour.h, linux/fib_rules.h).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

NETLINK_ROUTE = 0
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_APPEND = 0x100, 0x200, 0x400, 0x800

RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE = 32, 33, 34

IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_OPERSTATE = 1, 3, 4, 16
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 4, 6, 8
IFA_F_TENTATIVE = 0x40
ADDRESS_FLAGS = {0x01: "secondary", 0x02: "nodad", 0x04: "optimistic", 0x08: "dadfailed", 0x10: "homeaddress",
                 0x20: "deprecated", 0x40: "tentative", 0x80: "permanent", 0x100: "managetempaddr",
                 0x200: "noprefixroute", 0x400: "mcautojoin", 0x800: "stable-privacy"}
INFINITY_LIFETIME = 0xFFFFFFFF
RTA_DST, RTA_SRC, RTA_IIF, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC = 1, 2, 3, 4, 5, 6, 7
RTA_MULTIPATH, RTA_TABLE = 9, 15
NDA_DST, NDA_LLADDR = 1, 2
NTF_ROUTER = 0x80  # an IPv6 neighbour that is a router (RFC 4861 IsRouter)
FRA_DST, FRA_SRC, FRA_IIFNAME, FRA_PRIORITY, FRA_FWMARK, FRA_TABLE = 1, 2, 3, 6, 10, 15

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST, RT_SCOPE_NOWHERE = 0, 253, 254, 255
ROUTE_TYPES = {"unicast": 1, "local": 2, "broadcast": 3, "blackhole": 6, "unreachable": 7, "prohibit": 8, "throw": 9}
ROUTE_TYPE_NAMES = {v: k for k, v in ROUTE_TYPES.items()}
NUD_STATES = {0x01: "INCOMPLETE", 0x02: "REACHABLE", 0x04: "STALE", 0x08: "DELAY", 0x10: "PROBE",
              0x20: "FAILED", 0x40: "NOARP", 0x80: "PERMANENT"}
NUD_BY_NAME = {v: k for k, v in NUD_STATES.items()}
OPERSTATES = {0: "UNKNOWN", 1: "NOTPRESENT", 2: "DOWN", 3: "LOWERLAYERDOWN", 4: "TESTING", 5: "DORMANT", 6: "UP"}
FR_ACT_TO_TBL = 1

_HDR = struct.Struct("=LHHLL")
_ATTR = struct.Struct("=HH")
IFINFO = struct.Struct("=BxHiII")
IFADDR = struct.Struct("=BBBBI")
RTMSG = struct.Struct("=BBBBBBBBI")
NDMSG = struct.Struct("=BxxxiHBB")
RULE = struct.Struct("=BBBBBBBBI")
RTNH = struct.Struct("=HBBi")
CACHEINFO = struct.Struct("=IIII")  # ifa_prefered, ifa_valid, cstamp, tstamp


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    raw = _ATTR.pack(_ATTR.size + len(payload), kind) + payload
    return raw + b"\0" * (_align(len(raw)) - len(raw))


def parse_attrs(data: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    offset = 0
    while offset + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        out.setdefault(kind & 0x3FFF, data[offset + _ATTR.size : offset + length])
        offset += _align(length)
    return out


def ip_bytes(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def ip_text(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw))


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def mac_bytes(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def family_of(text: str) -> int:
    return socket.AF_INET6 if ":" in text else socket.AF_INET


@dataclass
class Message:
    kind: int
    body: bytes
    attrs: dict[int, bytes] = field(default_factory=dict)


class Rtnl:
    """One NETLINK_ROUTE socket in the namespace it was created in."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def request(self, kind: int, body: bytes, attrs: bytes = b"", flags: int = 0, head: struct.Struct | None = None) -> list[Message]:
        """Send one message; return the answers (a dump's entries, or a get's one reply).
        An error from the kernel is raised as OSError."""
        self.seq += 1
        seq = self.seq
        payload = body + attrs
        self.sock.send(_HDR.pack(_HDR.size + len(payload), kind, NLM_F_REQUEST | flags, seq, 0) + payload)
        out: list[Message] = []
        while True:
            data = self.sock.recv(1 << 16)
            for mtype, mflags, mseq, msg in _messages(data):
                if mseq != seq:
                    continue  # a late answer to an earlier request
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", msg)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    return out
                if mtype == NLMSG_DONE:
                    return out
                size = head.size if head is not None else 0
                out.append(Message(mtype, msg, parse_attrs(msg[_align(size):])))
                if not mflags & NLM_F_MULTI and not flags & NLM_F_ACK:
                    return out

    def do(self, kind: int, body: bytes, attrs: bytes = b"", flags: int = 0) -> None:
        self.request(kind, body, attrs, flags | NLM_F_ACK)

    def dump(self, kind: int, body: bytes, head: struct.Struct) -> list[Message]:
        return self.request(kind, body, flags=NLM_F_DUMP, head=head)

    # --- links ----------------------------------------------------------------------------

    def links(self) -> list[dict[str, object]]:
        return [_link_of(m) for m in self.dump(RTM_GETLINK, IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0), IFINFO)]

    def index(self, name: str) -> int:
        for link in self.links():
            if link["name"] == name:
                return int(str(link["index"]))
        raise OSError(19, f"no interface {name}")  # ENODEV

    def link_set(self, index: int, *, up: bool | None = None, mtu: int | None = None, mac: str | None = None) -> None:
        flags = change = 0
        if up is not None:
            flags, change = (IFF_UP if up else 0), IFF_UP
        attrs = attr(IFLA_MTU, struct.pack("=I", mtu)) if mtu is not None else b""
        if mac is not None:
            attrs += attr(IFLA_ADDRESS, mac_bytes(mac))
        self.do(RTM_NEWLINK, IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change), attrs)

    # --- addresses ------------------------------------------------------------------------

    def addresses(self) -> list[dict[str, object]]:
        out = []
        for m in self.dump(RTM_GETADDR, IFADDR.pack(socket.AF_UNSPEC, 0, 0, 0, 0), IFADDR):
            family, prefixlen, flags, scope, index = IFADDR.unpack_from(m.body)
            raw = m.attrs.get(IFA_LOCAL) or m.attrs.get(IFA_ADDRESS)
            if raw is None:
                continue
            if IFA_FLAGS in m.attrs:
                flags = struct.unpack("=I", m.attrs[IFA_FLAGS][:4])[0]
            preferred = valid = None
            if IFA_CACHEINFO in m.attrs:
                left = CACHEINFO.unpack_from(m.attrs[IFA_CACHEINFO])
                preferred, valid = (None if v == INFINITY_LIFETIME else v for v in left[:2])
            out.append({"index": index, "address": ip_text(raw), "prefixlen": prefixlen, "scope": scope,
                        "family": "ipv6" if family == socket.AF_INET6 else "ipv4",
                        "tentative": bool(flags & IFA_F_TENTATIVE),
                        "flags": [name for bit, name in ADDRESS_FLAGS.items() if flags & bit],
                        "preferred_s": preferred, "valid_s": valid})
        return out

    def address(self, op: str, index: int, address: str, prefixlen: int, nodad: bool = False,
                preferred_s: int | None = None, valid_s: int | None = None) -> None:
        family = family_of(address)
        raw = ip_bytes(address)
        attrs = attr(IFA_LOCAL, raw) + attr(IFA_ADDRESS, raw)
        if family == socket.AF_INET and prefixlen < 31:
            net = ipaddress.ip_network(f"{address}/{prefixlen}", strict=False)
            attrs += attr(IFA_BROADCAST, net.broadcast_address.packed)
        flags = 0x02 if nodad else 0  # IFA_F_NODAD
        if preferred_s is not None or valid_s is not None:  # finite lifetimes (None: infinite)
            attrs += attr(IFA_CACHEINFO, CACHEINFO.pack(INFINITY_LIFETIME if preferred_s is None else preferred_s,
                                                        INFINITY_LIFETIME if valid_s is None else valid_s, 0, 0))
        body = IFADDR.pack(family, prefixlen, flags, 0, index)
        if op == "add":
            self.do(RTM_NEWADDR, body, attrs, NLM_F_CREATE | NLM_F_EXCL)
        else:
            self.do(RTM_DELADDR, body, attrs)

    # --- routes ---------------------------------------------------------------------------

    def route(self, op: str, dst: str, *, gateway: str | None = None, oif: int | None = None, kind: str = "unicast",
              table: int | None = None, metric: int | None = None, prefsrc: str | None = None,
              nexthops: list[tuple[str | None, int | None, int]] | None = None, append: bool = False) -> None:
        """Add or delete a route. `dst` is a prefix ("0.0.0.0/0" for the default); `nexthops`
        (gateway, oif, weight) makes a multipath route."""
        net = ipaddress.ip_network(dst, strict=False)
        family = socket.AF_INET6 if net.version == 6 else socket.AF_INET
        tbl = table if table is not None else RT_TABLE_MAIN
        rtype = ROUTE_TYPES[kind]
        scope = RT_SCOPE_LINK if (kind == "unicast" and gateway is None and not nexthops) else RT_SCOPE_UNIVERSE
        protocol = RTPROT_BOOT
        if op == "del":  # match any scope, protocol and (for unicast) type, as `ip route del` does
            scope, protocol, rtype = RT_SCOPE_NOWHERE, 0, (0 if kind == "unicast" else rtype)
        body = RTMSG.pack(family, net.prefixlen, 0, 0, tbl if tbl < 256 else 252, protocol, scope, rtype, 0)
        attrs = _route_attrs(net, tbl, gateway, oif, metric)
        if prefsrc:
            attrs += attr(RTA_PREFSRC, ip_bytes(prefsrc))
        if nexthops:
            hops = b""
            for gw, dev, weight in nexthops:
                inner = attr(RTA_GATEWAY, ip_bytes(gw)) if gw else b""
                hops += RTNH.pack(RTNH.size + len(inner), 0, max(weight - 1, 0), dev or 0) + inner
            attrs += attr(RTA_MULTIPATH, hops)
        if op == "add":
            self.do(RTM_NEWROUTE, body, attrs, NLM_F_CREATE | (NLM_F_APPEND if append else NLM_F_EXCL))
        else:
            self.do(RTM_DELROUTE, body, attrs)

    def route_get(self, dst: str) -> dict[str, object]:
        family = family_of(dst)
        bits = 128 if family == socket.AF_INET6 else 32
        body = RTMSG.pack(family, bits, 0, 0, 0, 0, 0, 0, 0)
        answers = self.request(RTM_GETROUTE, body, attr(RTA_DST, ip_bytes(dst)), head=RTMSG)
        m = answers[0]
        rtype = RTMSG.unpack_from(m.body)[7]
        a = m.attrs
        oif = struct.unpack("=i", a[RTA_OIF])[0] if RTA_OIF in a else None
        return {"gateway": ip_text(a[RTA_GATEWAY]) if RTA_GATEWAY in a else None, "oif_index": oif,
                "type": rtype, "type_name": ROUTE_TYPE_NAMES.get(rtype, str(rtype)),
                "prefsrc": ip_text(a[RTA_PREFSRC]) if RTA_PREFSRC in a else None}

    def flush_route_cache(self) -> None:
        """Forget learned path MTUs and redirects (the route exceptions) of every destination."""
        for key in ("net/ipv4/route/flush", "net/ipv6/route/flush"):
            try:
                with open(f"/proc/sys/{key}", "w") as f:
                    f.write("1")
            except OSError:
                continue

    # --- rules ----------------------------------------------------------------------------

    def rule(self, op: str, priority: int, table: int, *, src: str | None = None, src_len: int | None = None,
             dst: str | None = None, dst_len: int | None = None, iifname: str | None = None, tos: int = 0,
             fwmark: int | None = None) -> None:
        family = family_of(src or dst or "0.0.0.0")
        body = RULE.pack(family, dst_len or 0, src_len or 0, tos, table if table < 256 else 252, 0, 0, FR_ACT_TO_TBL, 0)
        attrs = attr(FRA_PRIORITY, struct.pack("=I", priority)) + attr(FRA_TABLE, struct.pack("=I", table))
        if src:
            attrs += attr(FRA_SRC, ip_bytes(src))
        if dst:
            attrs += attr(FRA_DST, ip_bytes(dst))
        if iifname:
            attrs += attr(FRA_IIFNAME, iifname.encode() + b"\0")
        if fwmark is not None:
            attrs += attr(FRA_FWMARK, struct.pack("=I", fwmark))
        if op == "add":
            self.do(RTM_NEWRULE, body, attrs, NLM_F_CREATE | NLM_F_EXCL)
        else:
            self.do(RTM_DELRULE, body, attrs)

    # --- neighbours -----------------------------------------------------------------------

    def neighbours(self, family: int = socket.AF_INET) -> Iterator[dict[str, object]]:
        for m in self.dump(RTM_GETNEIGH, NDMSG.pack(family, 0, 0, 0, 0), NDMSG):
            _family, index, state, flags, _type = NDMSG.unpack_from(m.body)
            if NDA_DST not in m.attrs:
                continue
            yield {"index": index, "ip": ip_text(m.attrs[NDA_DST]),
                   "mac": mac_text(m.attrs[NDA_LLADDR]) if NDA_LLADDR in m.attrs else None,
                   "state": NUD_STATES.get(state, hex(state)), "router": bool(flags & NTF_ROUTER)}

    def neighbour(self, op: str, index: int, ip: str, mac: str | None = None, state: str = "PERMANENT") -> None:
        body = NDMSG.pack(family_of(ip), index, NUD_BY_NAME[state], 0, 0)
        attrs = attr(NDA_DST, ip_bytes(ip)) + (attr(NDA_LLADDR, mac_bytes(mac)) if mac else b"")
        if op == "add":
            self.do(RTM_NEWNEIGH, body, attrs, NLM_F_CREATE | NLM_F_REPLACE)
        else:
            self.do(RTM_DELNEIGH, body, attrs)


def _messages(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    offset = 0
    while offset + _HDR.size <= len(data):
        length, mtype, flags, seq, _pid = _HDR.unpack_from(data, offset)
        if length < _HDR.size:
            return
        yield mtype, flags, seq, data[offset + _HDR.size : offset + length]
        offset += _align(length)


# --- building topologies (conformance.topology) ----------------------------------------------
# What the suite's topology builder needs beyond the agent's verbs: veth pairs made with the
# peer directly in another namespace, links found by name, addresses and routes written as the
# builder always wrote them (static protocol, universe scope, no broadcast attribute), and a
# wait for links to come up that sleeps on link notifications instead of polling.

IFLA_LINKINFO, IFLA_NET_NS_FD = 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
NLA_F_NESTED = 0x8000
RTMGRP_LINK = 0x1
RTPROT_STATIC = 4
OPERSTATE_UP = 6


def nested(kind: int, payload: bytes) -> bytes:
    return attr(kind | NLA_F_NESTED, payload)


def _link_attrs(name: str, mac: str | None, mtu: int | None) -> bytes:
    out = attr(IFLA_IFNAME, name.encode() + b"\0")
    if mac is not None:
        out += attr(IFLA_ADDRESS, mac_bytes(mac))
    if mtu is not None:
        out += attr(IFLA_MTU, struct.pack("=I", mtu))
    return out


def veth_add(rtnl: Rtnl, name: str, peer: str, peer_ns_fd: int, *, mac: str | None = None, mtu: int | None = None,
             peer_mac: str | None = None, peer_mtu: int | None = None) -> None:
    """Create the veth pair `name` (in `rtnl`'s namespace) - `peer` (in the namespace `peer_ns_fd`
    holds) in one request: no link is ever moved between namespaces."""
    peer_msg = IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + _link_attrs(peer, peer_mac, peer_mtu) \
        + attr(IFLA_NET_NS_FD, struct.pack("=I", peer_ns_fd))
    info = attr(IFLA_INFO_KIND, b"veth\0") + nested(IFLA_INFO_DATA, nested(VETH_INFO_PEER, peer_msg))
    rtnl.do(RTM_NEWLINK, IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0), _link_attrs(name, mac, mtu) + nested(IFLA_LINKINFO, info),
            NLM_F_CREATE | NLM_F_EXCL)


def link_get(rtnl: Rtnl, *, name: str | None = None, index: int = 0) -> dict[str, object]:
    """One link, by name or index, in one request (no dump): index, name, mac, mtu, up, operstate."""
    attrs = attr(IFLA_IFNAME, name.encode() + b"\0") if name is not None else b""
    answers = rtnl.request(RTM_GETLINK, IFINFO.pack(socket.AF_UNSPEC, 0, index, 0, 0), attrs, head=IFINFO)
    return _link_of(answers[0])


def _link_of(m: Message) -> dict[str, object]:
    _family, _type, index, flags, _change = IFINFO.unpack_from(m.body)
    a = m.attrs
    return {
        "index": index,
        "name": a.get(IFLA_IFNAME, b"").rstrip(b"\0").decode(),
        "mac": mac_text(a[IFLA_ADDRESS]) if IFLA_ADDRESS in a else None,
        "mtu": struct.unpack("=I", a[IFLA_MTU])[0] if IFLA_MTU in a else None,
        "up": bool(flags & IFF_UP),
        "operstate": OPERSTATES.get(a.get(IFLA_OPERSTATE, b"\0")[0], "UNKNOWN"),
    }


def address_add(rtnl: Rtnl, index: int, address: str, prefixlen: int, *, nodad: bool = False) -> None:
    """Add an address as the builder always has: IFA_LOCAL (IPv4) and IFA_ADDRESS, no broadcast
    attribute (the kernel adds the subnet broadcast route by itself)."""
    family = family_of(address)
    raw = ip_bytes(address)
    attrs = (attr(IFA_LOCAL, raw) if family == socket.AF_INET else b"") + attr(IFA_ADDRESS, raw)
    body = IFADDR.pack(family, prefixlen, 0x02 if nodad else 0, 0, index)  # 0x02: IFA_F_NODAD
    rtnl.do(RTM_NEWADDR, body, attrs, NLM_F_CREATE | NLM_F_EXCL)


def route_add(rtnl: Rtnl, dst: str, *, gateway: str | None = None, oif: int | None = None, kind: str = "unicast",
              table: int | None = None, metric: int | None = None) -> None:
    """Add a static route: protocol static, scope universe, in `table` (main by default)."""
    net = ipaddress.ip_network(dst, strict=True)
    family = socket.AF_INET6 if net.version == 6 else socket.AF_INET
    tbl = table if table is not None else RT_TABLE_MAIN
    body = RTMSG.pack(family, net.prefixlen, 0, 0, tbl if tbl < 256 else 252, RTPROT_STATIC, RT_SCOPE_UNIVERSE,
                      ROUTE_TYPES[kind], 0)
    rtnl.do(RTM_NEWROUTE, body, _route_attrs(net, tbl, gateway, oif, metric), NLM_F_CREATE | NLM_F_EXCL)


def _route_attrs(net: ipaddress.IPv4Network | ipaddress.IPv6Network, table: int, gateway: str | None,
                 oif: int | None, metric: int | None) -> bytes:
    """The attributes every route request carries: table, destination, gateway, device, metric."""
    attrs = attr(RTA_TABLE, struct.pack("=I", table))
    if net.prefixlen:
        attrs += attr(RTA_DST, net.network_address.packed)
    if gateway:
        attrs += attr(RTA_GATEWAY, ip_bytes(gateway))
    if oif is not None:
        attrs += attr(RTA_OIF, struct.pack("=i", oif))
    if metric is not None:
        attrs += attr(RTA_PRIORITY, struct.pack("=I", metric))
    return attrs


class LinkWatch:
    """Link notifications of the namespace it is created in: wait for links to be operationally
    UP without polling (the kernel sets operstate from a worker, a little after `link up`)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, RTMGRP_LINK))
        self.sock.setblocking(False)

    def close(self) -> None:
        self.sock.close()

    def up_among(self, indexes: set[int]) -> set[int]:
        """The links among `indexes` that notifications since the last call reported UP."""
        up: set[int] = set()
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return up
            for mtype, _flags, _seq, msg in _messages(data):
                if mtype != RTM_NEWLINK:
                    continue
                link = _link_of(Message(mtype, msg, parse_attrs(msg[_align(IFINFO.size):])))
                index = int(str(link["index"]))
                if index in indexes:
                    if link["operstate"] == "UP":
                        up.add(index)
                    else:
                        up.discard(index)
