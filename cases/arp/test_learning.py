"""What the SUT learns from ARP packets: RFC 826's merge rule, and gratuitous ARP.

RFC 826 "Packet Reception": if the sender's protocol address is already in the table, its
hardware address is updated from the packet (whatever the packet's target); if the receiver
is the target, the sender's mapping is added. The echo request the cases send afterwards shows
on the wire which MAC the SUT now believes: its reply goes there, without asking first.

RFC 826 predates RFC 2119; the steps of its algorithm are taken as MUST. That a receiver which is
not the target adds no new entry is implied by the algorithm (it adds only under "Am I the target
protocol address? Yes") rather than stated, so those cases are SHOULD.
"""

from scapy.layers.inet import IP
from scapy.layers.l2 import ARP, Ether

from cases.arp.frames import (
    OTHER_MAC,
    STRANGER_IP,
    STRANGER_MAC,
    UNUSED_IP,
    announcement,
    arp_fence,
    arp_reply,
    arp_request,
    echo_from,
    echo_reply_to,
    reply_from,
    request_for,
)
from conformance.catalog import MUST, SHOULD, case
from conformance.match import AnyOf, like


def learn_stranger(lan):
    """Let the SUT learn STRANGER_IP -> STRANGER_MAC from a request for its own address."""
    lan.tester.answer_arp = False
    lan.tester.exchange(arp_request(STRANGER_MAC, STRANGER_IP, lan.sut.ip), expect=reply_from(lan.sut.ip))


def believed_mac(lan, ip: str, via_mac: str) -> str | None:
    """Which MAC the SUT sends to for `ip`: the destination of its echo reply, or None when its
    first answer to the echo request was an ARP request for `ip` (it did not know)."""
    lan.tester.send(echo_from(via_mac, ip, lan.sut.mac, lan.sut.ip))
    # its first ARP or IPv4 frame: an external SUT with IPv6 on may send MLD or ND meanwhile
    first = lan.tester.expect(AnyOf(request_for(ip), like(Ether(src=lan.sut.mac) / IP(src=lan.sut.ip)),
                                    name="the SUT's first ARP or IPv4 frame after the echo request"))
    if request_for(ip)(first):
        return None
    assert echo_reply_to(ip)(first), f"the SUT answered the echo request from {ip} with {first.summary()}"
    return str(first[Ether].dst)


@case("ARP-LEARN-REQUESTER", rfc=826, section="Packet Reception", level=MUST, layer=2, needs=("neighbours",))
def test_target_learns_requester(lan):
    """The target of a request adds the requester's mapping to its table.

    Checked twice: in the SUT's neighbour table, and on the wire (an echo request from the
    requester's address is answered straight to the learned MAC, with no ARP request first).
    """
    learn_stranger(lan)
    entry = lan.control.neighbours(lan.sut.ifname).get(STRANGER_IP)
    assert entry is not None and entry.mac == STRANGER_MAC, (
        f"after a request from {STRANGER_IP} at {STRANGER_MAC} the SUT's table must map it, found {entry}"
    )
    mac = believed_mac(lan, STRANGER_IP, STRANGER_MAC)
    assert mac == STRANGER_MAC, (
        f"the SUT must send to the learned {STRANGER_MAC} without asking again; "
        + ("it sent an ARP request first" if mac is None else f"it sent to {mac}")
    )


@case("ARP-NO-LEARN-NOT-TARGET", rfc=826, section="Packet Reception", level=SHOULD, layer=2, needs=("neighbours",))
def test_request_for_another_host_adds_no_entry(lan):
    """A request whose target is another host adds no entry for its sender (only the target adds)."""
    lan.tester.answer_arp = False
    lan.tester.send(arp_request(STRANGER_MAC, STRANGER_IP, UNUSED_IP))
    lan.tester.expect_none(reply_from(UNUSED_IP), fence=arp_fence(lan.sut.ip))
    entry = lan.control.neighbours(lan.sut.ifname).get(STRANGER_IP)
    assert entry is None or entry.mac is None, f"the SUT was not the target, yet it added {entry}"


@case("ARP-MERGE-UPDATE", rfc=826, section="Packet Reception", level=MUST, layer=2, needs=("neighbours",))
def test_existing_entry_updated_by_any_packet(lan):
    """An existing entry is updated with the sender hardware address of any ARP packet from that
    address, even one whose target is another host.

    The update is sent right after the entry was made; RFC 826 knows no hold-down time.
    """
    learn_stranger(lan)
    lan.tester.send(arp_request(OTHER_MAC, STRANGER_IP, UNUSED_IP))
    lan.tester.expect_none(reply_from(UNUSED_IP), fence=arp_fence(lan.sut.ip))
    entry = lan.control.neighbours(lan.sut.ifname).get(STRANGER_IP)
    mac = believed_mac(lan, STRANGER_IP, OTHER_MAC)
    assert mac == OTHER_MAC, (
        f"the SUT's entry for {STRANGER_IP} must now say {OTHER_MAC}; its echo reply went to {mac} "
        f"and its table says {entry}"
    )


@case("ARP-LEARN-UNSOLICITED-REPLY", title="Reply targeting the SUT adds the sender", rfc=826, section="Packet Reception", level=MUST, layer=2, needs=("neighbours",))
def test_reply_targeting_sut_adds_sender(lan):
    """A reply whose target is the SUT adds its sender's mapping even if the SUT never asked.

    RFC 826 merges before it looks at the opcode: whoever is the target adds the sender.
    """
    lan.tester.answer_arp = False
    lan.tester.send(arp_reply(STRANGER_MAC, STRANGER_IP, lan.sut.mac, lan.sut.ip))
    lan.tester.expect_none(request_for(STRANGER_IP), fence=arp_fence(lan.sut.ip))
    entry = lan.control.neighbours(lan.sut.ifname).get(STRANGER_IP)
    mac = believed_mac(lan, STRANGER_IP, STRANGER_MAC)
    assert mac == STRANGER_MAC, (
        f"the SUT, target of a reply from {STRANGER_IP} at {STRANGER_MAC}, must have added it; "
        f"its table says {entry} and its echo reply " + ("needed an ARP request first" if mac is None else f"went to {mac}")
    )


@case("ARP-GRATUITOUS-REQUEST-UPDATE", rfc=826, section="Packet Reception", level=MUST, layer=2, also=(5227,), needs=("neighbours",))
def test_announcement_updates_existing_entry(lan):
    """A gratuitous request (an RFC 5227 Announcement) updates an existing entry for its sender."""
    learn_stranger(lan)
    lan.tester.send(announcement(OTHER_MAC, STRANGER_IP))
    lan.tester.expect_none(reply_from(STRANGER_IP), fence=arp_fence(lan.sut.ip))
    entry = lan.control.neighbours(lan.sut.ifname).get(STRANGER_IP)
    assert entry is not None and entry.mac == OTHER_MAC, f"the announcement said {STRANGER_IP} is at {OTHER_MAC}; the table says {entry}"
    mac = believed_mac(lan, STRANGER_IP, OTHER_MAC)
    assert mac == OTHER_MAC, f"the SUT must send to the announced {OTHER_MAC}, sent to {mac}"


@case("ARP-GRATUITOUS-REPLY-UPDATE", rfc=826, section="Packet Reception", level=MUST, layer=2, needs=("neighbours",))
def test_broadcast_gratuitous_reply_updates_existing_entry(lan):
    """A broadcast gratuitous reply (sender and target protocol address the same) updates an existing entry."""
    learn_stranger(lan)
    lan.tester.send(
        Ether(src=OTHER_MAC, dst="ff:ff:ff:ff:ff:ff")
        / ARP(op="is-at", hwsrc=OTHER_MAC, psrc=STRANGER_IP, hwdst=OTHER_MAC, pdst=STRANGER_IP)
    )
    lan.tester.expect_none(reply_from(STRANGER_IP), fence=arp_fence(lan.sut.ip))
    entry = lan.control.neighbours(lan.sut.ifname).get(STRANGER_IP)
    assert entry is not None and entry.mac == OTHER_MAC, f"the gratuitous reply said {STRANGER_IP} is at {OTHER_MAC}; the table says {entry}"
    mac = believed_mac(lan, STRANGER_IP, OTHER_MAC)
    assert mac == OTHER_MAC, f"the SUT must send to {OTHER_MAC}, sent to {mac}"


@case("ARP-GRATUITOUS-NO-NEW-ENTRY", rfc=826, section="Packet Reception", level=SHOULD, layer=2, needs=("neighbours",))
def test_announcement_of_unknown_host_adds_no_entry(lan):
    """An announcement from a host the SUT has no entry for adds none: the SUT is not its target."""
    lan.tester.answer_arp = False
    lan.tester.send(announcement(STRANGER_MAC, STRANGER_IP))
    lan.tester.expect_none(reply_from(STRANGER_IP), fence=arp_fence(lan.sut.ip))
    entry = lan.control.neighbours(lan.sut.ifname).get(STRANGER_IP)
    assert entry is None or entry.mac is None, f"the SUT was not the target of the announcement, yet it added {entry}"
