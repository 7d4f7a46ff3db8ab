"""IPv4 Address Conflict Detection (RFC 5227): ARP Probes (sender 0.0.0.0), Announcements, and
packets that claim the SUT's own address.

RFC 5227's requirements bind "a host implementing this specification" (2.1); nothing requires a
host to implement it (its 1.3 notes that not every host on a link needs to). The cases that
judge conflict detection itself therefore declare it optional: a SUT that shows no conflict
detection at all (no probe for a new address, a conflict ignored entirely) is NOT-IMPLEMENTED;
one that probes or defends, but not as RFC 5227 says, FAILS. The Linux kernel leaves RFC 5227 to
user space (arping -D, n-acd, NetworkManager) and is NOT-IMPLEMENTED here.
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
from conformance.match import like, not_equal, one_of
from conformance.verdict import not_implemented
from conformance.wire import NoMatch

NEW_ADDRESS = "198.18.0.9"
ACD = "RFC 5227 address conflict detection"


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


@case("ARP-CONFLICT-RESPONSE", rfc=5227, section="2.4", level=MUST, layer=2, optional=ACD,
      waits="1 s for the SUT's defending Announcement; 0.5 s to see it stopped answering")
def test_conflicting_announcement_is_defended_or_address_given_up(lan):
    """On a conflicting ARP packet (another hardware address claiming the SUT's address) the SUT
    either defends its address with an Announcement, (b) or (c), or stops using it, (a).

    RFC 5227 2.4: "a host MUST respond to a conflicting ARP packet as described in either (a),
    (b), or (c)" (binding a host that implements the specification). An ARP packet from the SUT
    that claims its address (sender and target protocol address both the SUT's) is its defence,
    and must be an Announcement: an ARP Request, broadcast, with the SUT's hardware address. A
    SUT that neither defends nor stops using the address ignores the conflict entirely: it does
    not implement RFC 5227 conflict detection (NOT-IMPLEMENTED).

    The Announcement is an ARP Request for the SUT's own address, so an RFC 826 host answers it:
    a reply unicast to the announcer. That reply is no defence (a defence is broadcast, so that
    every host's cache is corrected) and is left aside: a stack without RFC 5227 sends exactly it.

    Tolerance: the Announcement is awaited for 1 s; RFC 5227 has the host send it on receipt.
    """
    lan.tester.send(announcement(OTHER_MAC, lan.sut.ip))
    defence = like(ARP(psrc=lan.sut.ip, pdst=lan.sut.ip),
                   where={"Ether.src": lan.sut.mac, "Ether.dst": not_equal(OTHER_MAC)},
                   name="an ARP packet from the SUT claiming its address, other than its reply to the announcer")
    try:
        sent = lan.tester.expect(defence, timeout=1.0)
    except NoMatch:
        sent = None
    if sent is not None:
        assert (sent[Ether].dst, sent[ARP].op, sent[ARP].hwsrc) == (BROADCAST, 1, lan.sut.mac), (
            "the defence of an address must be an ARP Announcement: a broadcast ARP Request with the SUT's hardware "
            f"address; came Ether dst {sent[Ether].dst}, op {sent[ARP].op}, sender hardware address {sent[ARP].hwsrc}"
        )
        return
    lan.tester.send(arp_request(lan.tester.mac, lan.tester.ip, lan.sut.ip))
    try:
        lan.tester.expect(reply_from(lan.sut.ip), timeout=0.5)
    except NoMatch:
        return  # (a): the SUT stopped using the address
    not_implemented(
        "after a conflicting Announcement for its address the SUT sent no Announcement within 1 s and still answers "
        "requests for the address: it ignores the conflict, so it does not implement RFC 5227 conflict detection"
    )


@case("ARP-PROBE-BEFORE-USE", rfc=5227, section="2.1", level=MUST, layer=2, optional=ACD,
      waits="PROBE_WAIT (1 s) plus 0.5 s for the first ARP Probe")
def test_new_address_is_probed(lan):
    """Before it uses a newly configured address the SUT probes for it: a broadcast ARP Probe with
    sender protocol address 0.0.0.0 and the new address as target.

    RFC 5227 2.1: "Before beginning to use an IPv4 address (whether received from manual
    configuration, DHCP, or some other means), a host implementing this specification MUST test
    to see if the address is already in use, by broadcasting ARP Probe packets." A probe for the
    new address (an ARP Request from the SUT with sender protocol address 0.0.0.0 and the new
    address as target) must be broadcast and carry the SUT's hardware address; a SUT that sends
    none does not implement RFC 5227 probing (NOT-IMPLEMENTED).

    Tolerance: RFC 5227 delays the first probe by up to PROBE_WAIT (1 s); it is awaited 1.5 s.
    """
    lan.tester.answer_arp = False
    lan.control.add_address(f"{NEW_ADDRESS}/24", lan.sut.ifname)
    try:
        sent = lan.tester.expect(
            like(ARP(op="who-has", psrc="0.0.0.0", pdst=NEW_ADDRESS), where={"Ether.src": lan.sut.mac},
                 name=f"an ARP Probe for {NEW_ADDRESS}"),
            timeout=1.5,
        )
    except NoMatch:
        not_implemented(f"no ARP Probe for the newly added {NEW_ADDRESS} within 1.5 s: the SUT does not probe addresses")
    assert (sent[Ether].dst, sent[ARP].hwsrc) == (BROADCAST, lan.sut.mac), (
        f"an ARP Probe must be broadcast with the SUT's hardware address {lan.sut.mac}; came Ether dst {sent[Ether].dst}, "
        f"sender hardware address {sent[ARP].hwsrc}"
    )
