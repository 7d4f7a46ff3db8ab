"""RFC 894 framing: what the type field says decides which protocol gets the frame, and IP
datagrams go out with type 0x0800 (RFC 1122 2.3.3).

RFC 894 ("Frame Format": "The type field of the Ethernet frame must contain the value hexadecimal
0800") and RFC 826 ("Packet format": "Protocol type = ether_type$ADDRESS_RESOLUTION") predate
RFC 2119. Their lower-case "must" is taken as MUST. That a frame of any other type is not taken
for IP (or ARP) is derived from these statements rather than stated by them; the level follows
the statement it is derived from.
"""

from scapy.layers.l2 import ARP, Dot1Q, Ether

from cases.arp.frames import arp_fence, arp_request, reply_from
from cases.ethernet.frames import echo, retyped
from conformance.catalog import MUST, case


@case("ETH-RFC894-IP", title="IP in an RFC 894 frame is received and answered in kind", rfc=1122, section="2.3.3", level=MUST, layer=2, also=(894,))
def test_ip_in_rfc894_frame_is_received_and_answered_in_kind(lan):
    """An IP datagram in an RFC 894 frame (type 0x0800) is received, and the SUT's answer is sent
    in RFC 894 framing too: type 0x0800, from its own MAC, to the requester's."""
    frame, reply_matcher = echo(lan)
    reply = lan.tester.exchange(frame, expect=reply_matcher)
    eth = reply[Ether]
    assert eth.type == 0x0800, f"an IP datagram must be sent with type 0x0800, was {eth.type:#06x}"
    assert eth.src == lan.sut.mac, f"the frame must come from the SUT's MAC {lan.sut.mac}, came from {eth.src}"
    assert eth.dst == lan.tester.mac, f"the frame must go to the tester's MAC {lan.tester.mac}, went to {eth.dst}"


@case("ETH-UNKNOWN-TYPE-DROPPED", title="Frame with an unknown type is not taken for IP", rfc=894, section="Frame Format", level=MUST, layer=2)
def test_frame_with_unknown_type_is_not_taken_for_ip(lan):
    """A frame whose type is not one the SUT speaks (0x88B5, local experimental) is dropped, even
    when its payload is a valid IP datagram for the SUT."""
    frame, reply_matcher = echo(lan)
    lan.tester.send(retyped(frame, 0x88B5))
    lan.tester.expect_none(reply_matcher)


@case("ETH-ARP-TYPE-ONLY", title="ARP packet under the IP type is not answered", rfc=826, section="Packet format", level=MUST, layer=2, also=(894,))
def test_arp_packet_under_ip_type_is_not_answered(lan):
    """An ARP request carried with type 0x0800 is not handled as ARP: only type 0x0806 reaches ARP."""
    lan.tester.send(retyped(arp_request(lan.tester.mac, lan.tester.ip, lan.sut.ip), 0x0800))
    lan.tester.expect_none(reply_from(lan.sut.ip), fence=arp_fence(lan.sut.ip))


@case("ETH-IP-TYPE-ONLY", title="IP datagram under the ARP type is not answered", rfc=894, section="Frame Format", level=MUST, layer=2)
def test_ip_datagram_under_arp_type_is_not_answered(lan):
    """An IP datagram carried with type 0x0806 is not handled as IP: only type 0x0800 reaches IP."""
    frame, reply_matcher = echo(lan)
    lan.tester.send(retyped(frame, 0x0806))
    lan.tester.expect_none(reply_matcher)


@case("ETH-OTHER-UNICAST-DST-DROPPED", rfc=894, section="Address Mappings", level=MUST, layer=2)
def test_frame_for_another_station_is_not_received(lan):
    """A frame addressed to another station's unicast MAC is not taken in, even though the IP
    datagram inside is addressed to the SUT.

    No RFC states this: it is IEEE 802.3 address recognition (a station takes in the frames
    addressed to it), on which RFC 894's "Address Mappings" (an Internet address is mapped to the
    Ethernet address of the station that owns it) relies. MUST because the mapping means nothing
    without it.
    """
    frame, reply_matcher = echo(lan, dst_mac="02:00:00:00:99:99")
    lan.tester.send(frame)
    lan.tester.expect_none(reply_matcher)


@case("ETH-VLAN-TAGGED-DROPPED", title="VLAN-tagged frame on an untagged port is dropped", rfc=894, section="Frame Format", level=MUST, layer=2)
def test_vlan_tagged_frame_on_untagged_port_is_dropped(lan):
    """On an interface with no VLAN configured, a frame tagged for VLAN 5 (IEEE 802.1Q, type
    0x8100) is not taken for an IP datagram: its type is not 0x0800."""
    frame, reply_matcher = echo(lan)
    tagged = Ether(src=lan.tester.mac, dst=lan.sut.mac, type=0x8100) / Dot1Q(vlan=5, type=0x0800) / bytes(frame[Ether].payload)
    lan.tester.send(tagged)
    lan.tester.expect_none(reply_matcher)


@case("ETH-VLAN-TAGGED-ARP-DROPPED", title="VLAN-tagged ARP on an untagged port is not answered", rfc=826, section="Packet format", level=MUST, layer=2, also=(894,))
def test_vlan_tagged_arp_on_untagged_port_is_not_answered(lan):
    """On an interface with no VLAN configured, an ARP request tagged for VLAN 5 is not answered:
    its type is 0x8100, not ether_type$ADDRESS_RESOLUTION (0x0806)."""
    request = arp_request(lan.tester.mac, lan.tester.ip, lan.sut.ip)
    tagged = Ether(src=lan.tester.mac, dst=request[Ether].dst, type=0x8100) / Dot1Q(vlan=5, type=0x0806) / request[ARP]
    lan.tester.send(tagged)
    lan.tester.expect_none(reply_from(lan.sut.ip), fence=arp_fence(lan.sut.ip))


@case("ETH-OTHER-UNICAST-DST-ARP-DROPPED", title="ARP request for another station is not answered", rfc=826, section="Packet Reception", level=MUST, layer=2, also=(894,))
def test_arp_request_for_another_station_is_not_answered(lan):
    """An ARP request for the SUT's address in a frame addressed to another station's unicast MAC
    is not taken in, so not answered.

    Derived, like ETH-OTHER-UNICAST-DST-DROPPED: RFC 826 "Packet Reception" starts from "the
    receiving Ethernet module gives the packet to the Address Resolution module", and which frames
    the Ethernet module receives is IEEE 802.3 address recognition, not stated by an RFC.
    """
    lan.tester.send(arp_request(lan.tester.mac, lan.tester.ip, lan.sut.ip, dst="02:00:00:00:99:99"))
    lan.tester.expect_none(reply_from(lan.sut.ip), fence=arp_fence(lan.sut.ip))
