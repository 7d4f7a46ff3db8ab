"""The router's side of Path MTU Discovery (RFC 1191 section 4, RFC 792, RFC 791, RFC 1812 4.3.2.3).

Topology `pmtu_routed`: the router's far link has MTU 1280, its near link 1500. The tester
sends datagrams for the far host (198.18.2.2) that are larger than 1280 octets.

RFC 1191 section 4 says the router "is required to" return Fragmentation Needed (read as
MUST); RFC 791 predates requirement keywords, and the cases citing it read its description of
the DF flag and of fragmentation as MUST.
"""

from scapy.layers.inet import ICMP, IP, UDP
from scapy.packet import Raw

from cases.icmp.frames import ip_bytes, ip_like, next_ident, quoted, udp_datagram
from conformance.catalog import MUST, case
from conformance.match import like

DF = 2


def big_datagram(net, total: int, *, df: bool):
    """A UDP datagram of `total` octets from the tester to the far host, through the router."""
    data = bytes(i % 256 for i in range(total - 28))
    return udp_datagram(net.tester.mac, net.router_near.mac, net.tester.ip, net.far.ip, data=data,
                        flags=DF if df else 0, ident=next_ident())


def frag_needed(net):
    return like(ip_like(dst=net.tester.ip) / ICMP(type=3, code=4))


def far_sees(net, ident: int):
    return like(ip_like(src=net.tester.ip, dst=net.far.ip, id=ident))


@case("PMTU-FRAG-NEEDED", title="DF datagram too big is dropped with Fragmentation Needed", rfc=1191, section="4", level=MUST, layer=3, also=(792, 1812))
def test_df_datagram_too_big_is_dropped_with_fragmentation_needed(pmtu_routed):
    """A router that cannot forward a datagram with DF set because it exceeds the next hop's MTU discards it and returns Destination Unreachable, code 4 (fragmentation needed and DF set).

    A 1400-octet datagram with DF goes to a next hop of MTU 1280: the tester must get the
    ICMP message from the router's near address, and nothing must reach the far link.
    """
    net = pmtu_routed
    sent = big_datagram(net, 1400, df=True)
    error = net.tester.exchange(sent, expect=frag_needed(net))
    assert error[IP].src == net.router_near.ip, f"the message must come from the router ({net.router_near.ip}), it came from {error[IP].src}"
    net.far.expect_none(far_sees(net, sent[IP].id))


@case("PMTU-NEXT-HOP-MTU", title="Fragmentation Needed carries the next-hop MTU", rfc=1191, section="4", level=MUST, layer=3)
def test_fragmentation_needed_carries_next_hop_mtu(pmtu_routed):
    """The Fragmentation Needed message carries the MTU of the next-hop network in the low-order 16 bits of its second word."""
    net = pmtu_routed
    error = net.tester.exchange(big_datagram(net, 1400, df=True), expect=frag_needed(net))
    mtu = int.from_bytes(bytes(error[ICMP])[6:8], "big")
    assert mtu == net.far_mtu, f"the Next-Hop MTU field must be {net.far_mtu}, the far link's MTU; it was {mtu}"


@case("PMTU-UNUSED-ZERO", title="Fragmentation Needed has its unused high-order bits zero", rfc=1191, section="4", level=MUST, layer=3)
def test_fragmentation_needed_high_order_bits_zero(pmtu_routed):
    """The high-order 16 bits of the Fragmentation Needed message's second word are zero."""
    net = pmtu_routed
    error = net.tester.exchange(big_datagram(net, 1400, df=True), expect=frag_needed(net))
    high = bytes(error[ICMP])[4:6]
    assert high == b"\x00\x00", f"octets 4-5 of the ICMP header must be zero; they were {high.hex()}"


@case("PMTU-FRAG-NEEDED-QUOTE", title="Fragmentation Needed quotes the datagram as received", rfc=1812, section="4.3.2.3", level=MUST, layer=3, also=(1122,))
def test_fragmentation_needed_quotes_datagram_as_received(pmtu_routed):
    """The Fragmentation Needed message quotes the dropped datagram's header and data as received (the TTL may show the router's decrement).

    At least the 20-octet header and 8 data octets must be quoted; every quoted octet other
    than the TTL and header checksum must equal what was sent, and the TTL must be the sent
    value or one less.
    """
    net = pmtu_routed
    sent = big_datagram(net, 1400, df=True)
    error = net.tester.exchange(sent, expect=frag_needed(net))
    original, quote = ip_bytes(sent), quoted(error)
    assert len(quote) >= 28, f"the quote must hold the header and 8 data octets; it held {len(quote)}"
    ttl_sent, ttl_quoted = original[8], quote[8]
    assert ttl_quoted in (ttl_sent, ttl_sent - 1), f"the quoted TTL must be {ttl_sent} (or {ttl_sent - 1}); it was {ttl_quoted}"
    strip = lambda b: b[:8] + b[9:10] + b[12:]  # noqa: E731 - all but TTL and header checksum
    assert strip(quote) == strip(original[: len(quote)]), (
        f"the quoted datagram must be identical to the one received; sent {original[:28].hex()}, quoted {quote[:28].hex()}"
    )


@case("PMTU-EXACT-FIT-FORWARDED", title="DF datagram of exactly the next hop's MTU is forwarded whole", rfc=791, section="3.2", level=MUST, layer=3, also=(1812,))
def test_df_datagram_of_exactly_next_hop_mtu_is_forwarded_whole(pmtu_routed):
    """A datagram with DF set that is exactly as large as the next hop's MTU is forwarded whole, without an error.

    A 1280-octet datagram with DF must reach the far host unfragmented with its data intact.
    """
    net = pmtu_routed
    sent = big_datagram(net, net.far_mtu, df=True)
    net.tester.send(sent)
    got = net.far.expect(far_sees(net, sent[IP].id))
    assert got[IP].len == net.far_mtu and got[IP].frag == 0 and not got[IP].flags.MF, (
        f"the datagram must arrive whole ({net.far_mtu} octets, not a fragment); it arrived as "
        f"{got[IP].len} octets, offset {got[IP].frag * 8}, MF={int(got[IP].flags.MF)}"
    )
    assert bytes(got[UDP].payload)[: len(sent[Raw].load)] == sent[Raw].load, "the forwarded data must be unchanged"
    net.tester.expect_none(frag_needed(net))


@case("PMTU-NO-DF-FRAGMENTED", title="Datagram without DF is fragmented to the next hop's MTU", rfc=791, section="2.3", level=MUST, layer=3, also=(1812,))
def test_datagram_without_df_is_fragmented_to_next_hop_mtu(pmtu_routed):
    """A datagram without DF that exceeds the next hop's MTU is fragmented: each fragment fits the MTU, offsets are in 8-octet units, and the pieces carry the whole datagram.

    A 1400-octet datagram without DF goes to a next hop of MTU 1280; the far host must get
    fragments with the same identification that reassemble to the original data, and the
    tester no Fragmentation Needed.
    """
    net = pmtu_routed
    sent = big_datagram(net, 1400, df=False)
    ident = sent[IP].id
    net.tester.send(sent)
    pieces: dict[int, bytes] = {}
    total = None
    while total is None or sum(len(p) for p in pieces.values()) < total:
        frag = net.far.expect(far_sees(net, ident))[IP]
        assert frag.len <= net.far_mtu, f"every fragment must fit the next hop's MTU {net.far_mtu}; one was {frag.len} octets"
        body = bytes(frag.payload)[: frag.len - frag.ihl * 4]
        if frag.flags.MF:
            assert len(body) % 8 == 0, f"a fragment with more to follow must carry a multiple of 8 data octets; one carried {len(body)}"
        else:
            total = frag.frag * 8 + len(body)
        pieces[frag.frag * 8] = body
    assert len(pieces) >= 2, "a datagram larger than the MTU must arrive in more than one fragment"
    whole = b"".join(pieces[k] for k in sorted(pieces))
    assert whole == ip_bytes(sent)[20:], "the fragments must reassemble to the original datagram's data"
    net.tester.expect_none(frag_needed(net))
