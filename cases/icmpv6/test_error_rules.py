"""What every ICMPv6 error message a node originates must respect (RFC 4443 2.2 and 2.4): its
source address, how much of the invoking packet it quotes, when none may be sent at all, and the
rate limit.

RFC 4443 2.4 (e): "An ICMPv6 error message MUST NOT be originated as a result of receiving" an
ICMPv6 error message (e.1), a Redirect (e.2), a packet to a multicast address (e.3) or sent as
a link-layer multicast (e.4) or broadcast (e.5), or a packet whose source does not identify a
single node (e.6); Packet Too Big and Parameter Problem code 2 for a 10-type option are the
exceptions (the ipv6 option cases judge the latter). Every silence here is checked against a
positive control: the same packet with only the forbidding property removed must draw the
error, or the case is INCONCLUSIVE.
"""

import time

from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6ND_Redirect, ICMPv6PacketTooBig, IPv6
from scapy.packet import Raw

from cases.ipv6.frames import (
    ALL_NODES,
    ALL_NODES_MAC,
    BROADCAST_MAC,
    CLOSED_PORT,
    Icmp6Error,
    answered,
    echo,
    next_ident,
    quote_of,
    time_exceeded,
    to_sut,
    udp,
)
from conformance.burst_counters import BurstCounters
from conformance.catalog import MUST, case
from conformance.match import Matcher, like
from conformance.verdict import Inconclusive

SECOND_ADDRESS = "2001:db8::11"
MIN_MTU = 1280


def port_unreachable(net) -> Matcher:
    return like(IPv6(dst=net.tester.ip6) / ICMPv6DestUnreach(code=4), name="Destination Unreachable code 4")


def draws_error(net, stimulus: bytes, matcher, what: str) -> None:
    """Positive control: `stimulus` (the silence case's packet with the forbidding property
    removed) draws the error, so the SUT's silence is the rule's doing, not a missing feature."""
    if net.tester.before_fence(matcher, stimulus=stimulus) is None:
        raise Inconclusive(f"control: {what} drew no {matcher.describe()} either, so the silence proves nothing")


@case("ICMP6-ERR-SOURCE", rfc=4443, section="2.2", level=MUST, layer=3, needs=("addresses",))
def test_error_comes_from_the_address_the_packet_was_sent_to(lan6):
    """An error about a packet sent to one of the node's unicast addresses comes from that address.

    RFC 4443 2.2 (a): "If the message is a response to a message sent to one of the node's
    unicast addresses, the Source Address of the reply MUST be that same address." The SUT gets a
    second address (2001:db8::11); a UDP datagram to a closed port there must draw its Port
    Unreachable from 2001:db8::11.
    """
    lan6.control.add_address(f"{SECOND_ADDRESS}/64", lan6.sut.ifname)
    got = answered(lan6, to_sut(lan6, udp(lan6, b"to the second address", dst=SECOND_ADDRESS, dport=CLOSED_PORT)),
                   port_unreachable(lan6), "a datagram to a closed port should draw Port Unreachable")
    assert got[IPv6].src == SECOND_ADDRESS, f"the error must come from {SECOND_ADDRESS}, the address the datagram went to; it came from {got[IPv6].src}"


@case("ICMP6-ERR-QUOTE-WHOLE", rfc=4443, section="2.4", level=MUST, layer=3)
def test_error_quotes_a_small_invoking_packet_entirely(lan6):
    """An error message about a packet that fits quotes all of it, as received.

    RFC 4443 2.4 (c): "Every ICMPv6 error message (type < 128) MUST include as much of the IPv6
    offending (invoking) packet ... as possible without making the error message packet exceed
    the minimum IPv6 MTU". A 300-octet datagram to a closed port: the Port Unreachable must
    carry all 300 octets.
    """
    packet = udp(lan6, bytes(range(252)), dport=CLOSED_PORT)
    got = answered(lan6, to_sut(lan6, packet), port_unreachable(lan6), "a datagram to a closed port should draw Port Unreachable")
    assert quote_of(got) == bytes(packet), f"the whole {len(bytes(packet))}-octet packet must be quoted; {len(quote_of(got))} octets were"


@case("ICMP6-ERR-QUOTE-MAXIMUM", title="Error about a large packet fills the minimum MTU", rfc=4443, section="2.4", level=MUST, layer=3)
def test_error_about_a_large_packet_fills_the_minimum_mtu(lan6):
    """An error message about a packet too large to quote whole quotes as much as fits in 1280 octets.

    RFC 4443 2.4 (c), as ICMP6-ERR-QUOTE-WHOLE: a 1400-octet datagram to a closed port; the Port
    Unreachable must be exactly 1280 octets (40 of IPv6 header, 8 of ICMPv6 header and the first
    1232 octets of the datagram), and never more.
    """
    packet = udp(lan6, bytes(1352), dport=CLOSED_PORT)
    assert len(bytes(packet)) == 1400
    got = answered(lan6, to_sut(lan6, packet), port_unreachable(lan6), "a datagram to a closed port should draw Port Unreachable")
    size = len(bytes(got[IPv6]))
    assert size == MIN_MTU, f"the error must fill the minimum MTU, 1280 octets, and not exceed it; it is {size} octets"
    assert quote_of(got) == bytes(packet)[:len(quote_of(got))], "the quoted part must be the datagram as it was received"


@case("ICMP6-NOERR-ERROR", title="No error about an ICMPv6 error", rfc=4443, section="2.4", level=MUST, layer=3)
def test_no_error_about_an_icmpv6_error(routed6):
    """No ICMPv6 error is sent about an ICMPv6 error message.

    RFC 4443 2.4 (e.1). A Destination Unreachable message from the tester to the far host with
    Hop Limit 1 reaches the router, which must not answer it with Time Exceeded. Control: an
    Echo Request with Hop Limit 1 draws Time Exceeded.
    """
    quoted = bytes(IPv6(src=routed6.far.ip6, dst=routed6.tester.ip6) / Raw(bytes(8)))
    error = IPv6(src=routed6.tester.ip6, dst=routed6.far.ip6, hlim=1) / ICMPv6DestUnreach(code=4) / Raw(quoted)
    routed6.tester.send(to_sut(routed6, error))
    routed6.tester.expect_none(time_exceeded(routed6, 0))
    draws_error(routed6, to_sut(routed6, echo(routed6, next_ident(), dst=routed6.far.ip6, hlim=1)),
                time_exceeded(routed6, 0), "an Echo Request with Hop Limit 1")


@case("ICMP6-NOERR-REDIRECT", rfc=4443, section="2.4", level=MUST, layer=3)
def test_no_error_about_a_redirect(routed6):
    """No ICMPv6 error is sent about a Redirect message.

    RFC 4443 2.4 (e.2). A Redirect from the tester to the far host with Hop Limit 1 reaches the
    router, which must not answer it with Time Exceeded. Control: an Echo Request with Hop
    Limit 1 draws Time Exceeded.
    """
    redirect = (IPv6(src=routed6.tester.ip6, dst=routed6.far.ip6, hlim=1)
                / ICMPv6ND_Redirect(tgt="2001:db8:2::5", dst="2001:db8:2::6"))
    routed6.tester.send(to_sut(routed6, redirect))
    routed6.tester.expect_none(time_exceeded(routed6, 0))
    draws_error(routed6, to_sut(routed6, echo(routed6, next_ident(), dst=routed6.far.ip6, hlim=1)),
                time_exceeded(routed6, 0), "an Echo Request with Hop Limit 1")


def any_unreachable(why: str) -> Icmp6Error:
    return Icmp6Error(None, (1,), why)


@case("ICMP6-NOERR-MULTICAST-DST", rfc=4443, section="2.4", level=MUST, layer=3)
def test_no_error_about_a_packet_to_a_multicast_address(lan6):
    """No ICMPv6 error is sent about a packet sent to a multicast address.

    RFC 4443 2.4 (e.3). A UDP datagram to a closed port at ff02::1 must not draw Port
    Unreachable. Control: the same datagram to the SUT's unicast address does.
    """
    lan6.tester.send(to_sut(lan6, udp(lan6, b"to all nodes", dst=ALL_NODES, dport=CLOSED_PORT), dst_mac=ALL_NODES_MAC))
    lan6.tester.expect_none(any_unreachable("about a datagram to ff02::1"))
    draws_error(lan6, to_sut(lan6, udp(lan6, b"to the SUT", dport=CLOSED_PORT)), port_unreachable(lan6),
                "the datagram to the SUT's unicast address")


@case("ICMP6-NOERR-LINK-MULTICAST", rfc=4443, section="2.4", level=MUST, layer=3)
def test_no_error_about_a_packet_sent_as_link_layer_multicast(lan6):
    """No ICMPv6 error is sent about a packet that arrived as a link-layer multicast.

    RFC 4443 2.4 (e.4). A UDP datagram to a closed port at the SUT's unicast address, in a frame
    to 33:33:00:00:00:01, must not draw Port Unreachable. Control: the same datagram in a frame
    to the SUT's MAC does.
    """
    packet = udp(lan6, b"link-layer multicast", dport=CLOSED_PORT)
    lan6.tester.send(to_sut(lan6, packet, dst_mac=ALL_NODES_MAC))
    lan6.tester.expect_none(any_unreachable("about a link-layer multicast frame"))
    draws_error(lan6, to_sut(lan6, packet), port_unreachable(lan6), "the datagram in a frame to the SUT's MAC")


@case("ICMP6-NOERR-LINK-BROADCAST", rfc=4443, section="2.4", level=MUST, layer=3)
def test_no_error_about_a_packet_sent_as_link_layer_broadcast(lan6):
    """No ICMPv6 error is sent about a packet that arrived as a link-layer broadcast.

    RFC 4443 2.4 (e.5), as ICMP6-NOERR-LINK-MULTICAST with a frame to ff:ff:ff:ff:ff:ff.
    """
    packet = udp(lan6, b"link-layer broadcast", dport=CLOSED_PORT)
    lan6.tester.send(to_sut(lan6, packet, dst_mac=BROADCAST_MAC))
    lan6.tester.expect_none(any_unreachable("about a link-layer broadcast frame"))
    draws_error(lan6, to_sut(lan6, packet), port_unreachable(lan6), "the datagram in a frame to the SUT's MAC")


@case("ICMP6-NOERR-SRC-UNSPECIFIED", rfc=4443, section="2.4", level=MUST, layer=3)
def test_no_error_about_a_packet_from_the_unspecified_address(lan6):
    """No ICMPv6 error is sent about a packet whose source is the unspecified address.

    RFC 4443 2.4 (e.6): a packet "whose source address does not uniquely identify a single node
    -- e.g., the IPv6 Unspecified Address". A UDP datagram from :: to a closed port must draw
    no Destination Unreachable. Control: the same from the tester's address does.
    """
    lan6.tester.send(to_sut(lan6, udp(lan6, b"from ::", src="::", dport=CLOSED_PORT)))
    lan6.tester.expect_none(any_unreachable("about a datagram from ::"))
    draws_error(lan6, to_sut(lan6, udp(lan6, b"from the tester", dport=CLOSED_PORT)), port_unreachable(lan6),
                "the datagram from the tester's address")


@case("ICMP6-NOERR-SRC-MULTICAST", rfc=4443, section="2.4", level=MUST, layer=3)
def test_no_error_about_a_packet_from_a_multicast_address(lan6):
    """No ICMPv6 error is sent about a packet whose source is a multicast address.

    RFC 4443 2.4 (e.6): "an IPv6 multicast address". A UDP datagram from ff02::1 to a closed
    port must draw no Destination Unreachable (to anyone). Control: as ICMP6-NOERR-SRC-UNSPECIFIED.
    """
    lan6.tester.send(to_sut(lan6, udp(lan6, b"from ff02::1", src=ALL_NODES, dport=CLOSED_PORT)))
    lan6.tester.expect_none(any_unreachable("about a datagram from ff02::1"))
    draws_error(lan6, to_sut(lan6, udp(lan6, b"from the tester", dport=CLOSED_PORT)), port_unreachable(lan6),
                "the datagram from the tester's address")


TRIGGERS = 100


def burst(net, stimuli: list[bytes], matcher, received: str, answered: str, gap_s: float = 0.0) -> int:
    """Send the stimuli (`gap_s` apart; back to back by default), then the fence; how many frames
    like `matcher` came before the fence's answer (INCONCLUSIVE when the SUT's own counters,
    `received` for the stimuli and `answered` for the answers, show that some were lost on the way)."""
    counters = BurstCounters(net.control, ("snmp6", received), ("snmp6", answered), ("snmp6", "Icmp6.OutErrors"))
    mark = len(net.tester.capture.frames)
    for s in stimuli:
        net.tester.send(s)
        if gap_s:
            time.sleep(gap_s)
    try:
        net.tester.sync()
    finally:  # also when the fence went unanswered: the counters may say why (no buffer to answer it)
        got = sum(1 for f in net.tester.capture.frames[mark:] if f.direction == "in" and f.note == "" and matcher(f.packet))
        counters.check(len(stimuli), "packets of the burst", got, f"answers ({matcher.name})")
    return got


@case("ICMP6-RATE-LIMIT", rfc=4443, section="2.4", level=MUST, layer=3)
def test_error_messages_are_rate_limited(lan6):
    """A node limits the rate of the ICMPv6 error messages it originates.

    RFC 4443 2.4 (f): "an IPv6 node MUST limit the rate of ICMPv6 error messages it originates",
    with a conservative default ("e.g., T = 1 second, NOT 0 seconds, or B = 10 messages, NOT 0
    messages"). The SUT is judged with its own limits: 100 UDP datagrams to a closed port are
    sent back to back (a few milliseconds); fewer than 100 Port Unreachables may come back, and
    at least one (a limit that lets none through is not the conservative default 2.4 asks for;
    a SUT that sends no Port Unreachable at all is INCONCLUSIVE, as that message is a SHOULD).
    Udp6.NoPorts and Icmp6.OutDestUnreachs, where the SUT offers them, must show no loss on the
    way in or out (else INCONCLUSIVE).
    """
    stimuli = [to_sut(lan6, udp(lan6, b"rate %d" % i, dport=CLOSED_PORT, sport=20000 + i)) for i in range(TRIGGERS)]
    count = burst(lan6, stimuli, port_unreachable(lan6), "Udp6.NoPorts", "Icmp6.OutDestUnreachs")
    if count == 0:
        raise Inconclusive("the SUT sent no Port Unreachable at all, so its rate limit cannot be seen")
    assert count < TRIGGERS, f"all {TRIGGERS} datagrams sent within a few milliseconds drew a Port Unreachable: no limit held"


@case("ICMP6-RATE-LIMIT-PTB", rfc=4443, section="2.4", level=MUST, layer=3)
def test_packet_too_big_messages_are_rate_limited_too(pmtu_routed6):
    """A router limits the rate of the Packet Too Big messages it originates, as of every ICMPv6 error.

    RFC 4443 2.4 (f) makes no exception for Packet Too Big (the exceptions of 2.4 (e) concern
    whether to send one at all, not how often). 100 packets of 1400 octets to the far host, whose
    link has an MTU of 1280, are sent within about 0.1 s (1 ms apart: each draws a 1280-octet
    message, and a slow SUT sent them back to back fails to send some for want of buffer, which is
    no rate limit): fewer than 100 Packet Too Big messages may come back, and at least one. The router's counters, where it offers them, must show every
    packet reached its forwarding decision (Ip6.InTooBigErrors) and every message it sent reached
    the tester (Icmp6.OutPktTooBigs); a loss on the way is INCONCLUSIVE.
    """
    net = pmtu_routed6
    stimuli = [to_sut(net, udp(net, bytes(1352), dst=net.far.ip6, sport=20000 + i)) for i in range(TRIGGERS)]
    matcher = like(IPv6(dst=net.tester.ip6) / ICMPv6PacketTooBig(), name="a Packet Too Big")
    count = burst(net, stimuli, matcher, "Ip6.InTooBigErrors", "Icmp6.OutPktTooBigs", gap_s=0.001)
    if count == 0:
        raise Inconclusive("the router sent no Packet Too Big at all (PMTU6-ROUTER-PTB), so its rate limit cannot be seen")
    assert count < TRIGGERS, f"all {TRIGGERS} packets sent within about 0.1 s drew a Packet Too Big: no limit held"
