"""IPv4 Address Conflict Detection (RFC 5227): ARP Probes (sender 0.0.0.0), Announcements, and
packets that claim the SUT's own address.

RFC 5227's requirements bind "a host implementing this specification" (2.1); its 1.3 notes that
not every host on a link needs to implement it.
"""

from scapy.layers.inet import IP
from scapy.layers.l2 import ARP, Ether

from cases.arp.frames import (
    BROADCAST,
    OTHER_MAC,
    STRANGER_MAC,
    UNUSED_IP,
    announcement,
    arp_fence,
    arp_request,
    probe,
    reply_from,
)
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like, one_of
from conformance.wire import NoMatch

NEW_ADDRESS = "198.18.0.9"


@case("ARP-PROBE-ANSWERED", rfc=826, section="Packet Reception", level=MUST, layer=2, also=(5227,))
def test_probe_for_own_address_is_answered(lan):
    """An ARP Probe (sender protocol address 0.0.0.0) for the SUT's address is answered, so that
    the prober sees the address is taken; the reply's target fields are the probe's sender fields."""
    reply = lan.tester.exchange(
        probe(STRANGER_MAC, lan.sut.ip),
        expect=like(ARP(op="is-at", psrc=lan.sut.ip), where={"Ether.dst": one_of(STRANGER_MAC, BROADCAST)}),
    )
    arp = reply[ARP]
    assert arp.hwsrc == lan.sut.mac, f"the sender hardware address must be the SUT's {lan.sut.mac}, was {arp.hwsrc}"
    assert (arp.hwdst, arp.pdst) == (STRANGER_MAC, "0.0.0.0"), (
        f"the target fields must be the probe's sender fields ({STRANGER_MAC}, 0.0.0.0), were ({arp.hwdst}, {arp.pdst})"
    )


@case("ARP-PROBE-NOT-LEARNED", rfc=5227, section="2.1.1", level=SHOULD, layer=2, needs=("neighbours",))
def test_probe_adds_no_entry(lan):
    """An ARP Probe leaves no trace in the SUT's table: its all-zero sender address exists so as
    not to pollute other hosts' ARP caches.

    Derived: RFC 5227 2.1.1's MUST is on the prober (the sender IP address "MUST be set to all
    zeroes; this is to avoid polluting ARP caches in other hosts"); no keyword is stated for the
    receiver, so SHOULD.
    """
    lan.tester.answer_arp = False
    lan.tester.exchange(probe(STRANGER_MAC, lan.sut.ip), expect=reply_from(lan.sut.ip))
    lan.tester.send(probe(STRANGER_MAC, UNUSED_IP))
    lan.tester.expect_none(reply_from(UNUSED_IP), fence=arp_fence(lan.sut.ip))
    table = lan.control.neighbours(lan.sut.ifname)
    polluted = [n for n in table.values() if n.ip == "0.0.0.0" or n.mac == STRANGER_MAC]
    assert not polluted, f"probes must not be learned; the SUT's table holds {polluted}"


@case("ARP-OWN-ADDRESS-NOT-LEARNED", rfc=5227, section="2.4", level=SHOULD, layer=2, needs=("neighbours",))
def test_conflicting_announcement_is_not_learned(lan):
    """An ARP packet claiming the SUT's own address for another hardware address is a conflict to
    handle, not a mapping to learn: no entry for the SUT's own address appears.

    Derived: RFC 5227 2.4 calls such a packet a "conflicting ARP packet" and requires one of the
    responses (a)-(c), none of which is learning the mapping; it states no keyword for the table
    itself, so SHOULD.
    """
    lan.tester.send(announcement(OTHER_MAC, lan.sut.ip))
    lan.tester.send(arp_request(OTHER_MAC, lan.sut.ip, lan.tester.ip))
    lan.tester.expect_none(like(Ether(dst=OTHER_MAC) / IP(), name=f"an IP datagram sent to {OTHER_MAC}"),
                           fence=arp_fence(lan.sut.ip))
    entry = lan.control.neighbours(lan.sut.ifname).get(lan.sut.ip)
    assert entry is None, f"the SUT must not map its own address {lan.sut.ip} to another host; its table says {entry}"


@case("ARP-CONFLICT-RESPONSE", rfc=5227, section="2.4", level=MUST, layer=2,
      waits="1 s for the SUT's defending Announcement; 0.5 s to see it stopped answering")
def test_conflicting_announcement_is_defended_or_address_given_up(lan):
    """On a conflicting ARP packet (another hardware address claiming the SUT's address) the SUT
    either defends its address with an Announcement, (b) or (c), or stops using it, (a).

    Tolerance: the Announcement is awaited for 1 s; RFC 5227 has the host send it on receipt.
    """
    lan.tester.send(announcement(OTHER_MAC, lan.sut.ip))
    defence = like(
        Ether(src=lan.sut.mac, dst=BROADCAST) / ARP(hwsrc=lan.sut.mac, psrc=lan.sut.ip, pdst=lan.sut.ip),
        name="an Announcement of the SUT's address",
    )
    try:
        lan.tester.expect(defence, timeout=1.0)
        return
    except NoMatch:
        pass
    lan.tester.send(arp_request(lan.tester.mac, lan.tester.ip, lan.sut.ip))
    try:
        lan.tester.expect(reply_from(lan.sut.ip), timeout=0.5)
    except NoMatch:
        return  # (a): the SUT stopped using the address
    raise AssertionError(
        "after a conflicting Announcement for its address the SUT must defend it with an Announcement "
        "or stop using it; it sent no Announcement within 1 s and still answers requests for the address"
    )


@case("ARP-PROBE-BEFORE-USE", rfc=5227, section="2.1", level=MUST, layer=2,
      waits="PROBE_WAIT (1 s) plus 0.5 s for the first ARP Probe")
def test_new_address_is_probed(lan):
    """Before it uses a newly configured address the SUT probes for it: a broadcast ARP Probe with
    sender protocol address 0.0.0.0 and the new address as target.

    Tolerance: RFC 5227 delays the first probe by up to PROBE_WAIT (1 s); it is awaited 1.5 s.
    """
    lan.tester.answer_arp = False
    lan.control.add_address(f"{NEW_ADDRESS}/24", lan.sut.ifname)
    lan.tester.expect(
        like(Ether(src=lan.sut.mac, dst=BROADCAST) / ARP(op="who-has", hwsrc=lan.sut.mac, psrc="0.0.0.0", pdst=NEW_ADDRESS),
             name=f"an ARP Probe for {NEW_ADDRESS}"),
        timeout=1.5,
    )
