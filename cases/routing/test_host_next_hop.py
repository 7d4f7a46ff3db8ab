"""The host's local/remote decision and choice of next hop (RFC 1122 3.3.1.1, 3.3.1.2)."""

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether

from cases.routing.frames import arp_request_for
from conformance.catalog import MUST, case
from conformance.match import like

ONLINK_PEER, ONLINK_PEER_MAC = "198.18.0.3", "02:00:00:00:00:03"
OFFLINK_DST = "198.19.5.5"
NEW_NET_SUT_CIDR, NEW_NET_PEER, NEW_NET_PEER_MAC = "198.18.5.1/24", "198.18.5.9", "02:00:00:00:05:09"


def _udp_from_sut(lan, dst: str, dport: int) -> None:
    sock = lan.app.udp(connect=(dst, dport))
    sock.send(b"next-hop-probe")


@case("RT-HOST-ONLINK-DIRECT", rfc=1122, section="3.3.1.1", level=MUST, layer=3, needs=("sockets",))
def test_destination_on_own_subnet_is_reached_directly(lan):
    """A datagram to a destination on the SUT's own subnet is sent directly to it: the SUT
    resolves the destination's own address, not the gateway's.

    The SUT (198.18.0.1/24) sends a UDP datagram to 198.18.0.3; the tester answers ARP for it
    with its own MAC for that address.
    """
    lan.tester.claims[ONLINK_PEER] = ONLINK_PEER_MAC
    _udp_from_sut(lan, ONLINK_PEER, 7001)
    request = lan.tester.expect(like(ARP(op="who-has")))
    assert request[ARP].pdst == ONLINK_PEER, (
        f"RFC 1122 3.3.1.1: an on-subnet destination is reached directly, so the SUT must resolve "
        f"{ONLINK_PEER} itself; it asked for {request[ARP].pdst} instead"
    )
    # Sent again once resolved: a SUT may drop the datagram that started resolution (RFC 1122
    # 2.3.2.2 asks it to keep one; ARP-QUEUE-LATEST judges that); whichever comes first is judged.
    lan.tester.sync()
    _udp_from_sut(lan, ONLINK_PEER, 7001)
    frame = lan.tester.expect(like(IP(dst=ONLINK_PEER) / UDP(dport=7001)))
    assert frame[Ether].dst == ONLINK_PEER_MAC, (
        f"the datagram must go to the destination's own MAC {ONLINK_PEER_MAC}, not {frame[Ether].dst}"
    )


@case("RT-HOST-OFFLINK-GATEWAY", rfc=1122, section="3.3.1.1", level=MUST, layer=3, needs=("sockets",), also=(791,))
def test_destination_off_subnet_goes_to_default_gateway(lan):
    """A datagram to a destination outside the SUT's subnet is sent to the default gateway's
    MAC with its IP destination unchanged; the SUT never resolves the remote address itself.

    The SUT's default route is via 198.18.0.254, which the tester answers ARP for.
    """
    _udp_from_sut(lan, OFFLINK_DST, 7002)
    frame = lan.tester.expect(like(IP(dst=OFFLINK_DST) / UDP(dport=7002)))
    assert frame[Ether].dst == lan.gateway.mac, (
        f"RFC 1122 3.3.1.1 (c): an off-subnet destination is reached through a gateway, so the frame "
        f"must go to the gateway's MAC {lan.gateway.mac}; it went to {frame[Ether].dst}"
    )
    requests = [f.packet[ARP].pdst for f in lan.tester.arrived() if ARP in f.packet and f.packet[ARP].op == 1]
    assert OFFLINK_DST not in requests, f"the SUT must not ARP for the off-subnet address {OFFLINK_DST}; it asked for {requests}"
    assert lan.gateway.ip in requests, f"the SUT must resolve the gateway {lan.gateway.ip}; it asked for {requests}"
    table = lan.control.neighbours(lan.sut.ifname)
    assert OFFLINK_DST not in table, f"the SUT's ARP table must hold no entry for the remote {OFFLINK_DST}: {sorted(table)}"


def _echo_from(lan, src: str, dst: str, ident: int) -> None:
    lan.tester.send(Ether(src=lan.tester.mac, dst=lan.sut.mac)
                    / IP(src=src, dst=dst) / ICMP(type="echo-request", id=ident, seq=1))


@case("RT-HOST-CONNECTED-ADDED", rfc=1122, section="3.3.1.1", level=MUST, layer=3, needs=("addresses",))
def test_subnet_of_added_address_is_reached_directly(lan):
    """Once the SUT has an address on a new subnet, destinations on that subnet are reached
    directly: the SUT resolves them itself instead of sending to its gateway.

    Precondition: 198.18.5.1/24 is added on the SUT's interface. The tester, as 198.18.5.9,
    sends an echo request; the reply must be delivered directly to 198.18.5.9.
    """
    lan.control.add_address(NEW_NET_SUT_CIDR, lan.sut.ifname)
    lan.tester.claims[NEW_NET_PEER] = NEW_NET_PEER_MAC
    _echo_from(lan, NEW_NET_PEER, NEW_NET_SUT_CIDR.split("/")[0], 0x5101)
    lan.tester.expect(arp_request_for(NEW_NET_PEER))
    reply = lan.tester.expect(like(IP(dst=NEW_NET_PEER) / ICMP(type="echo-reply", id=0x5101)))
    assert reply[Ether].dst == NEW_NET_PEER_MAC, (
        f"RFC 1122 3.3.1.1: {NEW_NET_PEER} is on the subnet of the SUT's new address, so the reply must go "
        f"to its own MAC {NEW_NET_PEER_MAC}; it went to {reply[Ether].dst}"
    )


@case("RT-HOST-CONNECTED-REMOVED", rfc=1122, section="3.3.1.1", level=MUST, layer=3, needs=("addresses",))
def test_subnet_of_removed_address_is_reached_through_gateway(lan):
    """Once the SUT's address on a subnet is removed, destinations on that subnet are remote
    again and are sent to the default gateway.

    Precondition: 198.18.5.1/24 is added, then removed. The tester, as 198.18.5.9, sends an echo
    request to 198.18.0.1; the reply must go to the gateway's MAC.
    """
    lan.control.add_address(NEW_NET_SUT_CIDR, lan.sut.ifname)
    lan.control.del_address(NEW_NET_SUT_CIDR, lan.sut.ifname)
    lan.tester.claims[NEW_NET_PEER] = NEW_NET_PEER_MAC
    _echo_from(lan, NEW_NET_PEER, lan.sut.ip, 0x5102)
    reply = lan.tester.expect(like(IP(dst=NEW_NET_PEER) / ICMP(type="echo-reply", id=0x5102)))
    assert reply[Ether].dst == lan.gateway.mac, (
        f"RFC 1122 3.3.1.1 (c): with the address removed, {NEW_NET_PEER} is remote and the reply must go to "
        f"the gateway's MAC {lan.gateway.mac}; it went to {reply[Ether].dst}"
    )
