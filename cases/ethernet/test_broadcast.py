"""Link-layer broadcast and multicast destinations: what a host takes in, what it must not
answer with errors, and what a router must not forward (RFC 1122 3.2.2, 3.3.6; RFC 1812 4.3.2.7,
5.3.4; RFC 1112 6.4, 7.2).

RFC 1112 and RFC 894 predate RFC 2119: their lower-case "must" is taken as MUST and "should" as
SHOULD; the cases citing them say so.
"""

import socket

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether

from cases.ethernet.frames import ALL_HOSTS_MAC, BROADCAST, echo
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like

CLOSED_PORT = 33434


@case("ETH-BROADCAST-DST-RECEIVED", rfc=1122, section="3.3.6", level=MUST, layer=2, needs=("sysctl",))
def test_broadcast_frame_to_subnet_broadcast_is_received(lan):
    """A datagram to the subnet's broadcast address in a link-layer broadcast frame is received.

    RFC 1122 3.3.6: "A host MUST recognize any of these forms [of broadcast address] in the
    destination address of an incoming datagram" (the forms are defined in 3.2.1.3).

    Precondition: the SUT answers broadcast echo requests (RFC 1122 3.2.2.6 lets it ignore them;
    Linux: net.ipv4.icmp_echo_ignore_broadcasts=0), so that the answer shows the datagram arrived.
    """
    lan.control.set_sysctl("net.ipv4.icmp_echo_ignore_broadcasts", 0)
    frame, reply_matcher = echo(lan, dst_mac=BROADCAST, dst_ip="198.18.0.255")
    lan.tester.exchange(frame, expect=reply_matcher)


@case("ETH-MULTICAST-DST-RECEIVED", rfc=1112, section="7.2", level=MUST, layer=2, needs=("sysctl",))
def test_all_hosts_multicast_frame_is_received(lan):
    """A datagram to the all-hosts group 224.0.0.1 in a frame to its mapped multicast MAC
    01:00:5e:00:00:01 is received: every multicast-capable host belongs to that group.

    RFC 1112 7.2: every level 2 host must join the all-hosts group 224.0.0.1 on each interface and
    remain a member while active; 6.4 gives the group-to-MAC mapping the frame uses. RFC 1112
    predates RFC 2119; its "must" is taken as MUST. (RFC 1122 3.3.7 asks the same, as a SHOULD,
    of hosts without IGMP.)

    Precondition: the SUT answers echo requests sent to groups (Linux:
    net.ipv4.icmp_echo_ignore_broadcasts=0).
    """
    lan.control.set_sysctl("net.ipv4.icmp_echo_ignore_broadcasts", 0)
    frame, reply_matcher = echo(lan, dst_mac=ALL_HOSTS_MAC, dst_ip="224.0.0.1")
    lan.tester.exchange(frame, expect=reply_matcher)


@case("ETH-BROADCAST-UNICAST-IP-DISCARDED", rfc=1122, section="3.3.6", level=SHOULD, layer=2)
def test_unicast_datagram_in_broadcast_frame_is_discarded(lan):
    """A datagram to the SUT's unicast address that arrives in a link-layer broadcast frame is
    silently discarded."""
    frame, reply_matcher = echo(lan, dst_mac=BROADCAST)
    lan.tester.send(frame)
    lan.tester.expect_none(reply_matcher)


@case("ETH-BROADCAST-NO-ICMP-ERROR", title="No ICMP error for a datagram in a broadcast frame", rfc=1122, section="3.2.2", level=MUST, layer=3)
def test_no_icmp_error_for_datagram_in_broadcast_frame(lan):
    """No ICMP error is sent about a datagram that arrived as a link-layer broadcast (here: a UDP
    datagram for a closed port of the SUT, which would otherwise earn Port Unreachable)."""
    t = lan.tester
    t.send(Ether(src=t.mac, dst=BROADCAST) / IP(src=t.ip, dst=lan.sut.ip) / UDP(sport=40000, dport=CLOSED_PORT) / b"x")
    t.expect_none(like(IP(src=lan.sut.ip) / ICMP(type=3)))


@case("ETH-MULTICAST-NO-ICMP-ERROR", title="Router sends no ICMP error for a datagram in a multicast frame", rfc=1812, section="4.3.2.7", level=MUST, layer=3)
def test_router_sends_no_icmp_error_for_datagram_in_multicast_frame(routed):
    """A router sends no ICMP error about a datagram that arrived as a link-layer multicast (here: a
    UDP datagram for a closed port of the router)."""
    t = routed.tester
    t.send(Ether(src=t.mac, dst=ALL_HOSTS_MAC) / IP(src=t.ip, dst=routed.router_near.ip) / UDP(sport=40000, dport=CLOSED_PORT) / b"x")
    t.expect_none(like(IP(src=routed.router_near.ip) / ICMP(type=3)))


@case("ETH-RTR-NO-FORWARD-L2-BROADCAST", rfc=1812, section="5.3.4", level=MUST, layer=3)
def test_router_does_not_forward_unicast_datagram_from_broadcast_frame(routed):
    """A router does not forward a datagram it received as a link-layer broadcast unless it is
    addressed to an IP multicast group (here: one to the far host)."""
    t = routed.tester
    t.send(Ether(src=t.mac, dst=BROADCAST) / IP(src=t.ip, dst=routed.far.ip) / UDP(sport=40000, dport=9) / b"x")
    routed.far.expect_none(like(IP(src=t.ip, dst=routed.far.ip) / UDP(dport=9)))


@case("ETH-RTR-NO-FORWARD-L2-MULTICAST", rfc=1812, section="5.3.4", level=MUST, layer=3)
def test_router_does_not_forward_unicast_datagram_from_multicast_frame(routed):
    """A router does not forward a datagram it received as a link-layer multicast unless it is
    addressed to an IP multicast group (here: one to the far host)."""
    t = routed.tester
    t.send(Ether(src=t.mac, dst=ALL_HOSTS_MAC) / IP(src=t.ip, dst=routed.far.ip) / UDP(sport=40000, dport=9) / b"x")
    routed.far.expect_none(like(IP(src=t.ip, dst=routed.far.ip) / UDP(dport=9)))



@case("ETH-SEND-BROADCAST-MAPPING", title="Datagram to the subnet broadcast goes to the broadcast MAC", rfc=894, section="Address Mappings", level=SHOULD, layer=2, needs=("sockets",))
def test_datagram_to_subnet_broadcast_goes_to_broadcast_mac(lan):
    """A datagram the SUT sends to its subnet's broadcast address goes to the Ethernet broadcast
    address ff:ff:ff:ff:ff:ff, without an ARP request for the broadcast address.

    RFC 894 "Address Mappings": the broadcast Internet address "should be mapped to the broadcast
    Ethernet address". RFC 894 predates RFC 2119; its "should" is taken as SHOULD.
    """
    lan.tester.answer_arp = False
    sock = lan.app.udp()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.sendto(b"to everyone", ("198.18.0.255", 9))
    frame = lan.tester.expect(like(IP(dst="198.18.0.255") / UDP(dport=9)))
    assert frame[Ether].dst == BROADCAST, f"the datagram should be sent to {BROADCAST}, went to {frame[Ether].dst}"
    asked = [f for f in lan.tester.arrived() if like(ARP(op="who-has", pdst="198.18.0.255"))(f.packet)]
    assert not asked, f"the broadcast address should be mapped to {BROADCAST}, not resolved with ARP; the SUT sent {len(asked)} ARP request(s) for it"
