"""ICMPv6 Echo (RFC 4443 4.1, 4.2) and the ICMPv6 checksum (RFC 4443 2.3).

RFC 4443 4.2: "Every node MUST implement an ICMPv6 Echo responder function that receives Echo
Requests and originates corresponding Echo Replies."
"""

from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6, IPv6ExtHdrFragment

from cases.ipv6.frames import (
    ALL_NODES,
    ALL_NODES_MAC,
    NH_ICMPV6,
    answered,
    any_echo_reply,
    checksum,
    counter_delta,
    echo,
    echo_data,
    echo_message,
    echo_reply,
    fragments,
    next_ident,
    packet_bytes,
    to_sut,
)
from cases.ipv6.test_extension_headers import valid_echo_fence
from cases.ipv6.test_fragments import complete
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like
from conformance.verdict import Inconclusive

SECOND_ADDRESS = "2001:db8::11"


@case("ICMP6-ECHO-REPLY", rfc=4443, section="4.2", level=MUST, layer=3)
def test_echo_request_is_answered_with_its_identifier_sequence_and_data(lan6):
    """An Echo Request is answered by an Echo Reply with the request's Identifier, Sequence Number and data, returned entirely and unmodified.

    RFC 4443 4.2: the Identifier and Sequence Number are those of the invoking request, and "the
    data received in the ICMPv6 Echo Request message MUST be returned entirely and unmodified".
    """
    ident = next_ident()
    data = echo_data(200, ident)
    reply = lan6.tester.exchange(to_sut(lan6, echo(lan6, ident, data, seq=0x1234)), expect=echo_reply(lan6, ident))
    assert reply[ICMPv6EchoReply].seq == 0x1234, f"the Sequence Number must be the request's 0x1234, not {reply[ICMPv6EchoReply].seq:#x}"
    assert reply[ICMPv6EchoReply].data == data, "the reply must return the request's 200 octets of data unmodified"


@case("ICMP6-ECHO-SOURCE", rfc=4443, section="4.2", level=MUST, layer=3, needs=("addresses",))
def test_echo_reply_comes_from_the_address_the_request_was_sent_to(lan6):
    """The source of an Echo Reply to a unicast Echo Request is the address the request was sent to.

    RFC 4443 4.2: "The source address of an Echo Reply sent in response to a unicast Echo Request
    message MUST be the same as the destination address of that Echo Request message." The SUT
    gets a second address on its link (2001:db8::11); a request to it and one to its link-local
    address must be answered from those addresses.
    """
    lan6.control.add_address(f"{SECOND_ADDRESS}/64", lan6.sut.ifname)
    for dst, src in ((SECOND_ADDRESS, lan6.tester.ip6), (lan6.sut.ll, lan6.tester_ll)):
        if dst is None:
            raise Inconclusive("the SUT's link-local address is not known")
        ident = next_ident()
        reply = lan6.tester.exchange(to_sut(lan6, echo(lan6, ident, src=src, dst=dst)),
                                     expect=like(IPv6(dst=src) / ICMPv6EchoReply(id=ident), name=f"the echo reply id={ident:#x}"))
        assert reply[IPv6].src == dst, f"the reply to a request sent to {dst} must come from {dst}, not {reply[IPv6].src}"


@case("ICMP6-ECHO-MULTICAST", rfc=4443, section="4.2", level=SHOULD, layer=3)
def test_echo_request_to_all_nodes_is_answered(lan6):
    """An Echo Request sent to a multicast address the node listens to is answered.

    RFC 4443 4.2: "An Echo Reply SHOULD be sent in response to an Echo Request message sent to an
    IPv6 multicast or anycast address." A request to ff02::1 (all nodes).
    """
    ident = next_ident()
    frame = to_sut(lan6, echo(lan6, ident, dst=ALL_NODES), dst_mac=ALL_NODES_MAC)
    answered(lan6, frame, any_echo_reply(ident), "an Echo Request to ff02::1 should be answered")


@case("ICMP6-ECHO-MULTICAST-SOURCE", rfc=4443, section="4.2", level=MUST, layer=3)
def test_reply_to_a_multicast_echo_comes_from_a_unicast_address_of_the_interface(lan6):
    """The reply to an Echo Request sent to a multicast address comes from a unicast address of the interface it arrived on.

    RFC 4443 4.2: "the source address of the reply MUST be a unicast address belonging to the
    interface on which the Echo Request message was received." The request goes to ff02::1; the
    reply must come from the SUT's global or link-local address on that link. (A SUT that does
    not answer such requests, which is a SHOULD, leaves this case INCONCLUSIVE.)
    """
    ident = next_ident()
    frame = to_sut(lan6, echo(lan6, ident, dst=ALL_NODES), dst_mac=ALL_NODES_MAC)
    reply = lan6.tester.before_fence(any_echo_reply(ident), stimulus=frame)
    if reply is None:
        raise Inconclusive("the SUT did not answer an Echo Request to ff02::1 (ICMP6-ECHO-MULTICAST), so the source of its reply cannot be judged")
    ours = {lan6.sut.ip, lan6.sut.ll}
    assert reply[IPv6].src in ours, f"the reply must come from a unicast address of the interface ({sorted(a for a in ours if a)}), not {reply[IPv6].src}"


@case("ICMP6-ECHO-LARGE", title="Echo data larger than the MTU is returned entirely", rfc=4443, section="4.2", level=MUST, layer=3)
def test_echo_data_larger_than_the_mtu_is_returned_entirely(lan6):
    """The data of an Echo Request larger than the link MTU is returned entirely, in a fragmented Echo Reply.

    RFC 4443 4.2: the data "MUST be returned entirely and unmodified"; "there is no limitation on
    the amount of data that can be put in Echo Request and Echo Reply Messages". An Echo Request
    with 3000 octets of data, in three fragments; the SUT's reply, fragmented by the SUT, must
    reassemble to an Echo Reply carrying the 3000 octets.
    """
    ident = next_ident()
    data = echo_data(3000, ident)
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, data)
    for piece in fragments(lan6, ident, NH_ICMPV6, message, [1448, 2896]):
        lan6.tester.send(to_sut(lan6, piece))
    first = lan6.tester.expect(like(IPv6(src=lan6.sut.ip, dst=lan6.tester.ip6) / IPv6ExtHdrFragment(offset=0),
                                    name="the first fragment of the Echo Reply"))
    fid = first[IPv6ExtHdrFragment].id
    pieces = [first]
    while not complete(pieces):
        pieces.append(lan6.tester.expect(like(IPv6ExtHdrFragment(id=fid), name="a further fragment of the Echo Reply")))
    whole = b"".join(bytes(p[IPv6ExtHdrFragment].payload) for p in sorted(pieces, key=lambda p: p[IPv6ExtHdrFragment].offset))
    reply = ICMPv6EchoReply(whole)
    assert reply.type == 129 and reply.id == ident, f"the fragments must reassemble to the Echo Reply id {ident:#x}"
    assert reply.data == data, f"the reply must carry the 3000 octets of data unmodified; it carried {len(reply.data)} octets"


@case("ICMP6-CHECKSUM-PSEUDO-HEADER", rfc=4443, section="2.3", level=MUST, layer=3, needs=("counters",), also=(8200,))
def test_echo_request_whose_checksum_leaves_out_the_pseudo_header_is_discarded(lan6):
    """An ICMPv6 message whose checksum does not cover the IPv6 pseudo-header is refused as corrupt.

    RFC 4443 2.3: the checksum covers the entire ICMPv6 message "prepended with a 'pseudo-header'
    of IPv6 header fields" (RFC 8200 8.1), Next Header 58. An Echo Request whose checksum is
    computed over the message alone, as ICMP for IPv4 would, is not the message that was sent
    and must not be answered; the SUT's Icmp6.InCsumErrors must count it, or the silence is not
    shown to be the checksum's doing (INCONCLUSIVE).
    """
    ident = next_ident()
    body = bytearray(bytes(ICMPv6EchoRequest(id=ident, seq=1, data=b"no pseudo-header", cksum=0)))
    body[2:4] = checksum(bytes(body)).to_bytes(2, "big")
    before = lan6.control.counters("snmp6")
    lan6.tester.send(to_sut(lan6, packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_ICMPV6, bytes(body))))
    lan6.tester.expect_none(any_echo_reply(ident), fence=valid_echo_fence(lan6))
    if counter_delta(before, lan6.control.counters("snmp6"), "Icmp6.InCsumErrors") < 1:
        raise Inconclusive("the Echo Request was not answered, but Icmp6.InCsumErrors did not count it: the checksum "
                           "is not shown to be why")
