"""Default source address selection (RFC 6724 4, 5) on a multihomed SUT: which of its addresses
the SUT picks as the source for a new communication to a destination. The oracle is the local
address of a UDP socket the SUT's application connects without binding, and the datagram it
then sends (seen on the wire where the destination is on the tester's side).

RFC 6724 5: the rules are applied in order ("the remaining rules MUST be applied (in order)"),
so rules 1 to 3 and 5 are MUST; Rule 8 "MAY be superseded if the implementation has other means
of choosing among source addresses", so it is MAY. Each case gives the SUT a pair of addresses
where a later rule would pick the other one, so the rule under test decides (Rule 1 excepted:
an address always shares the longest prefix with itself).
"""

import socket

from scapy.layers.inet6 import UDP, IPv6

from cases.nd.frames import same_ip
from conformance.catalog import MAY, MUST, case
from conformance.match import like

NEEDS = ("sockets", "routes", "addresses")
SECOND = "2001:db8:3::1"  # a second global address of the SUT, in another /64 on the same link
OFF_LINK_NEAR_SECOND = "2001:db8:3:1::9"  # off-link; shares 63 bits with SECOND, 46 with 2001:db8:1::1


def link_socket(app, ifname: str, dst: str):
    """A UDP socket tied to interface `ifname` (SO_BINDTODEVICE: the socket API's way to give a
    link-local destination its zone) and connected to `dst`."""
    return app.udp_at("::", 0, connect=(dst, 9), options={(socket.SOL_SOCKET, socket.SO_BINDTODEVICE): ifname.encode() + b"\0"})


def source_for(host, dst: str, *, wire: bool = True) -> str:
    """The source the SUT's stack picks for a new UDP flow to `dst`; when `wire`, the datagram
    sent on the flow must come from it too."""
    sock = link_socket(host.app, host.sut.ifname, dst) if dst.startswith("fe80:") else host.app.udp_at("::", 0, connect=(dst, 9))
    chosen = str(sock.getsockname()[0]).split("%")[0]
    if wire:
        sock.send(b"which source?")
        datagram = host.tester.expect(like(IPv6() / UDP(dport=9)), timeout=2.0)
        assert same_ip(datagram[IPv6].src, chosen), (
            f"the datagram's source {datagram[IPv6].src} must be the socket's local address {chosen}")
    return chosen


def with_default_router(host) -> None:
    host.control.add_route("::/0", gateway=host.router.ll, dev=host.sut.ifname)


@case("ADDRSEL-RULE1-SAME-ADDRESS", rfc=6724, section="5", level=MUST, layer=3, needs=NEEDS)
def test_destination_address_itself_is_preferred(nd_host):
    """Rule 1: when the destination is one of the SUT's own addresses, that address is the source,
    among several global addresses on the interface."""
    nd_host.add_address(SECOND + "/64", dad=False)
    mine = "2001:db8:3:8000::1"
    nd_host.add_address(mine + "/64", dad=False)
    chosen = source_for(nd_host, mine, wire=False)
    assert same_ip(chosen, mine), f"RFC 6724 5 Rule 1: prefer the destination address itself, {mine}; the SUT chose {chosen}"


@case("ADDRSEL-RULE2-SCOPE-LINK-LOCAL", rfc=6724, section="5", level=MUST, layer=3, needs=NEEDS)
def test_link_local_destination_gets_link_local_source(nd_host):
    """Rule 2: for a link-local destination the link-local address (the appropriate scope) is
    the source, not a global one."""
    chosen = source_for(nd_host, "fe80::2")
    assert same_ip(chosen, nd_host.sut.ll), f"RFC 6724 5 Rule 2: prefer the link-local {nd_host.sut.ll}; the SUT chose {chosen}"


@case("ADDRSEL-RULE2-SCOPE-GLOBAL", rfc=6724, section="5", level=MUST, layer=3, needs=NEEDS)
def test_global_destination_gets_global_source(nd_host):
    """Rule 2: for a global destination a global address is the source, not the link-local one."""
    with_default_router(nd_host)
    chosen = source_for(nd_host, "2001:db8:99::1")
    assert same_ip(chosen, nd_host.sut.ip6), f"RFC 6724 5 Rule 2: prefer the global {nd_host.sut.ip6}; the SUT chose {chosen}"


@case("ADDRSEL-RULE3-AVOID-DEPRECATED", rfc=6724, section="5", level=MUST, layer=3, needs=NEEDS)
def test_deprecated_address_is_avoided(nd_host):
    """Rule 3: a preferred address wins over a deprecated one (which Rule 8 would pick)."""
    with_default_router(nd_host)
    nd_host.add_address(SECOND + "/64", dad=False, preferred=0, valid=3600)
    chosen = source_for(nd_host, OFF_LINK_NEAR_SECOND)
    assert same_ip(chosen, nd_host.sut.ip6), (
        f"RFC 6724 5 Rule 3: avoid the deprecated {SECOND}; the SUT chose {chosen} rather than {nd_host.sut.ip6}")


@case("ADDRSEL-RULE8-LONGEST-MATCH", rfc=6724, section="5", level=MAY, layer=3, needs=NEEDS)
def test_longest_matching_prefix_wins(nd_host):
    """Rule 8: among otherwise equal addresses, the one sharing the longest prefix with the
    destination (up to its own prefix length) is the source."""
    with_default_router(nd_host)
    nd_host.add_address(SECOND + "/64", dad=False)
    chosen = source_for(nd_host, OFF_LINK_NEAR_SECOND)
    assert same_ip(chosen, SECOND), f"RFC 6724 5 Rule 8: prefer {SECOND}, the longer match; the SUT chose {chosen}"


@case("ADDRSEL-RULE5-OUTGOING-INTERFACE", rfc=6724, section="5", level=MUST, layer=3, needs=(*NEEDS, "second_segment"))
def test_address_of_outgoing_interface_is_preferred(nd_router):
    """Rule 5: an address of the interface the packet leaves by wins over one of another interface
    (which Rule 8 would pick)."""
    rt = nd_router
    dst = "2001:db8:1:1::9"  # closer to the near address; routed out of the far interface
    rt.control.add_route("2001:db8:1:1::/64", gateway="fe80::3", dev=rt.far_end.ifname)
    sock = rt.app.udp_at("::", 0, connect=(dst, 9))
    chosen = str(sock.getsockname()[0])
    sock.send(b"which source?")
    datagram = rt.far.expect(like(IPv6(dst=dst) / UDP(dport=9)), timeout=2.0)
    assert same_ip(chosen, rt.far_end.ip6) and same_ip(datagram[IPv6].src, rt.far_end.ip6), (
        f"RFC 6724 5 Rule 5: prefer {rt.far_end.ip6}, on the outgoing interface; the SUT chose {chosen} "
        f"(the datagram came from {datagram[IPv6].src})")


@case("ADDRSEL-LINK-LOCAL-SAME-LINK", rfc=6724, section="4", level=MUST, layer=3, needs=(*NEEDS, "second_segment"))
def test_link_local_destination_source_from_same_link(nd_router):
    """For a link-local destination the candidates are the addresses of the outgoing link only:
    the source is that interface's link-local address, never another interface's."""
    rt = nd_router
    sock = link_socket(rt.app, rt.near.ifname, "fe80::2")
    chosen = str(sock.getsockname()[0]).split("%")[0]
    assert same_ip(chosen, rt.near.ll), (
        f"RFC 6724 4: candidates MUST only include addresses of the same link; the SUT chose {chosen}, not {rt.near.ll}")
