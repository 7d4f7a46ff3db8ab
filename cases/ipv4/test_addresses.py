"""Source and destination addresses of received datagrams (RFC 1122 3.2.1.3, 3.3.6; RFC 3021 3.1).

Sources {0,0} and {0,Host-number} are not judged on receive: RFC 1122 3.2.1.3 (a) and (b) let a
host send them "as a source address as part of an initialization procedure", which a receiver
cannot tell from any other use, so they are not "invalid by the rules of this section" and the
discard rule does not reach them (the cases IP4-SRC-ZERO and IP4-SRC-ZERO-NETWORK that demanded
it were withdrawn).
"""

import socket

import pytest
from scapy.layers.inet import UDP

from cases.ipv4.frames import (
    BROADCAST_MAC,
    SUT_PORT,
    TESTER_PORT,
    ether,
    ip_like,
    not_delivered,
    udp_datagram,
)
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like
from conformance.verdict import Inconclusive

DISCARD = "RFC 1122 3.2.1.3: a host MUST silently discard an incoming datagram whose source address is invalid"


def invalid_source_is_discarded(lan, source: str, form: str) -> None:
    sock = lan.app.udp(SUT_PORT)
    lan.tester.send(ether(lan, udp_datagram(lan, f"from {source}".encode(), src=source)))
    not_delivered(lan, sock, f"{DISCARD} ({source} is {form})")


@case("IP4-SRC-LIMITED-BROADCAST", rfc=1122, section="3.2.1.3", level=MUST, layer=3, needs=("sockets",))
def test_source_limited_broadcast_is_discarded(lan):
    """A datagram with source 255.255.255.255 is silently discarded.

    3.2.1.3 (c): the limited broadcast address "MUST NOT be used as a source address".
    """
    invalid_source_is_discarded(lan, "255.255.255.255", "the limited broadcast address")


@case("IP4-SRC-DIRECTED-BROADCAST", rfc=1122, section="3.2.1.3", level=MUST, layer=3, needs=("sockets",))
def test_source_subnet_directed_broadcast_is_discarded(lan):
    """A datagram whose source is the directed broadcast address of the SUT's subnet is silently discarded.

    3.2.1.3 (e): {Net, Subnet, -1} "MUST NOT be used as a source address"; the source is
    198.18.0.255, the broadcast address of the SUT's 198.18.0.0/24.
    """
    invalid_source_is_discarded(lan, "198.18.0.255", "the directed broadcast address of the SUT's subnet")


@case("IP4-SRC-MULTICAST", rfc=1122, section="3.2.1.3", level=MUST, layer=3, needs=("sockets",), also=(1112,))
def test_source_multicast_is_discarded(lan):
    """A datagram whose source is a multicast (class D) address is silently discarded.

    3.2.1.3: a sent datagram's source "MUST be one of its own IP addresses (but not a broadcast
    or multicast address)", which makes a multicast source invalid by the rules of the section.
    """
    invalid_source_is_discarded(lan, "239.1.2.3", "a multicast address")


@case("IP4-SRC-LOOPBACK", rfc=1122, section="3.2.1.3", level=MUST, layer=3, needs=("sockets",))
def test_source_loopback_from_the_wire_is_discarded(lan):
    """A datagram from the wire with a loopback source (127.0.0.1) is silently discarded.

    3.2.1.3 (g): addresses of the form {127, any} "MUST NOT appear outside a host", so one
    arriving on an interface is invalid.
    """
    invalid_source_is_discarded(lan, "127.0.0.1", "a loopback address seen outside its host")


@case("IP4-DST-OTHER-HOST", rfc=1122, section="3.2.1.3", level=MUST, layer=3, needs=("sockets",))
def test_datagram_for_another_host_is_silently_discarded(lan):
    """A host silently discards a datagram that is not destined for it, even when the frame is sent to its MAC.

    A UDP datagram to 198.18.0.77 (another host on the segment, whose ARP the tester answers)
    is put in a frame to the SUT's MAC. A host (forwarding off) must not pass it on to
    198.18.0.77, must send no ICMP about it and must not deliver it to its wildcard-bound
    socket, which is shown to receive a valid datagram to the SUT's address sent after it.
    """
    other = "198.18.0.77"
    lan.tester.claims[other] = "02:00:00:00:00:77"
    sock = lan.app.udp_at("0.0.0.0", SUT_PORT)
    lan.tester.send(ether(lan, udp_datagram(lan, b"not for the SUT", dst=other)))
    lan.tester.expect_none(like(ip_like(dst=other) / UDP(dport=SUT_PORT),
                                name=f"the datagram passed on to {other} (a host does not forward)"))
    not_delivered(lan, sock, f"RFC 1122 3.2.1.3: a host MUST silently discard a datagram to {other}, not its address")


def broadcast_is_delivered(lan, destination: str, requirement: str) -> None:
    sock = lan.app.udp_at("0.0.0.0", SUT_PORT)
    data = f"to {destination}".encode()
    lan.tester.send(ether(lan, udp_datagram(lan, data, dst=destination), dst_mac=BROADCAST_MAC))
    # Delivery to a socket happens on receipt: once the SUT has answered a fence sent after the
    # datagram, a datagram it accepted is in the socket.
    try:
        got = sock.recv(timeout=0)
    except TimeoutError:
        lan.tester.handled()
        try:
            got = sock.recv(timeout=0)
        except TimeoutError:
            raise AssertionError(f"{requirement}; a UDP datagram to {destination} did not reach the SUT's wildcard "
                                 "socket before the SUT answered a fence sent after it") from None
    assert got == data, f"the socket must receive the broadcast datagram's data {data!r}, it received {got!r}"


@case("IP4-DST-DIRECTED-BROADCAST", rfc=1122, section="3.2.1.3", level=MUST, layer=3, needs=("sockets",))
def test_datagram_to_subnet_broadcast_is_accepted(lan):
    """A datagram to the directed broadcast address of the SUT's subnet is destined for the SUT and accepted.

    3.2.1.3: an incoming datagram is destined for the host if its destination is "an IP
    broadcast address valid for the connected network"; 198.18.0.255 is that of 198.18.0.0/24.
    """
    broadcast_is_delivered(lan, "198.18.0.255", "RFC 1122 3.2.1.3: the subnet's broadcast address is destined for the host")


@case("IP4-DST-LIMITED-BROADCAST", rfc=1122, section="3.2.1.3", level=MUST, layer=3, needs=("sockets",))
def test_datagram_to_limited_broadcast_is_accepted(lan):
    """A datagram to the limited broadcast address 255.255.255.255 is destined for the SUT and accepted."""
    broadcast_is_delivered(lan, "255.255.255.255", "RFC 1122 3.2.1.3: the limited broadcast address is destined for every host")


@case("IP4-DST-ZERO-SUBNET-BROADCAST", rfc=3021, section="3.1", level=SHOULD, layer=3, needs=("sockets",), also=(1122,))
def test_datagram_to_zero_form_subnet_address_is_discarded(lan):
    """A datagram to the subnetwork number {Net, Subnet, 0} (the obsolete all-zeros broadcast form) is silently discarded.

    RFC 1122 3.3.6 once asked hosts to accept 0 substituted for -1 in broadcast addresses. RFC
    3021 3.1 updates RFC 1122 3.2.1.3 with a rule (h) for exactly this form: "{ <Network-number>,
    <Subnet-number>, 0 } Subnetwork number. ... For other types of links [than a point-to-point
    link with a 31-bit mask], a packet with such a destination SHOULD be silently discarded. If
    these packets are not silently discarded, they MUST be treated as IP broadcasts". The later
    RFC decides: on the SUT's 198.18.0.0/24 a UDP datagram to 198.18.0.0, in a link-layer
    broadcast frame, must not reach its wildcard socket and must draw no ICMP message.

    Positive control: the same datagram to the subnet's broadcast address 198.18.0.255 reaches
    the same socket first, or the silence proves nothing (INCONCLUSIVE).
    """
    sock = lan.app.udp_at("0.0.0.0", SUT_PORT)
    lan.tester.send(ether(lan, udp_datagram(lan, b"to 198.18.0.255", dst="198.18.0.255"), dst_mac=BROADCAST_MAC))
    try:
        got = sock.recv(timeout=1.0)
    except TimeoutError:
        got = b""
    if got != b"to 198.18.0.255":
        raise Inconclusive("positive control failed: a datagram to the subnet broadcast 198.18.0.255 did not reach the "
                           f"SUT's wildcard socket (it read {got!r}), so its silence for 198.18.0.0 proves nothing")
    lan.tester.send(ether(lan, udp_datagram(lan, b"to 198.18.0.0", dst="198.18.0.0"), dst_mac=BROADCAST_MAC))
    not_delivered(lan, sock, "RFC 3021 3.1 (h): a datagram to the subnetwork number 198.18.0.0 SHOULD be silently discarded")


@case("IP4-DST-ZERO-LIMITED-BROADCAST", rfc=1122, section="3.3.6", level=SHOULD, layer=3, needs=("sockets",))
def test_datagram_to_obsolete_zero_form_limited_broadcast_is_accepted(lan):
    """A datagram to 0.0.0.0, the non-standard all-zeros form of the limited broadcast address, is accepted.

    3.3.6: hosts SHOULD accept as a destination the non-standard broadcast forms that
    substitute 0 for -1; for the limited broadcast {-1,-1} that form is {0,0}, 0.0.0.0.
    """
    broadcast_is_delivered(lan, "0.0.0.0", "RFC 1122 3.3.6: the 0 form of the limited broadcast SHOULD be accepted")


@case("IP4-TTL-LOW-ACCEPTED", title="Datagram with a TTL below two is accepted", rfc=1122, section="3.2.1.7", level=MUST, layer=3, needs=("sockets",))
@pytest.mark.parametrize("ttl", [0, 1])
def test_datagram_with_ttl_below_two_is_accepted(lan, ttl):
    """A host does not discard a datagram addressed to it just because it arrived with a TTL below 2.

    "A host MUST NOT discard a datagram just because it was received with TTL less than 2":
    a UDP datagram with TTL 0, and one with TTL 1, must reach the SUT's open socket.
    """
    sock = lan.app.udp(SUT_PORT)
    data = f"ttl {ttl}".encode()
    lan.tester.send(ether(lan, udp_datagram(lan, data, ttl=ttl)))
    try:
        got = sock.recv(timeout=1.0)
    except TimeoutError:
        raise AssertionError(f"RFC 1122 3.2.1.7: a datagram received with TTL {ttl} MUST NOT be discarded for it; nothing reached the socket") from None
    assert got == data, f"the socket must receive {data!r}, it received {got!r}"


@case("IP4-SRC-OWN-ON-SEND", rfc=1122, section="3.2.1.3", level=MUST, layer=3, needs=("sockets",))
def test_sent_broadcast_datagram_carries_own_source_address(lan):
    """A datagram the SUT sends carries one of its own addresses as source, never a broadcast address, even when sent to a broadcast address.

    A UDP socket bound to the wildcard address with SO_BROADCAST sends to the subnet broadcast
    198.18.0.255; the datagram on the wire must have the SUT's 198.18.0.1 as source.
    """
    sock = lan.app.udp_at("0.0.0.0", SUT_PORT, options={(socket.SOL_SOCKET, socket.SO_BROADCAST): 1})
    sock.sendto(b"broadcast from the SUT", ("198.18.0.255", TESTER_PORT))
    sent = lan.tester.expect(like(ip_like(dst="198.18.0.255") / UDP(dport=TESTER_PORT), name="the SUT's broadcast datagram"))
    assert sent["IP"].src == lan.sut.ip, (
        f"RFC 1122 3.2.1.3: the source MUST be one of the host's own addresses ({lan.sut.ip}), it was {sent['IP'].src}"
    )


GROUP, GROUP_MAC = "239.1.1.1", "01:00:5e:01:01:01"
ALL_HOSTS, ALL_HOSTS_MAC = "224.0.0.1", "01:00:5e:00:00:01"


@case("IP4-DST-MULTICAST-MEMBER", rfc=1122, section="3.2.1.3", level=MUST, layer=3, needs=("sockets",), also=(1112,))
def test_datagram_to_joined_group_is_accepted(lan):
    """A datagram to a multicast group the SUT has joined on the receiving interface is destined for it and accepted.

    3.2.1.3: a datagram is destined for the host if its destination is "the address of a host
    group of which the host is a member on the incoming physical interface". A SUT socket joins
    239.1.1.1 on its interface; a UDP datagram to that group must reach it.
    """
    sock = lan.app.udp_at("0.0.0.0", SUT_PORT)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(GROUP) + socket.inet_aton(lan.sut.ip))
    lan.tester.send(ether(lan, udp_datagram(lan, b"to the group", dst=GROUP, ttl=1), dst_mac=GROUP_MAC))
    try:
        got = sock.recv(timeout=1.0)
    except TimeoutError:
        raise AssertionError(f"RFC 1122 3.2.1.3: a datagram to the joined group {GROUP} is destined for the host; nothing reached the socket") from None
    assert got == b"to the group", f"the socket must receive the group datagram's data, it received {got!r}"


@case("IP4-DST-MULTICAST-NOT-MEMBER", rfc=1122, section="3.2.1.3", level=MUST, layer=3, needs=("sockets",), also=(1112,))
def test_datagram_to_group_not_joined_is_discarded(lan):
    """A datagram to a multicast group the SUT has not joined is not destined for it and is silently discarded.

    A UDP socket bound to the wildcard address on the port, member of no group, must not
    receive a datagram sent to 239.1.1.1 (in a frame to the group's MAC), and no ICMP may
    come back. The same socket must then receive a datagram to the all-hosts group 224.0.0.1
    (in a frame to 01:00:5e:00:00:01), of which every multicast host is a member (RFC 1112
    7.2): multicast reception to that socket works, so the silence is the discard.
    """
    sock = lan.app.udp_at("0.0.0.0", SUT_PORT)
    lan.tester.send(ether(lan, udp_datagram(lan, b"to a group not joined", dst=GROUP, ttl=1), dst_mac=GROUP_MAC))
    not_delivered(lan, sock, f"RFC 1122 3.2.1.3: a host MUST silently discard a datagram to {GROUP}, a group it is not a member of",
                  control_dst=ALL_HOSTS, control_mac=ALL_HOSTS_MAC)
