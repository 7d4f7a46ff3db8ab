"""ARP replies (RFC 826 "Packet Reception")."""

from scapy.layers.l2 import ARP, Ether

from conformance.catalog import MUST, case
from conformance.match import like

BROADCAST = "ff:ff:ff:ff:ff:ff"


def arp_request(src_mac: str, src_ip: str, target_ip: str) -> Ether:
    return Ether(src=src_mac, dst=BROADCAST) / ARP(
        op="who-has", hwsrc=src_mac, psrc=src_ip, hwdst="00:00:00:00:00:00", pdst=target_ip
    )


@case("ARP-REPLY-UNICAST", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_request_for_own_address_gets_unicast_reply(lan):
    """A request for the SUT's address is answered, to the requester alone, with every field right."""
    reply = lan.tester.exchange(
        arp_request(lan.tester.mac, lan.tester.ip, lan.sut.ip),
        expect=like(ARP(op="is-at", psrc=lan.sut.ip)),
    )
    assert reply[Ether].dst == lan.tester.mac, "the reply must be unicast to the requester, not broadcast"
    assert reply[Ether].src == lan.sut.mac, "the reply must come from the SUT's interface MAC"
    arp = reply[ARP]
    assert (arp.hwtype, arp.ptype, arp.hwlen, arp.plen) == (1, 0x0800, 6, 4), "hardware/protocol type and lengths must be Ethernet/IPv4"
    assert arp.hwsrc == lan.sut.mac, "the sender hardware address must be the SUT's MAC"
    assert (arp.hwdst, arp.pdst) == (lan.tester.mac, lan.tester.ip), "the target fields must be the requester's"


@case("ARP-NO-REPLY-FOREIGN", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_request_for_other_address_gets_no_reply(lan):
    """A request for an address the SUT does not own is not answered."""
    lan.tester.send(arp_request(lan.tester.mac, lan.tester.ip, "198.18.0.77"))
    lan.tester.expect_none(like(ARP(op="is-at")))
