"""An ARP request whose sender address is outside the SUT's subnet (RFC 826 "Packet
Reception").

RFC 826's reception algorithm asks only whether the SUT is the target protocol address; it
has no notion of subnets and no test on the sender's protocol address. RFC 1122 2.3.2 and
RFC 1812 3.3.2 add none. Refusing such requests (Linux's arp_ignore=2, arp_filter) is a local
policy no RFC asks for, so the case expects the answer.
"""

from scapy.layers.l2 import ARP, Ether

from cases.arp.frames import arp_request
from conformance.catalog import MUST, case
from conformance.match import like

OFF_SUBNET_SENDER = "198.19.44.4"  # outside the SUT's 198.18.0.0/24


@case("ARP-REPLY-OFF-SUBNET-SENDER", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_request_from_off_subnet_sender_is_answered(lan):
    """A request for the SUT's address is answered even when its sender protocol address is not on the SUT's subnet.

    RFC 826: "?Am I the target protocol address? Yes: ... swap hardware and protocol fields
    ... send the packet to the (new) target hardware address". The tester asks for
    198.18.0.1 as 198.19.44.4; the reply must go to the tester's MAC, addressed to 198.19.44.4.
    """
    reply = lan.tester.exchange(
        arp_request(lan.tester.mac, OFF_SUBNET_SENDER, lan.sut.ip),
        expect=like(ARP(op="is-at", psrc=lan.sut.ip), name=f"the SUT's ARP reply for {lan.sut.ip}"),
    )
    assert reply[Ether].dst == lan.tester.mac and reply[ARP].hwdst == lan.tester.mac, (
        f"the reply must go to the requester's hardware address {lan.tester.mac}; it went to {reply[Ether].dst} "
        f"(target hardware address {reply[ARP].hwdst})"
    )
    assert reply[ARP].pdst == OFF_SUBNET_SENDER, (
        f"the reply's target protocol address must be the requester's {OFF_SUBNET_SENDER}, was {reply[ARP].pdst}"
    )
