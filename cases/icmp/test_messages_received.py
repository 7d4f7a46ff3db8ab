"""How the SUT treats ICMP messages it receives: corrupt ones, unknown types, and queries it
must not or need not answer (RFC 792, RFC 1122 3.2.2, 3.2.2.8, 3.2.2.9)."""

import time

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from cases.icmp.frames import echo_request, ip_like, next_ident
from conformance.catalog import MAY, MUST, SHOULD, case
from conformance.match import like
from conformance.verdict import Inconclusive, not_implemented

MS_PER_DAY = 86_400_000
UNKNOWN_TYPES = (1, 2, 7, 99, 200, 255)  # unassigned or reserved; none is an error or a query the SUT knows


@case("ICMP-ECHO-BAD-CHECKSUM", rfc=792, section="Echo or Echo Reply Message", level=MUST, layer=3, also=(1122,),
      needs=("counters",))
def test_echo_request_with_bad_checksum_is_dropped(lan):
    """An Echo Request whose ICMP checksum is wrong is discarded and not answered.

    The checksum protects the whole ICMP message; a message that fails it is corrupt. RFC 792
    predates requirement keywords and does not spell out the discard: the case reads its
    definition of the checksum as MUST (a message that fails it is not the one that was sent).
    The SUT's Icmp InCsumErrors counter must show the message was refused for its checksum, or
    the silence proves nothing (INCONCLUSIVE); counting is not itself the requirement.
    """
    ident = next_ident()
    good = echo_request(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, ident=ident, data=b"checksum")
    right = ICMP(bytes(good[ICMP])).chksum
    bad = good.copy()
    bad[ICMP].chksum = right ^ 0x5A5A
    before = lan.control.counters("snmp").get("Icmp.InCsumErrors", 0)
    lan.tester.send(bad)
    lan.tester.expect_none(like(ip_like(src=lan.sut.ip) / ICMP(type="echo-reply", id=ident)))
    counted = lan.control.counters("snmp").get("Icmp.InCsumErrors", 0) - before
    if counted != 1:
        raise Inconclusive(f"Icmp.InCsumErrors rose by {counted}, not 1, so the silence cannot be shown to be the checksum discard")


@case("ICMP-UNKNOWN-TYPE", title="Unknown ICMP types are silently discarded", rfc=1122, section="3.2.2", level=MUST, layer=3)
def test_unknown_icmp_types_are_silently_discarded(lan):
    """An ICMP message of a type the SUT does not know is silently discarded: nothing is sent in answer.

    Types 1, 2, 7, 99, 200 and 255 are sent, each with a valid checksum.
    """
    for icmp_type in UNKNOWN_TYPES:
        lan.tester.send(
            Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip, id=next_ident())
            / ICMP(type=icmp_type, code=0) / Raw(b"\x00" * 8)
        )
    lan.tester.expect_none(like(ip_like(src=lan.sut.ip)))


@case("ICMP-ADDRMASK-NO-REPLY", rfc=1122, section="3.2.2.9", level=MUST, layer=3)
def test_address_mask_request_unanswered_unless_configured_agent(lan):
    """A host that is not configured as an address mask agent sends no Address Mask Reply.

    RFC 1122 3.2.2.9: "A system MUST NOT send an Address Mask Reply unless it is an authoritative
    agent for address masks", and such an agent "MUST be explicitly configured". The SUT is not
    configured as one; an Address Mask Request (type 17) to its address must go unanswered. RFC
    6918 has since deprecated types 17 and 18 altogether, which only strengthens the silence
    (see ICMP-ADDRMASK-ROUTER-REPLY for a router).
    """
    ident = next_ident()
    lan.tester.send(
        Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip)
        / ICMP(type=17, code=0, id=ident, seq=1, addr_mask="0.0.0.0")
    )
    lan.tester.expect_none(like(ip_like(src=lan.sut.ip) / ICMP(type=18)))


@case("ICMP-TIMESTAMP-REPLY", rfc=1122, section="3.2.2.8", level=MAY, layer=3, also=(792,))
def test_timestamp_request_is_answered(lan):
    """A host MAY answer a Timestamp Request; the reply returns the originate timestamp and gives receive and transmit times.

    The times must be milliseconds since midnight UT, close (within 5 s) to the tester's clock,
    which is the same machine's, or carry the high-order bit that marks a non-standard value.
    """
    ident = next_ident()
    now_ms = int(time.time() * 1000) % MS_PER_DAY
    reply = lan.tester.exchange(
        Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip)
        / ICMP(type=13, code=0, id=ident, seq=7, ts_ori=now_ms, ts_rx=0, ts_tx=0),
        expect=like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / ICMP(type=14, id=ident, seq=7)),
    )
    icmp = reply[ICMP]
    assert icmp.ts_ori == now_ms, f"the reply must return the originate timestamp {now_ms}, it returned {icmp.ts_ori}"
    for name in ("ts_rx", "ts_tx"):
        value = getattr(icmp, name)
        if value & 0x80000000:
            continue  # a non-standard time, flagged as the RFC allows
        skew = min(abs(value - now_ms), MS_PER_DAY - abs(value - now_ms))
        assert skew <= 5000, f"{name} must be ms since midnight UT; it was {value}, {skew} ms from the tester's {now_ms}"


@case("ICMP-INFO-REQUEST-NO-REPLY", rfc=1122, section="3.2.2.7", level=SHOULD, layer=3, also=(792,))
def test_information_request_is_not_answered(lan):
    """A host should not implement Information Request/Reply: an Information Request (type 15) gets no Information Reply."""
    ident = next_ident()
    lan.tester.send(
        Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip)
        / ICMP(type=15, code=0, id=ident, seq=1)
    )
    lan.tester.expect_none(like(ip_like(src=lan.sut.ip) / ICMP(type=16)))


@case("ICMP-TIMESTAMP-SOURCE-SPECIFIC", rfc=1122, section="3.2.2.8", level=MUST, layer=3, also=(1812,))
def test_timestamp_reply_source_is_the_address_asked(routed):
    """A Timestamp Reply, where the Timestamp server is implemented, comes from the specific destination address of the request.

    The tester asks the router's far-side address 198.18.2.1 through the near interface; the
    reply must come from 198.18.2.1. A SUT that does not answer Timestamp Requests at all
    (the server is optional) is not judged.
    """
    t = routed.tester

    def ask(dst: str, ident: int):
        return (Ether(src=t.mac, dst=routed.router_near.mac) / IP(src=t.ip, dst=dst)
                / ICMP(type=13, code=0, id=ident, seq=1, ts_ori=0, ts_rx=0, ts_tx=0))

    probe = next_ident()
    t.send(ask(routed.router_near.ip, probe))
    try:
        t.expect(like(ip_like(dst=t.ip) / ICMP(type=14, id=probe)))
    except AssertionError:
        pytest.skip("not applicable: the SUT does not implement the optional Timestamp server (RFC 1122 3.2.2.8 MAY)")
    ident = next_ident()
    reply = t.exchange(ask(routed.router_far.ip, ident), expect=like(ip_like(dst=t.ip) / ICMP(type=14, id=ident)))
    assert reply[IP].src == routed.router_far.ip, (
        f"the reply's source must be the request's destination {routed.router_far.ip}, it was {reply[IP].src}"
    )


@case("ICMP-ADDRMASK-ROUTER-REPLY", rfc=1812, section="4.3.3.9", level=MUST, layer=3, also=(950, 6918),
      optional="ICMP Address Mask Request/Reply (types 17/18), deprecated by RFC 6918")
def test_router_answers_address_mask_request(routed):
    """A router that implements the (deprecated) Address Mask messages answers a request with the mask of the interface it arrived on.

    RFC 1812 4.3.3.9 made answering a MUST for routers, on by default. RFC 6918 (2013, updating
    RFC 792 and RFC 950, where the messages are defined) later formally deprecated ICMP types 17
    and 18 with the other obsolete ICMPv4 messages (paraphrase of its abstract: they have become
    obsolete in practice and are now formally deprecated). Following the later RFC, a router
    that does not answer at all does not implement a deprecated feature: NOT-IMPLEMENTED, as a
    host's silence is what ICMP-ADDRMASK-NO-REPLY asks for. A router that does answer must do it
    right: the request reaches the near interface, 198.18.1.1/24, and the reply must carry mask
    255.255.255.0 and the request's identifier and sequence number.
    """
    t, r = routed.tester, routed.router_near
    ident = next_ident()
    request = Ether(src=t.mac, dst=r.mac) / IP(src=t.ip, dst=r.ip) / ICMP(type=17, code=0, id=ident, seq=3, addr_mask="0.0.0.0")
    reply = t.before_fence(like(ip_like(src=r.ip, dst=t.ip) / ICMP(type=18, id=ident)), stimulus=request)
    if reply is None:
        not_implemented("the router sent no Address Mask Reply to a request for its near interface's mask")
    assert reply[ICMP].seq == 3, f"the reply must return the sequence number 3, it returned {reply[ICMP].seq}"
    assert reply[ICMP].addr_mask == "255.255.255.0", f"the mask must be 255.255.255.0 (/24), it was {reply[ICMP].addr_mask}"
