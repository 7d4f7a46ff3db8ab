"""ICMP Echo (RFC 792 "Echo or Echo Reply Message", RFC 1122 3.2.2.6, RFC 1812 4.3.3.6)."""

from scapy.layers.inet import ICMP, IP, IPOption_LSRR, IPOption_RR
from scapy.layers.inet import fragment as ip_fragment
from scapy.layers.l2 import Ether

from cases.icmp.frames import (
    BROADCAST_MAC,
    echo_request,
    icmp_checksum_ok,
    ip_like,
    mac_for_multicast,
    next_ident,
    subnet_broadcast,
)
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like
from conformance.verdict import not_implemented


def echo_reply_to(lan_or_src: str, dst: str, ident: int, seq: int = 1):
    return like(ip_like(src=lan_or_src, dst=dst) / ICMP(type="echo-reply", id=ident, seq=seq))


def reply_data(reply) -> bytes:
    ip = reply[IP]
    return bytes(ip[ICMP])[8 : ip.len - ip.ihl * 4]


@case("ICMP-ECHO-MIRROR", rfc=1122, section="3.2.2.6", level=MUST, layer=3, also=(792,))
def test_echo_reply_mirrors_identifier_sequence_and_data(lan):
    """An Echo Reply carries the request's identifier, sequence number and data unchanged, type 0 code 0.

    The request goes to the SUT's address with an identifier, a sequence number and 56 octets
    of patterned data; the reply must come back to the tester with all three equal.
    """
    ident, seq, data = next_ident(), 0x4242, bytes(range(56))
    reply = lan.tester.exchange(
        echo_request(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, ident=ident, seq=seq, data=data),
        expect=like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / ICMP(type="echo-reply"), where={"ICMP.id": ident}),
    )
    icmp = reply[ICMP]
    assert icmp.code == 0, f"an Echo Reply has code 0, the reply had code {icmp.code}"
    assert icmp.seq == seq, f"the reply must carry the request's sequence number {seq:#x}, it carried {icmp.seq:#x}"
    got = reply_data(reply)
    assert got == data, f"the reply must return the request's {len(data)} data octets unchanged, it returned {len(got)} octets {got[:16].hex()}..."
    assert reply[Ether].dst == lan.tester.mac, "the reply must be sent to the requester's MAC"


@case("ICMP-ECHO-CHECKSUM", title="Echo Reply has a valid checksum for odd-length data", rfc=792, section="Echo or Echo Reply Message", level=MUST, layer=3)
def test_echo_reply_has_valid_checksum_for_odd_length_data(lan):
    """The Echo Reply's checksum is the ones' complement sum over the whole ICMP message, an odd length padded with a zero octet.

    The request carries 37 octets of data so the message length is odd. RFC 792 predates
    requirement keywords; its definition of the checksum field (odd lengths padded with a zero
    octet) is read as MUST.
    """
    ident, data = next_ident(), b"\xff" * 37
    reply = lan.tester.exchange(
        echo_request(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, ident=ident, data=data),
        expect=echo_reply_to(lan.sut.ip, lan.tester.ip, ident),
    )
    assert reply_data(reply) == data, "the reply must return the 37 data octets unchanged"
    assert icmp_checksum_ok(reply), f"the reply's ICMP checksum {reply[ICMP].chksum:#06x} does not verify over the odd-length message"


@case("ICMP-ECHO-LARGE", rfc=1122, section="3.2.2.6", level=MUST, layer=3)
def test_echo_reply_returns_full_size_data(lan):
    """The data of an Echo Request as large as the link MTU allows is returned entirely in the Echo Reply.

    1472 octets of data make a 1500-octet datagram, the MTU of the segment.
    """
    ident, data = next_ident(), bytes(i % 251 for i in range(1472))
    reply = lan.tester.exchange(
        echo_request(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, ident=ident, data=data),
        expect=echo_reply_to(lan.sut.ip, lan.tester.ip, ident),
    )
    got = reply_data(reply)
    assert got == data, f"the reply must include all {len(data)} data octets of the request; it carried {len(got)}"


@case("ICMP-ECHO-FRAGMENTED", rfc=1122, section="3.2.2.6", level=MUST, layer=3, also=(791,))
def test_fragmented_echo_is_answered_with_complete_data(lan):
    """An Echo Request that arrives in fragments is reassembled and answered with all of its data (or, by a host that cannot fragment, with its data truncated to the MTU).

    4000 octets of data are sent in three fragments. The reply is larger than the 1500-octet
    MTU: a host that fragments its own datagrams sends it in fragments, which the case
    reassembles and compares whole; RFC 1122 3.2.2.6 lets a host without intentional
    fragmentation send instead one 1500-octet reply carrying the first octets of the data.
    """
    ident, data = next_ident(), bytes((i * 7) % 256 for i in range(4000))
    request = echo_request(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, ident=ident, data=data)
    for f in ip_fragment(request[IP], fragsize=1480):
        lan.tester.send(Ether(src=lan.tester.mac, dst=lan.sut.mac) / f)
    pieces: dict[int, bytes] = {}
    total = None
    while total is None or sum(len(p) for p in pieces.values()) < total:
        ip = lan.tester.expect(like(ip_like(src=lan.sut.ip, dst=lan.tester.ip, proto=1)), timeout=1.0)[IP]
        body = bytes(ip.payload)[: ip.len - ip.ihl * 4]
        pieces[ip.frag * 8] = body
        if not ip.flags.MF:
            total = ip.frag * 8 + len(body)
        whole_datagram_len = ip.len if ip.frag == 0 and not ip.flags.MF else None
    whole = b"".join(pieces[k] for k in sorted(pieces))
    icmp = ICMP(whole)
    assert icmp.type == 0 and icmp.id == ident, f"the reassembled reply must be an Echo Reply with id {ident:#x}, got type {icmp.type} id {icmp.id:#x}"
    got = whole[8:]
    if len(pieces) == 1 and whole_datagram_len == 1500 and got == data[: len(got)]:
        return  # truncated to the maximum transmission size, as a host without fragmentation must
    assert got == data, (
        f"the reply must return all {len(data)} data octets of the fragmented request (or, unfragmented, "
        f"the first ones in a 1500-octet reply); it returned {len(got)} octets in {len(pieces)} piece(s)"
    )


@case("ICMP-ECHO-SOURCE-SPECIFIC", rfc=1812, section="4.3.3.6", level=MUST, layer=3, also=(1122,))
def test_echo_reply_source_is_the_address_the_request_was_sent_to(routed):
    """The source of an Echo Reply is the specific destination address of the request, even when another interface's address is nearer.

    The tester asks the router's far-side address (198.18.2.1) through the near interface; the
    reply must come from 198.18.2.1, not from the near interface's 198.18.1.1.
    """
    ident = next_ident()
    reply = routed.tester.exchange(
        echo_request(routed.tester.mac, routed.router_near.mac, routed.tester.ip, routed.router_far.ip, ident=ident),
        expect=like(ip_like(dst=routed.tester.ip) / ICMP(type="echo-reply", id=ident)),
    )
    assert reply[IP].src == routed.router_far.ip, (
        f"the reply's source must be the request's destination {routed.router_far.ip}, it was {reply[IP].src}"
    )


@case("ICMP-ECHO-BROADCAST-SOURCE", rfc=1122, section="3.2.2.6", level=MUST, layer=3, needs=("sysctl",))
def test_reply_to_broadcast_echo_comes_from_unicast_address(lan):
    """A reply to an Echo Request sent to a broadcast address has the SUT's own unicast address as its source.

    Precondition: net.ipv4.icmp_echo_ignore_broadcasts=0, so that the SUT answers broadcast
    echoes at all (discarding them is allowed by the same section).
    """
    lan.control.set_sysctl("net.ipv4.icmp_echo_ignore_broadcasts", 0)
    ident = next_ident()
    reply = lan.tester.exchange(
        echo_request(lan.tester.mac, BROADCAST_MAC, lan.tester.ip, subnet_broadcast(lan.sut.ip, lan.prefixlen), ident=ident),
        expect=like(ip_like(dst=lan.tester.ip) / ICMP(type="echo-reply", id=ident)),
    )
    assert reply[IP].src == lan.sut.ip, f"the reply's source must be the SUT's address {lan.sut.ip}, it was {reply[IP].src}"


@case("ICMP-ECHO-MULTICAST-SOURCE", rfc=1122, section="3.2.2.6", level=MUST, layer=3, needs=("sysctl",))
def test_reply_to_multicast_echo_comes_from_unicast_address(lan):
    """A reply to an Echo Request sent to a multicast group has the SUT's own unicast address as its source.

    The request goes to 224.0.0.1 (all hosts). Precondition:
    net.ipv4.icmp_echo_ignore_broadcasts=0, which also governs multicast echoes on Linux.
    """
    lan.control.set_sysctl("net.ipv4.icmp_echo_ignore_broadcasts", 0)
    ident = next_ident()
    reply = lan.tester.exchange(
        echo_request(lan.tester.mac, mac_for_multicast("224.0.0.1"), lan.tester.ip, "224.0.0.1", ident=ident, ttl=1),
        expect=like(ip_like(dst=lan.tester.ip) / ICMP(type="echo-reply", id=ident)),
    )
    assert reply[IP].src == lan.sut.ip, f"the reply's source must be the SUT's address {lan.sut.ip}, it was {reply[IP].src}"


@case("ICMP-ECHO-RECORD-ROUTE", title="Echo Record Route option is returned updated", rfc=1122, section="3.2.2.6", level=SHOULD, layer=3,
      optional="the IP Record Route option (RFC 1122 3.2.1.8 (d): its processing is optional)")
def test_echo_record_route_option_is_returned_updated(lan):
    """A Record Route option in an Echo Request is updated with the SUT's address and returned in the Echo Reply.

    The request carries a Record Route option with room for three addresses and none used;
    the reply must carry a Record Route option that includes the SUT's address. Processing
    Record Route is optional for a host (RFC 1122 3.2.1.8 (d)), and an option a layer does not
    understand it silently ignores (3.2.1.8). A SUT that does not implement it either answers
    without the option or returns it exactly as it came, unprocessed (its pointer still at the
    first free slot, nothing recorded: a stack that builds the reply from the request's own
    header carries it back untouched): NOT-IMPLEMENTED. A reply whose option was processed (its
    pointer moved, or addresses written in it) without the SUT's address FAILS.
    """
    ident = next_ident()
    rr = IPOption_RR(pointer=4, routers=["0.0.0.0"] * 3)
    reply = lan.tester.exchange(
        echo_request(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, ident=ident, options=[rr]),
        expect=echo_reply_to(lan.sut.ip, lan.tester.ip, ident),
    )
    options = [o for o in reply[IP].options if isinstance(o, IPOption_RR)]
    if not options:
        not_implemented(f"the Echo Reply carries no Record Route option (its options: {reply[IP].options!r}): "
                        "the SUT does not process Record Route")
    returned = options[0]
    if returned.pointer == rr.pointer and all(a == "0.0.0.0" for a in returned.routers):
        not_implemented("the Echo Reply carries the request's Record Route option unprocessed (pointer still 4, "
                        "no address recorded): the SUT ignores the option, which RFC 1122 3.2.1.8 (d) makes optional")
    recorded = returned.routers[: max(0, (returned.pointer - 4) // 4)]
    assert lan.sut.ip in recorded, f"the returned Record Route must include the SUT's address {lan.sut.ip}; it recorded {recorded}"


@case("ICMP-ECHO-SOURCE-ROUTE-REVERSED", rfc=1122, section="3.2.2.6", level=MUST, layer=3, needs=("sysctl",))
def test_echo_reply_reverses_source_route(lan):
    """A source route received in an Echo Request is reversed and used as a source route option for the Echo Reply.

    The request arrives with a completed Loose Source Route that went through 198.18.0.50
    (pointer past the end). The reply must go back the same way: IP destination 198.18.0.50,
    with a Loose Source Route whose remaining hop is the requester 198.18.0.2. Precondition:
    net.ipv4.conf.all.accept_source_route=1, so that the SUT accepts source-routed datagrams
    at all (whether it must by default is an IPv4-options case).
    """
    lan.control.set_sysctl("net.ipv4.conf.all.accept_source_route", 1)
    lan.control.set_sysctl(f"net.ipv4.conf.{lan.sut.ifname}.accept_source_route", 1)
    hop, hop_mac = "198.18.0.50", "02:00:00:00:00:50"
    lan.tester.claims[hop] = hop_mac
    ident = next_ident()
    lsrr = IPOption_LSRR(pointer=8, routers=[hop])
    reply = lan.tester.exchange(
        echo_request(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, ident=ident, options=[lsrr]),
        expect=like(ip_like(src=lan.sut.ip) / ICMP(type="echo-reply", id=ident)),
    )
    assert reply[IP].dst == hop, (
        f"the reply must be source routed back through {hop}, its IP destination; it was sent to {reply[IP].dst}"
    )
    routes = [o for o in reply[IP].options if isinstance(o, IPOption_LSRR)]
    assert routes, f"the reply must carry a Loose Source Route option; its options were {reply[IP].options!r}"
    assert routes[0].routers and routes[0].routers[-1] == lan.tester.ip, (
        f"the reversed route must end at the requester {lan.tester.ip}; it listed {routes[0].routers}"
    )
    assert reply[Ether].dst == hop_mac, "the reply must be sent to the first hop of the reversed route"
