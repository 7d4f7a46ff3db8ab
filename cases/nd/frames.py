"""Neighbor Discovery messages (RFC 4861 4) as the tester builds them, and matchers for the
SUT's. Every address field is set here: nothing is filled from the host's state.

The builders make valid messages; a case that needs an invalid one says which field it breaks
(`hlim=`, `code=`, `cksum=`, ...) or truncates a valid one with `truncated()`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_Redirect,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptRedirectedHdr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    in6_chksum,
)
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from conformance.match import Matcher, like

ALL_NODES, ALL_ROUTERS = "ff02::1", "ff02::2"
ALL_NODES_MAC, ALL_ROUTERS_MAC = "33:33:00:00:00:01", "33:33:00:00:00:02"
UNSPECIFIED = "::"
NS_TYPE, NA_TYPE, RS_TYPE, RA_TYPE, REDIRECT_TYPE = 135, 136, 133, 134, 137


def solicited_node(addr: str) -> str:
    """The solicited-node multicast address of `addr` (RFC 4291 2.7.1): ff02::1:ff + low 24 bits."""
    low = ipaddress.IPv6Address(addr).packed[13:]
    return str(ipaddress.IPv6Address(bytes.fromhex("ff02" + "00" * 9 + "01ff") + low))


def multicast_mac(group: str) -> str:
    """The Ethernet address IPv6 multicast `group` maps to (RFC 2464 7): 33:33 + low 32 bits."""
    low = ipaddress.IPv6Address(group).packed[12:]
    return "33:33:" + ":".join(f"{b:02x}" for b in low)


def same_ip(a: Any, b: str) -> bool:
    try:
        return ipaddress.IPv6Address(str(a)) == ipaddress.IPv6Address(b)
    except ValueError:
        return False


# --- messages the tester sends -------------------------------------------------------------

def ns(src_mac: str, src: str, target: str, *, dst: str | None = None, dst_mac: str | None = None,
       sllao: str | None = "same", hlim: int = 255, code: int = 0, options: Packet | None = None,
       **fields: Any) -> Packet:
    """A Neighbor Solicitation for `target` from `src`: multicast to the target's solicited-node
    address unless `dst` says otherwise, with a Source Link-Layer Address option carrying
    `src_mac` unless `sllao` is None (or another address)."""
    dst = dst or solicited_node(target)
    dst_mac = dst_mac or (multicast_mac(dst) if ipaddress.IPv6Address(dst).is_multicast else None)
    assert dst_mac is not None, "a unicast NS needs the destination's MAC"
    msg = IPv6(src=src, dst=dst, hlim=hlim) / ICMPv6ND_NS(tgt=target, code=code, **fields)
    if sllao is not None:
        msg = msg / ICMPv6NDOptSrcLLAddr(lladdr=src_mac if sllao == "same" else sllao)
    if options is not None:
        msg = msg / options
    return Ether(src=src_mac, dst=dst_mac) / msg


def na(src_mac: str, target: str, *, dst: str, dst_mac: str, src: str | None = None, R: int = 0, S: int = 1,
       O: int = 1, tllao: str | None = "same", hlim: int = 255, code: int = 0, **fields: Any) -> Packet:  # noqa: E741
    """A Neighbor Advertisement for `target` (from `target` itself unless `src` is given), with a
    Target Link-Layer Address option carrying `src_mac` unless `tllao` is None (or another)."""
    msg = IPv6(src=src or target, dst=dst, hlim=hlim) / ICMPv6ND_NA(tgt=target, R=R, S=S, O=O, code=code, **fields)
    if tllao is not None:
        msg = msg / ICMPv6NDOptDstLLAddr(lladdr=src_mac if tllao == "same" else tllao)
    return Ether(src=src_mac, dst=dst_mac) / msg


def ra(src_mac: str, src: str, *, lifetime: int = 1800, chlim: int = 0, reachable: int = 0, retrans: int = 0,
       sllao: bool = True, options: Packet | None = None, hlim: int = 255, code: int = 0,
       dst: str = ALL_NODES, dst_mac: str = ALL_NODES_MAC, **fields: Any) -> Packet:
    """A Router Advertisement from `src`, to all nodes: `lifetime` is the Router Lifetime (s),
    `chlim` the Cur Hop Limit, `reachable` / `retrans` in ms (0: unspecified)."""
    msg = IPv6(src=src, dst=dst, hlim=hlim) / ICMPv6ND_RA(
        chlim=chlim, routerlifetime=lifetime, reachabletime=reachable, retranstimer=retrans, code=code, **fields)
    if sllao:
        msg = msg / ICMPv6NDOptSrcLLAddr(lladdr=src_mac)
    if options is not None:
        msg = msg / options
    return Ether(src=src_mac, dst=dst_mac) / msg


def pio(prefix: str, *, L: int = 1, A: int = 1, valid: int = 86400, preferred: int = 14400) -> Packet:
    """A Prefix Information option (RFC 4861 4.6.2) for `prefix` ("2001:db8:5::/64")."""
    net = ipaddress.IPv6Network(prefix)
    return ICMPv6NDOptPrefixInfo(prefix=str(net.network_address), prefixlen=net.prefixlen, L=L, A=A,
                                 validlifetime=valid, preferredlifetime=preferred)


def mtu_option(mtu: int) -> Packet:
    return ICMPv6NDOptMTU(mtu=mtu)


def rs(src_mac: str, src: str, *, sllao: bool = True) -> Packet:
    msg = Ether(src=src_mac, dst=ALL_ROUTERS_MAC) / IPv6(src=src, dst=ALL_ROUTERS, hlim=255) / ICMPv6ND_RS()
    return msg / ICMPv6NDOptSrcLLAddr(lladdr=src_mac) if sllao else msg


def redirect(src_mac: str, src: str, dst_mac: str, dst: str, *, target: str, destination: str,
             tllao: str | None = None, quote: Packet | None = None, hlim: int = 255, code: int = 0) -> Packet:
    """A Redirect from `src` telling `dst` that `destination` is better reached via `target`."""
    msg = IPv6(src=src, dst=dst, hlim=hlim) / ICMPv6ND_Redirect(tgt=target, dst=destination, code=code)
    if tllao is not None:
        msg = msg / ICMPv6NDOptDstLLAddr(lladdr=tllao)
    if quote is not None:
        msg = msg / ICMPv6NDOptRedirectedHdr(pkt=bytes(quote)[:1232])
    return Ether(src=src_mac, dst=dst_mac) / msg


def echo(src_mac: str, src: str, dst_mac: str, dst: str, ident: int, data: bytes = b"nd", hlim: int = 64) -> Packet:
    return (Ether(src=src_mac, dst=dst_mac) / IPv6(src=src, dst=dst, hlim=hlim)
            / ICMPv6EchoRequest(id=ident, seq=1, data=data))


def truncated(frame: Packet, icmp_len: int) -> Packet:
    """`frame` with its ICMPv6 message cut to `icmp_len` octets, its checksum made right for
    what is left and the IPv6 Payload Length to match: only the length is wrong."""
    ip = frame[IPv6]
    icmp = bytearray(bytes(ip.payload)[:icmp_len])
    icmp[2:4] = b"\0\0"
    head = IPv6(src=ip.src, dst=ip.dst, hlim=ip.hlim, nh=58)
    csum = in6_chksum(58, head / Raw(bytes(icmp)), bytes(icmp))
    icmp[2:4] = csum.to_bytes(2, "big")
    return Ether(src=frame[Ether].src, dst=frame[Ether].dst) / head / Raw(bytes(icmp))


def bad_checksum(frame: Packet) -> Packet:
    """`frame` with its ICMPv6 checksum off by one."""
    raw = bytearray(bytes(frame))
    offset = 14 + 40 + 2
    value = (int.from_bytes(raw[offset:offset + 2], "big") + 1) & 0xFFFF
    raw[offset:offset + 2] = value.to_bytes(2, "big")
    return Ether(bytes(raw))


# --- what the SUT sends --------------------------------------------------------------------

def ns_for(target: str, name: str | None = None) -> Matcher:
    return like(ICMPv6ND_NS(tgt=target), name=name or f"Neighbor Solicitation for {target}")


def na_for(target: str, name: str | None = None) -> Matcher:
    return like(ICMPv6ND_NA(tgt=target), name=name or f"Neighbor Advertisement for {target}")


def echo_reply(ident: int, to: str | None = None) -> Matcher:
    template = IPv6(dst=to) / ICMPv6EchoReply(id=ident) if to else ICMPv6EchoReply(id=ident)
    return like(template, name=f"echo reply id={ident:#x}" + (f" to {to}" if to else ""))


def any_ra() -> Matcher:
    return like(ICMPv6ND_RA(), name="a Router Advertisement")


def any_rs() -> Matcher:
    return like(ICMPv6ND_RS(), name="a Router Solicitation")


def option(packet: Packet, cls: type[Packet]) -> Packet | None:
    """The first ND option of class `cls` in `packet`, or None."""
    return packet.getlayer(cls)
