"""ARP on a router (the `routed` topology): RFC 1812 3.3.2's limits on what a router believes,
giving up on an unresolvable neighbour, proxy ARP (RFC 1027), and requests that name the
address of the router's other interface.

RFC 1027 is an informational description of proxy ARP with no requirement keywords: answering
for hosts behind the router is an optional, configured technique (MAY); its "Basic method" has
the gateway answer only for a host "on a different physical network from the requesting host",
and not answering for the requester's own network is derived from that (SHOULD).
"""

from scapy.layers.inet import ICMP, IP, UDP, IPerror
from scapy.layers.l2 import ARP, Ether

from cases.arp.frames import BROADCAST, arp_fence, arp_request, reply_from, request_for
from conformance.catalog import MAY, MUST, SHOULD, case
from conformance.match import like, not_equal

FAR_UNUSED = "198.18.2.77"  # on the far subnet; nobody answers for it
NEAR_OTHER = "198.18.1.50"  # on the tester's subnet, not the tester's


def near_fence(routed):
    return arp_fence(routed.router_near.ip, src_ip="198.18.1.250")


def echo_to_router(routed, ident: int = 0x5253):
    t = routed.tester
    return Ether(src=t.mac, dst=routed.router_near.mac) / IP(src=t.ip, dst=routed.router_near.ip) / ICMP(id=ident, seq=1)


def group_mac_not_believed(routed, group_mac: str) -> None:
    t = routed.tester
    t.answer_arp = False
    t.send(echo_to_router(routed))
    t.expect(request_for(t.ip))
    t.send(Ether(src=t.mac, dst=routed.router_near.mac)
           / ARP(op="is-at", hwsrc=group_mac, psrc=t.ip, hwdst=routed.router_near.mac, pdst=routed.router_near.ip))
    t.expect_none(like(Ether(dst=group_mac, type=0x0800), name=f"an IP datagram sent to {group_mac}"), fence=near_fence(routed))
    entry = routed.control.neighbours(routed.router_near.ifname).get(t.ip)
    assert entry is None or entry.mac != group_mac, (
        f"the router must not believe that {t.ip} is at the group address {group_mac}; its table says {entry}"
    )


@case("ARP-RTR-REJECT-BROADCAST-MAC", title="Router rejects a reply claiming the broadcast MAC", rfc=1812, section="3.3.2", level=MUST, layer=2, needs=("neighbours",))
def test_router_rejects_reply_claiming_broadcast_mac(routed):
    """A router does not believe a reply that claims a host's hardware address is the broadcast address."""
    group_mac_not_believed(routed, BROADCAST)


@case("ARP-RTR-REJECT-MULTICAST-MAC", title="Router rejects a reply claiming a multicast MAC", rfc=1812, section="3.3.2", level=MUST, layer=2, needs=("neighbours",))
def test_router_rejects_reply_claiming_multicast_mac(routed):
    """A router does not believe a reply that claims a host's hardware address is a multicast address."""
    group_mac_not_believed(routed, "01:00:5e:00:00:01")


@case("ARP-RTR-GIVE-UP-HOST-UNREACHABLE", rfc=1812, section="4.3.3.1", level=MUST, layer=3, needs=("sysctl",),
      waits="two unanswered ARP requests, 100 ms apart after sysctl")
def test_router_reports_unresolvable_neighbour(routed):
    """When the last-hop router cannot resolve the destination host it gives up and sends the
    source an ICMP Destination Unreachable, code 1 (Host Unreachable).

    Precondition: the router's far interface retries twice, 100 ms apart. Tolerance: the ICMP
    error is awaited 3 s.
    """
    routed.control.set_sysctl(f"net.ipv4.neigh.{routed.router_far.ifname}.mcast_solicit", 2)
    routed.control.set_sysctl(f"net.ipv4.neigh.{routed.router_far.ifname}.retrans_time_ms", 100)
    routed.far.answer_arp = False
    t = routed.tester
    t.send(Ether(src=t.mac, dst=routed.router_near.mac) / IP(src=t.ip, dst=FAR_UNUSED) / UDP(sport=40001, dport=9) / b"lost")
    routed.far.expect(request_for(FAR_UNUSED))
    error = t.expect(like(IP(src=routed.router_near.ip, dst=t.ip) / ICMP(type=3) / IPerror(dst=FAR_UNUSED)), timeout=3.0)
    assert error[ICMP].code == 1, f"the error must be Host Unreachable (code 1), was code {error[ICMP].code}"


def enable_proxy_arp(routed):
    ifname = routed.router_near.ifname
    routed.control.set_sysctl(f"net.ipv4.conf.{ifname}.proxy_arp", 1)
    # A proxy normally waits a random time (up to 0.8 s on Linux) so the real owner's reply wins.
    routed.control.set_sysctl(f"net.ipv4.neigh.{ifname}.proxy_delay", 0)


@case("ARP-PROXY-CONFIGURED", title="Proxy ARP answers for a host behind the router", rfc=1027, section="2.1", level=MAY, layer=2, needs=("sysctl",))
def test_proxy_arp_answers_for_host_behind_router(routed):
    """A router configured for proxy ARP answers a request for a host on its other subnet with its
    own hardware address on the requester's side.

    Precondition: proxy ARP on, answering without a deliberate delay (Linux: proxy_arp=1 and
    neigh proxy_delay=0 on the near interface). Tolerance: the reply is awaited 2 s.
    """
    enable_proxy_arp(routed)
    t = routed.tester
    reply = t.exchange(arp_request(t.mac, t.ip, routed.far.ip), expect=reply_from(routed.far.ip), timeout=2.0)
    assert reply[ARP].hwsrc == routed.router_near.mac, (
        f"the proxy reply must give the router's near-side MAC {routed.router_near.mac}, gave {reply[ARP].hwsrc}"
    )


@case("ARP-PROXY-NOT-SAME-SUBNET", title="Proxy ARP is silent for the requester's own subnet", rfc=1027, section="2.1", level=SHOULD, layer=2, needs=("sysctl",))
def test_proxy_arp_silent_for_requesters_own_subnet(routed):
    """A proxy ARP router does not answer for an address on the requester's own network: that
    host answers for itself.

    Precondition as for ARP-PROXY-CONFIGURED: with no deliberate delay before proxy replies, the
    fence that ends the negative check comes after any reply the request caused.
    """
    enable_proxy_arp(routed)
    t = routed.tester
    t.send(arp_request(t.mac, t.ip, NEAR_OTHER))
    t.expect_none(reply_from(NEAR_OTHER), fence=near_fence(routed))


@case("ARP-OTHER-INTERFACE-ADDRESS", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_request_for_other_interface_address(routed):
    """A request arriving on one interface for the address of the router's other interface is,
    if answered at all, answered on the arriving interface with that interface's hardware address.

    Whether it is answered depends on the host model (RFC 1122 3.3.4.2 allows both); a reply
    naming the other interface's MAC, or sent out of the other interface, is wrong either way.
    """
    t = routed.tester
    t.send(arp_request(t.mac, t.ip, routed.router_far.ip))
    t.expect_none(like(ARP(op="is-at"), where={"ARP.hwsrc": not_equal(routed.router_near.mac)}),
                  fence=near_fence(routed))
    routed.far.expect_none(like(ARP(op="is-at", psrc=routed.router_far.ip)), fence=arp_fence(routed.router_far.ip, src_ip="198.18.2.250"))
