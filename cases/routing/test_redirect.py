"""ICMP Redirects: sent by a router (RFC 1812 5.2.7.2, RFC 792) and honoured or ignored by a host
(RFC 1122 3.2.2.2)."""

from scapy.layers.inet import ICMP, IP, UDP, IPerror
from scapy.layers.l2 import Ether

from cases.routing.frames import udp_frame, udp_like
from conformance.catalog import MUST, SHOULD, case
from conformance.match import Matcher, like
from conformance.verdict import Inconclusive

REMOTE_NET, REMOTE_DST = "198.19.0.0/16", "198.19.7.7"


def _route_back_out_near_side(mp) -> None:
    """The better next hop for 198.19.0.0/16 is the second router on the tester's own segment."""
    mp.control.add_route(REMOTE_NET, gateway=mp.second_router.ip)


def _redirect_to(dst: str) -> Matcher:
    return like(IP(dst=dst) / ICMP(type=5), name=f"an ICMP Redirect to {dst}")


@case("RT-REDIRECT-SENT-HOST-CODE", rfc=1812, section="5.2.7.2", level=MUST, layer=3, also=(792,))
def test_router_sends_host_redirect_for_better_first_hop(multipath):
    """A router that forwards a datagram back out the interface it came in on, to a next hop on
    the source's own subnet, tells the source with a Redirect for Host (code 1) naming that
    next hop; it never sends the network codes 0 or 2.

    Precondition: `198.19.0.0/16 via 198.18.1.3` (the second router on the tester's segment).
    """
    mp = multipath
    _route_back_out_near_side(mp)
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, mp.tester.ip, REMOTE_DST, sport=48001))
    redirect = mp.tester.expect(_redirect_to(mp.tester.ip))
    assert redirect[ICMP].code == 1, (
        f"RFC 1812 5.2.7.2: routers MUST NOT send the network Redirects (codes 0, 2), and with no TOS-dependent route "
        f"the Redirect is for Host (code 1); came code {redirect[ICMP].code}"
    )
    assert redirect[ICMP].gw == mp.second_router.ip, (
        f"the Redirect must name the better next hop {mp.second_router.ip}, not {redirect[ICMP].gw}"
    )
    assert IPerror in redirect and redirect[IPerror].dst == REMOTE_DST, "the Redirect must quote the datagram that caused it"


@case("RT-REDIRECT-STILL-FORWARDS", rfc=792, section="Redirect Message", level=MUST, layer=3, also=(1812,))
def test_router_forwards_the_redirected_datagram(multipath):
    """The router that sends a Redirect still forwards the datagram that caused it, to the
    better next hop.

    RFC 792 (Redirect Message, Description) predates RFC 2119: "The gateway forwards the
    original datagram's data to its internet destination" is read as MUST.

    Precondition: `198.19.0.0/16 via 198.18.1.3`, as in RT-REDIRECT-SENT-HOST-CODE.
    """
    mp = multipath
    _route_back_out_near_side(mp)
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, mp.tester.ip, REMOTE_DST, sport=48002))
    fwd = mp.tester.expect(udp_like(mp.tester.ip, REMOTE_DST, sport=48002, dst_mac=mp.second_router.mac))
    assert fwd[IP].ttl < 64, f"the datagram must be forwarded to the second router, its TTL reduced from 64; it has TTL {fwd[IP].ttl}"


@case("RT-REDIRECT-NOT-OFFSUBNET-SOURCE", rfc=1812, section="5.2.7.2", level=MUST, layer=3)
def test_no_redirect_when_source_is_not_on_next_hop_subnet(multipath):
    """A router does not send a Redirect when the datagram's source address is not on the same
    subnet as the next hop: such a source could not use that next hop directly.

    Precondition: `198.19.0.0/16 via 198.18.1.3` and `198.18.40.0/24 via 198.18.1.3`, so the
    datagram from 198.18.40.4 (not on 198.18.1.0/24) is forwarded back out the near interface.
    """
    mp = multipath
    _route_back_out_near_side(mp)
    mp.control.add_route("198.18.40.0/24", gateway=mp.second_router.ip)
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, "198.18.40.4", REMOTE_DST, sport=48003))
    mp.tester.expect(udp_like("198.18.40.4", REMOTE_DST, sport=48003, dst_mac=mp.second_router.mac))
    mp.tester.expect_none(like(IP() / ICMP(type=5)))


# --- hosts receiving redirects (lan: default route via 198.18.0.254) ---

OLD_GW_DST = "198.19.5.5"
NEW_GW, NEW_GW_MAC = "198.18.0.253", "02:00:00:00:fd:fd"


def _udp_out_via_gateway(lan, dport: int):
    """The SUT sends a UDP datagram to 198.19.5.5 and it leaves through the default gateway."""
    sock = lan.app.udp(connect=(OLD_GW_DST, dport))
    sock.send(b"before-redirect")
    first = lan.tester.expect(like(IP(dst=OLD_GW_DST) / UDP(dport=dport)))
    assert first[Ether].dst == lan.gateway.mac, "before any Redirect the datagram must go to the default gateway"
    return sock, first


def _redirect_frame(lan, from_ip: str, from_mac: str, new_gw: str, quoted):
    inner = bytes(quoted[IP])[: quoted[IP].ihl * 4 + 8]
    return (Ether(src=from_mac, dst=lan.sut.mac) / IP(src=from_ip, dst=lan.sut.ip)
            / ICMP(type=5, code=1, gw=new_gw) / inner)




def _resolve_new_gateway(lan) -> None:
    """Let the SUT learn the new gateway's MAC first: it sends to it directly, and once it has
    resolved it (the tester answers its request during the sync) it sends to it again. The
    second datagram is the one awaited: a SUT may drop the datagram that started resolution
    (RFC 1122 2.3.2.2 asks it to keep one; ARP-QUEUE-LATEST judges that)."""
    lan.tester.claims[NEW_GW] = NEW_GW_MAC
    sock = lan.app.udp(connect=(NEW_GW, 9))
    sock.send(b"resolve-new-gateway")
    lan.tester.sync()
    sock.send(b"hello-new-gateway")
    try:
        lan.tester.expect(like(Ether(dst=NEW_GW_MAC) / IP(dst=NEW_GW) / UDP(dport=9), where={"Raw.load": b"hello-new-gateway"}))
    except AssertionError:
        raise Inconclusive(f"precondition not met: the SUT sends a datagram to {NEW_GW} at {NEW_GW_MAC} once it has "
                           "resolved it, so it is not shown to know the new gateway as a neighbour") from None


@case("RT-REDIRECT-HONOURED", rfc=1122, section="3.2.2.2", level=MUST, layer=3, needs=("sockets",))
def test_host_follows_redirect_from_its_gateway(lan):
    """A host that receives a Redirect from its current first-hop gateway sends its next
    datagrams for that destination to the new gateway.

    The SUT already knows the new gateway 198.18.0.253 as a neighbour. The tester, as the
    gateway 198.18.0.254, redirects 198.19.5.5 to 198.18.0.253.
    """
    _resolve_new_gateway(lan)
    sock, first = _udp_out_via_gateway(lan, 7101)
    lan.tester.send(_redirect_frame(lan, lan.gateway.ip, lan.gateway.mac, NEW_GW, first))
    lan.tester.sync()
    sock.send(b"after-redirect")
    after = lan.tester.expect(like(IP(dst=OLD_GW_DST) / UDP(dport=7101)))
    assert after[Ether].dst == NEW_GW_MAC, (
        f"RFC 1122 3.2.2.2: a host MUST update its routing on a Redirect; after it the datagram must go to the new gateway {NEW_GW} ({NEW_GW_MAC}); "
        f"it went to {after[Ether].dst}"
    )
    learned = lan.control.route_get(OLD_GW_DST)["gateway"]
    assert learned == NEW_GW, f"the SUT's route to {OLD_GW_DST} must now name {NEW_GW} as gateway; route get says {learned}"


@case("RT-REDIRECT-HONOURED-UNRESOLVED", rfc=1122, section="3.2.2.2", level=MUST, layer=3, needs=("sockets",))
def test_host_follows_redirect_to_gateway_not_yet_resolved(lan):
    """A host follows a Redirect from its current gateway even when it has not yet talked to
    the new gateway: it resolves the new gateway and sends its next datagrams there.

    The tester, as 198.18.0.254, redirects 198.19.5.5 to 198.18.0.253 and answers the SUT's ARP
    request for 198.18.0.253.
    """
    lan.tester.claims[NEW_GW] = NEW_GW_MAC
    sock, first = _udp_out_via_gateway(lan, 7102)
    lan.tester.send(_redirect_frame(lan, lan.gateway.ip, lan.gateway.mac, NEW_GW, first))
    lan.tester.sync()  # an ARP request for the new gateway, if the SUT sends one, is answered
    sock.send(b"after-redirect")
    after = lan.tester.expect(like(IP(dst=OLD_GW_DST) / UDP(dport=7102)))
    assert after[Ether].dst == NEW_GW_MAC, (
        f"RFC 1122 3.2.2.2: a host MUST update its routing on a Redirect; after it the datagram must go to the new gateway {NEW_GW} ({NEW_GW_MAC}); "
        f"it went to {after[Ether].dst}"
    )


@case("RT-REDIRECT-NOT-FROM-GATEWAY", rfc=1122, section="3.2.2.2", level=SHOULD, layer=3, needs=("sockets",))
def test_host_ignores_redirect_not_from_current_gateway(lan):
    """A host discards a Redirect whose source is not its current first-hop gateway for the
    destination.

    The SUT knows 198.18.0.253 as a neighbour; the Redirect claims to come from 198.18.0.9.

    Control: the same Redirect from the real gateway 198.18.0.254, sent next, must be followed
    (the datagram after it goes to 198.18.0.253); a SUT that ignores every Redirect is not shown
    to tell one source from another, and the case is INCONCLUSIVE.
    """
    _resolve_new_gateway(lan)
    sock, first = _udp_out_via_gateway(lan, 7103)
    lan.tester.send(_redirect_frame(lan, "198.18.0.9", "02:00:00:00:00:09", NEW_GW, first))
    lan.tester.sync()
    sock.send(b"after-redirect")
    after = lan.tester.expect(like(IP(dst=OLD_GW_DST) / UDP(dport=7103)))
    assert after[Ether].dst == lan.gateway.mac, (
        f"RFC 1122 3.2.2.2: a Redirect not sent by the current gateway must be ignored, so the datagram "
        f"must still go to {lan.gateway.mac}; it went to {after[Ether].dst}"
    )
    lan.tester.send(_redirect_frame(lan, lan.gateway.ip, lan.gateway.mac, NEW_GW, after))
    lan.tester.sync()
    sock.send(b"after-redirect-from-gateway")
    control = lan.tester.expect(like(IP(dst=OLD_GW_DST) / UDP(dport=7103)))
    if control[Ether].dst != NEW_GW_MAC:
        raise Inconclusive(
            f"the SUT did not follow the same Redirect from its gateway {lan.gateway.ip} either (the datagram still went "
            f"to {control[Ether].dst}), so ignoring the one from 198.18.0.9 is not shown to be about its source"
        )


@case("RT-REDIRECT-OFFLINK-GATEWAY", rfc=1122, section="3.2.2.2", level=SHOULD, layer=3, needs=("sockets",))
def test_host_ignores_redirect_to_gateway_off_its_subnet(lan):
    """A host discards a Redirect whose new gateway is not on the subnet the Redirect arrived
    through.

    The gateway redirects 198.19.5.5 to 198.18.7.7, which is not on 198.18.0.0/24; the tester
    would even answer ARP for it, and sends the Redirect twice.
    """
    lan.tester.claims["198.18.7.7"] = "02:00:00:00:07:07"
    sock, first = _udp_out_via_gateway(lan, 7104)
    # Sent twice: a host that resolves a new gateway before using it has done so by the second.
    for _ in range(2):
        lan.tester.send(_redirect_frame(lan, lan.gateway.ip, lan.gateway.mac, "198.18.7.7", first))
        lan.tester.sync()
    sock.send(b"after-redirect")
    after = lan.tester.expect(like(IP(dst=OLD_GW_DST) / UDP(dport=7104)))
    assert after[Ether].dst == lan.gateway.mac, (
        f"RFC 1122 3.2.2.2: a Redirect to an off-subnet gateway must be ignored, so the datagram must still go "
        f"to {lan.gateway.mac}; it went to {after[Ether].dst}"
    )
