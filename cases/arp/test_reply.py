"""ARP replies (RFC 826 "Packet Reception").

RFC 826 predates RFC 2119 and has no requirement keywords; its reception algorithm is the
protocol, so the cases that follow it take its steps as MUST.
"""

from scapy.layers.l2 import ARP, Ether

from cases.arp.frames import BROADCAST, STRANGER_IP, arp_request, reply_from
from conformance.catalog import MUST, case
from conformance.match import like


@case("ARP-REPLY-UNICAST", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_request_for_own_address_gets_unicast_reply(lan):
    """A request for the SUT's address is answered, to the requester alone, with every field right."""
    reply = lan.tester.exchange(
        arp_request(lan.tester.mac, lan.tester.ip, lan.sut.ip),
        expect=like(ARP(op="is-at", psrc=lan.sut.ip)),
    )
    assert reply[Ether].dst == lan.tester.mac, (
        f"the reply must be sent to the requester's hardware address {lan.tester.mac}, went to {reply[Ether].dst}"
    )
    assert reply[Ether].src == lan.sut.mac, f"the reply must come from the SUT's interface MAC {lan.sut.mac}, came from {reply[Ether].src}"
    assert reply[Ether].type == 0x0806, f"the reply must be typed ARP (0x0806), came {reply[Ether].type:#06x}"
    arp = reply[ARP]
    assert (arp.hwtype, arp.ptype, arp.hwlen, arp.plen) == (1, 0x0800, 6, 4), (
        f"hardware/protocol type and lengths must be 1/0x0800/6/4, were {arp.hwtype}/{arp.ptype:#06x}/{arp.hwlen}/{arp.plen}"
    )
    assert arp.hwsrc == lan.sut.mac, f"the sender hardware address must be the SUT's MAC {lan.sut.mac}, was {arp.hwsrc}"
    assert (arp.hwdst, arp.pdst) == (lan.tester.mac, lan.tester.ip), (
        f"the target fields must be the requester's ({lan.tester.mac}, {lan.tester.ip}), were ({arp.hwdst}, {arp.pdst})"
    )


@case("ARP-NO-REPLY-FOREIGN", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_request_for_other_address_gets_no_reply(lan):
    """A request for an address the SUT does not own is not answered."""
    lan.tester.send(arp_request(lan.tester.mac, lan.tester.ip, STRANGER_IP))
    lan.tester.expect_none(like(ARP(op="is-at")))


@case("ARP-REPLY-TO-UNICAST-REQUEST", rfc=826, section="Packet Reception", level=MUST, layer=2, also=(1122,))
def test_request_sent_unicast_is_answered(lan):
    """A request sent point-to-point to the SUT's MAC is answered like a broadcast one.

    RFC 826's reception algorithm answers every request whose target protocol address is the
    receiver's and never looks at the link-layer destination. RFC 1122 2.3.2.1 states no keyword
    for this; its "Unicast Poll" (an IMPLEMENTATION suggestion) depends on hosts answering
    point-to-point requests.
    """
    reply = lan.tester.exchange(
        arp_request(lan.tester.mac, lan.tester.ip, lan.sut.ip, dst=lan.sut.mac, target_mac=lan.sut.mac),
        expect=reply_from(lan.sut.ip),
    )
    assert reply[ARP].hwsrc == lan.sut.mac, f"the reply must carry the SUT's MAC {lan.sut.mac}, came {reply[ARP].hwsrc}"
    assert reply[Ether].dst == lan.tester.mac, f"the reply must go to the requester, went to {reply[Ether].dst}"


@case("ARP-NO-REPLY-BROADCAST-TARGET", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_request_for_subnet_broadcast_gets_no_reply(lan):
    """A request for the subnet's broadcast address is not answered: it is no address of the SUT's."""
    lan.tester.send(arp_request(lan.tester.mac, lan.tester.ip, "198.18.0.255"))
    lan.tester.expect_none(like(ARP(op="is-at")))


@case("ARP-REPLY-DESTINATION", title="Reply is addressed to the ARP sender fields", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_reply_is_addressed_to_the_arp_sender_fields(lan):
    """The reply is addressed to the requester's sender hardware and protocol addresses taken from the ARP packet.

    RFC 826 swaps the fields and sends the reply to the new target hardware address, the
    requester's sender hardware address. The request here carries a sender hardware address
    that differs from the frame's source, so only the ARP field can be the right destination
    (RFC 5227 2.6 also allows a broadcast reply).
    """
    frame = Ether(src=lan.tester.mac, dst=BROADCAST) / ARP(
        op="who-has", hwsrc="02:00:00:00:55:55", psrc="198.18.0.55", hwdst="00:00:00:00:00:00", pdst=lan.sut.ip
    )
    reply = lan.tester.exchange(frame, expect=reply_from(lan.sut.ip))
    assert reply[ARP].hwdst == "02:00:00:00:55:55", f"the reply's target hardware address must be the requester's, came {reply[ARP].hwdst}"
    assert reply[ARP].pdst == "198.18.0.55", f"the reply's target protocol address must be the requester's, came {reply[ARP].pdst}"
    assert reply[Ether].dst in ("02:00:00:00:55:55", BROADCAST), (
        f"the reply must be sent to the requester's hardware address from the ARP packet (or broadcast), "
        f"went to {reply[Ether].dst}"
    )


@case("ARP-NO-REPLY-LOOPBACK-TARGET", rfc=1122, section="3.2.1.3", level=MUST, layer=2, also=(826,))
def test_request_for_loopback_address_gets_no_reply(lan):
    """A request for a loopback address (127.0.0.1) is not answered: loopback addresses must not
    appear outside a host, and an ARP reply would put one on the wire."""
    lan.tester.send(arp_request(lan.tester.mac, lan.tester.ip, "127.0.0.1"))
    lan.tester.expect_none(like(ARP(op="is-at")))
