"""The SUT resolving an address itself: its request, what it does with the reply, the datagrams
it holds meanwhile, and how often it asks (RFC 826, RFC 1122 2.3.2)."""

import time

from scapy.layers.inet import UDP
from scapy.layers.l2 import ARP, Ether

from cases.arp.frames import BROADCAST, STRANGER_MAC, UNUSED_IP, arp_fence, arp_reply, arrival_ns, request_for
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like
from conformance.verdict import Inconclusive


@case("ARP-REQUEST-FORMAT", rfc=826, section="Packet Generation", level=MUST, layer=2, needs=("sockets",))
def test_own_request_is_broadcast_with_every_field_right(lan):
    """To resolve a neighbour the SUT broadcasts a request carrying its own hardware and protocol
    addresses as sender and the wanted address as target."""
    lan.tester.answer_arp = False
    lan.app.udp(connect=(UNUSED_IP, 9)).send(b"resolve me")
    req = lan.tester.expect(request_for(UNUSED_IP))
    assert req[Ether].dst == BROADCAST, f"the request must be broadcast, went to {req[Ether].dst}"
    assert req[Ether].src == lan.sut.mac, f"the request must come from the SUT's MAC, came from {req[Ether].src}"
    assert req[Ether].type == 0x0806, f"the frame must be typed ARP (0x0806), was {req[Ether].type:#06x}"
    arp = req[ARP]
    assert (arp.hwtype, arp.ptype, arp.hwlen, arp.plen) == (1, 0x0800, 6, 4), (
        f"hardware/protocol type and lengths must be 1/0x0800/6/4, were {arp.hwtype}/{arp.ptype:#06x}/{arp.hwlen}/{arp.plen}"
    )
    assert arp.op == 1, f"the opcode must be request (1), was {arp.op}"
    assert (arp.hwsrc, arp.psrc) == (lan.sut.mac, lan.sut.ip), f"the sender must be the SUT ({lan.sut.mac}, {lan.sut.ip}), was ({arp.hwsrc}, {arp.psrc})"


@case("ARP-REPLY-COMPLETES-RESOLUTION", rfc=826, section="Packet Reception", level=MUST, layer=2, needs=("sockets",))
def test_reply_mapping_is_used(lan):
    """The mapping a reply brings is entered and used: the datagram goes to the replied hardware address.

    A second datagram follows once the reply is in: a SUT may drop the one that started the
    resolution (keeping it is RFC 1122 2.3.2.2's SHOULD, judged by ARP-QUEUE-LATEST). The first
    datagram the tester sees after the SUT took the reply in is judged.
    """
    lan.tester.claims[UNUSED_IP] = STRANGER_MAC  # the tester's Port answers the SUT's request
    sock = lan.app.udp(connect=(UNUSED_IP, 9))
    sock.send(b"after resolution")
    lan.tester.expect(request_for(UNUSED_IP))  # answered by the Port as it arrives
    lan.tester.sync()  # the SUT has taken the reply in
    sock.send(b"once resolved")
    datagram = lan.tester.expect(like(UDP(dport=9)), timeout=2.0)  # the first since the sync
    assert datagram[Ether].dst == STRANGER_MAC, f"the datagram must go to the replied {STRANGER_MAC}, went to {datagram[Ether].dst}"


@case("ARP-QUEUE-LATEST", rfc=1122, section="2.3.2.2", level=SHOULD, layer=2, needs=("sockets",))
def test_latest_datagram_is_kept_until_resolved(lan):
    """While an address is being resolved the SUT saves at least the latest datagram for it and
    sends it once the reply is in."""
    lan.tester.answer_arp = False
    sock = lan.app.udp(connect=(UNUSED_IP, 9))
    for payload in (b"first", b"second", b"latest"):
        sock.send(payload)
    lan.tester.expect(request_for(UNUSED_IP))
    lan.tester.send(arp_reply(STRANGER_MAC, UNUSED_IP, lan.sut.mac, lan.sut.ip))
    latest = like(Ether(dst=STRANGER_MAC) / UDP(dport=9), where={"Raw.load": b"latest"}, name="the latest datagram")
    lan.tester.expect(latest, timeout=2.0)


@case("ARP-FLOOD-PREVENTION", rfc=1122, section="2.3.2.1", level=MUST, layer=2, needs=("sockets",))
def test_burst_of_datagrams_sends_one_request(lan):
    """A burst of datagrams to an unresolved address does not make the SUT send a request per
    datagram: ARP flooding is prevented.

    RFC 1122 2.3.2.1: "A mechanism to prevent ARP flooding (repeatedly sending an ARP Request for
    the same IP address, at a high rate) MUST be included. The recommended maximum rate is 1 per
    second per destination." The RFC gives no other measure of "a high rate", so its recommended
    maximum is the yardstick. Tolerance: one request is allowed for the burst plus one for every
    further second the burst and the fence took on a busy machine.
    """
    lan.tester.answer_arp = False
    sock = lan.app.udp(connect=(UNUSED_IP, 9))
    start = time.monotonic()
    for i in range(20):
        sock.send(b"burst %d" % i)
    lan.tester.expect_none(like(ARP(op="is-at", psrc=UNUSED_IP)), fence=arp_fence(lan.sut.ip))
    elapsed = time.monotonic() - start
    requests = [f for f in lan.tester.arrived() if request_for(UNUSED_IP)(f.packet)]
    allowed = 1 + int(elapsed)
    assert 1 <= len(requests) <= allowed, (
        f"20 datagrams in {elapsed:.3f} s must cause at most {allowed} request(s) for {UNUSED_IP} "
        f"(1 per second per destination is the recommended maximum); the SUT sent {len(requests)}"
    )


@case("ARP-RETRANSMIT-RATE", rfc=1122, section="2.3.2.1", level=SHOULD, layer=2, needs=("sockets",),
      waits="one ARP retransmission interval at the SUT's default (about 1 s)")
def test_retransmissions_at_most_one_per_second(lan):
    """Unanswered requests for one address are repeated no faster than the recommended 1 per second.

    The SUT's default settings are used: the rate they give is what the RFC recommends. Tolerance:
    the second request may come up to 10 % early (timer granularity), and is awaited for 3 s; a
    SUT that does not repeat the request within that time shows no rate to judge (INCONCLUSIVE).
    """
    lan.tester.answer_arp = False
    lan.app.udp(connect=(UNUSED_IP, 9)).send(b"unanswered")
    first = lan.tester.expect(request_for(UNUSED_IP))
    try:
        second = lan.tester.expect(request_for(UNUSED_IP), timeout=3.0)
    except AssertionError:
        raise Inconclusive("the SUT did not repeat its unanswered request within 3 s, so the rate of its "
                           "retransmissions cannot be judged") from None
    gap = (arrival_ns(lan.tester, second) - arrival_ns(lan.tester, first)) / 1e9
    assert gap >= 0.9, f"requests for one destination must be at most 1 per second; the second came {gap * 1000:.0f} ms after the first"


@case("ARP-REQUEST-COMPLETES-PENDING", rfc=826, section="Packet Reception", level=MUST, layer=2, needs=("sockets",))
def test_request_from_pending_neighbour_completes_resolution(lan):
    """While the SUT is resolving an address, a request from that address for the SUT's own gives
    it the mapping (the target learns the sender): the waiting datagram goes out to that MAC.

    A SUT that kept no waiting datagram (RFC 1122 2.3.2.2's SHOULD, judged by ARP-QUEUE-LATEST)
    shows what it learned with the next one: a second datagram follows the request, and the
    first datagram the tester sees after the SUT took the request in must go to that MAC.
    """
    lan.tester.answer_arp = False
    sock = lan.app.udp(connect=(UNUSED_IP, 9))
    sock.send(b"waiting")
    lan.tester.expect(request_for(UNUSED_IP))
    lan.tester.send(Ether(src=STRANGER_MAC, dst=BROADCAST) / ARP(
        op="who-has", hwsrc=STRANGER_MAC, psrc=UNUSED_IP, hwdst="00:00:00:00:00:00", pdst=lan.sut.ip))
    lan.tester.answer_arp = True  # for the fence's answer to the tester's own address; nobody claims UNUSED_IP
    lan.tester.sync()  # the SUT has taken the request in (and sent the waiting datagram, if it kept one)
    sock.send(b"after the request")
    lan.tester.expect(like(Ether(dst=STRANGER_MAC) / UDP(dport=9), name="the waiting datagram or the next"), timeout=2.0)


@case("ARP-MISSING-ENTRY-NOT-UNREACHABLE", rfc=1122, section="2.4", level=MUST, layer=2, needs=("sockets",))
def test_missing_entry_is_not_reported_unreachable(lan):
    """A datagram to a neighbour with no ARP cache entry is not refused as unreachable: the send
    succeeds, resolution starts, and the application sees no error while it is under way."""
    lan.tester.answer_arp = False
    sock = lan.app.udp(connect=(UNUSED_IP, 9))
    try:
        sent = sock.send(b"no entry yet")
    except OSError as exc:
        raise AssertionError(f"sending to a neighbour with no cache entry must not fail; it failed with {exc}") from None
    assert sent == len(b"no entry yet"), f"the whole datagram must be accepted, {sent} octets were"
    lan.tester.expect(request_for(UNUSED_IP))
    assert sock.error() == 0, f"no error may be reported only because there was no cache entry; SO_ERROR is {sock.error()}"
