"""Ports: demultiplexing, closed ports and the Port Unreachable they answer (RFC 768, RFC 1122
4.1.3.1 and 3.2.2).

RFC 768 predates RFC 2119 and has no requirement keywords; the cases that cite it read its
definitions of the header fields as MUST (a datagram is what its fields say it is).
"""

import pytest
from scapy.layers.inet import ICMP, IP, IPOption_Router_Alert

from cases.udp.delivery import counter_changes, establish_port_unreachable, held_before_fence, icmp_errors_sent
from cases.udp.frames import CLOSED_PORT, SUT_PORT, icmp_from_sut, to_sut
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like

SECOND_ADDRESS = "198.18.0.3"
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ALL_HOSTS, ALL_HOSTS_MAC = "224.0.0.1", "01:00:5e:00:00:01"


def port_unreachable(lan):
    return icmp_from_sut(lan, 3, 3, name="ICMP port unreachable from the SUT")


def any_unreachable(lan):
    return icmp_from_sut(lan, 3, name="any ICMP destination unreachable from the SUT")


@case("UDP-CLOSED-PORT-UNREACHABLE", rfc=1122, section="4.1.3.1", level=SHOULD, layer=4, needs=("counters",))
def test_closed_port_answers_port_unreachable(lan):
    """A datagram to a port with no application on it is answered with an ICMP Port Unreachable."""
    before = lan.control.counters("snmp")
    lan.tester.send(to_sut(lan, b"anyone there?", dport=CLOSED_PORT))
    lan.tester.expect(port_unreachable(lan))
    changes = counter_changes(before, lan.control.counters("snmp"))
    assert changes.get("Udp.NoPorts") == 1, f"the SUT must count the datagram as one for no port; Udp counters changed: {changes}"


@pytest.mark.parametrize("options", [[], [IPOption_Router_Alert()]], ids=["plain-header", "header-with-options"])
@case("UDP-UNREACHABLE-QUOTES-DATAGRAM", rfc=1122, section="3.2.2", level=MUST, layer=4, also=(792,))
def test_port_unreachable_quotes_header_and_eight_octets(lan, options):
    """The Port Unreachable carries the offending datagram's IP header (options included) and at least its first 8 data octets, unchanged."""
    frame = to_sut(lan, b"quote me, at least my UDP header", dport=CLOSED_PORT, ip={"options": options})
    sent = bytes(frame)[14:]
    header = (sent[0] & 0x0F) * 4
    reply = lan.tester.exchange(frame, expect=port_unreachable(lan))
    raw = bytes(reply)[14:]
    quote = raw[(raw[0] & 0x0F) * 4 + 8:]
    assert len(quote) >= header + 8, (
        f"RFC 1122 3.2.2: the quote must hold the {header}-octet IP header and at least 8 data octets; it held {len(quote)}"
    )
    assert quote[:header] == sent[:header], (
        f"RFC 1122 3.2.2: the quoted IP header MUST be unchanged from the received one; sent {sent[:header].hex()}, "
        f"quoted {quote[:header].hex()}"
    )
    assert quote[header : header + 8] == sent[header : header + 8], (
        f"RFC 1122 3.2.2: the first 8 data octets (the UDP header) MUST be quoted unchanged; sent "
        f"{sent[header : header + 8].hex()}, quoted {quote[header : header + 8].hex()}"
    )


def assert_no_unreachable(lan, frame, about: str) -> None:
    """Send `frame` (after showing the SUT does answer an ordinary closed-port datagram) and
    check that no ICMP error comes back, on the wire or in the SUT's own ICMP output count."""
    establish_port_unreachable(lan)
    before = icmp_errors_sent(lan.control)
    lan.tester.send(frame)
    lan.tester.expect_none(any_unreachable(lan))
    sent = icmp_errors_sent(lan.control) - before
    assert sent == 0, f"RFC 1122 3.2.2: no ICMP error may be sent about {about}; the SUT counted {sent} sent"


@case("UDP-NO-UNREACHABLE-LIMITED-BROADCAST", rfc=1122, section="3.2.2", level=MUST, layer=4, needs=("counters",))
def test_no_unreachable_for_limited_broadcast(lan):
    """A datagram to 255.255.255.255 and a closed port draws no ICMP error."""
    frame = to_sut(lan, b"broadcast", dport=CLOSED_PORT, ip_dst="255.255.255.255", eth_dst=BROADCAST_MAC)
    assert_no_unreachable(lan, frame, "a datagram to the limited broadcast address")


@case("UDP-NO-UNREACHABLE-SUBNET-BROADCAST", rfc=1122, section="3.2.2", level=MUST, layer=4, needs=("counters",))
def test_no_unreachable_for_subnet_broadcast(lan):
    """A datagram to the SUT's subnet broadcast address and a closed port draws no ICMP error."""
    frame = to_sut(lan, b"broadcast", dport=CLOSED_PORT, ip_dst="198.18.0.255", eth_dst=BROADCAST_MAC)
    assert_no_unreachable(lan, frame, "a datagram to the subnet broadcast address")


@case("UDP-NO-UNREACHABLE-MULTICAST", rfc=1122, section="3.2.2", level=MUST, layer=4, needs=("counters",))
def test_no_unreachable_for_multicast(lan):
    """A datagram to a multicast group the SUT belongs to (all-hosts) and a closed port draws no ICMP error."""
    frame = to_sut(lan, b"multicast", dport=CLOSED_PORT, ip_dst=ALL_HOSTS, eth_dst=ALL_HOSTS_MAC)
    assert_no_unreachable(lan, frame, "a datagram to a multicast group")


@case("UDP-NO-UNREACHABLE-LINK-BROADCAST", rfc=1122, section="3.2.2", level=MUST, layer=4, needs=("counters",))
def test_no_unreachable_for_link_layer_broadcast(lan):
    """A datagram sent as a link-layer broadcast draws no ICMP error, even with the SUT's unicast address as destination."""
    frame = to_sut(lan, b"link broadcast", dport=CLOSED_PORT, eth_dst=BROADCAST_MAC)
    assert_no_unreachable(lan, frame, "a datagram sent as a link-layer broadcast")


@case("UDP-PORT-BOUND-TO-OTHER-ADDRESS", rfc=768, section="Fields", level=MUST, layer=4, also=(1122,),
      needs=("sockets", "addresses"))
def test_port_is_bound_per_address(lan):
    """A datagram to one of the SUT's addresses is not delivered to a socket bound to the same port on another address.

    RFC 768: the destination port has a meaning within the context of a particular internet
    destination address. The SUT has a second address; the socket is bound to the first.
    """
    lan.control.add_address(f"{SECOND_ADDRESS}/24", lan.sut.ifname)
    sock = lan.app.udp(SUT_PORT)
    lan.tester.send(to_sut(lan, b"for the other address", ip_dst=SECOND_ADDRESS))
    held = held_before_fence(lan, sock)
    assert held == [], (
        f"RFC 768: port {SUT_PORT} of {SECOND_ADDRESS} is not port {SUT_PORT} of {lan.sut.ip}; the socket bound to "
        f"{lan.sut.ip} must not receive the datagram, but it read {held!r}"
    )


@case("UDP-SOURCE-PORT-ZERO-ACCEPTED", rfc=768, section="Fields", level=MUST, layer=4, needs=("sockets",))
def test_source_port_zero_is_delivered(lan):
    """A datagram with source port zero (the optional source port not used) is delivered, with port 0 as its source."""
    sock = lan.app.udp(SUT_PORT)
    lan.tester.send(to_sut(lan, b"no reply port", sport=0))
    try:
        data, _anc, _flags, sender = sock.recvmsg()
    except TimeoutError:
        raise AssertionError("RFC 768: the source port is optional, zero when unused; the datagram must be "
                             "delivered, but the SUT's socket received nothing within 1 s") from None
    assert data == b"no reply port", f"the application must read the datagram's data; it read {data!r}"
    assert sender == (lan.tester.ip, 0), f"the application must see the sender as {lan.tester.ip} port 0, not {sender}"



@case("UDP-UNREACHABLE-FROM-REQUESTED-ADDRESS", rfc=1122, section="3.3.4.2", level=SHOULD, layer=4,
      needs=("addresses",))
def test_port_unreachable_comes_from_the_address_the_datagram_was_sent_to(lan):
    """The Port Unreachable about a datagram sent to the SUT's second address has that address as its source.

    RFC 1122 3.3.4.2: the source address of a response SHOULD be the specific-destination
    address of the request; the SUT would otherwise pick its primary address.
    """
    lan.control.add_address(f"{SECOND_ADDRESS}/24", lan.sut.ifname)
    lan.tester.send(to_sut(lan, b"to the second address", dport=CLOSED_PORT, ip_dst=SECOND_ADDRESS))
    reply = lan.tester.expect(like(ICMP(type=3, code=3), where={"IP.dst": lan.tester.ip}, name="ICMP port unreachable"))
    assert reply[IP].src == SECOND_ADDRESS, (
        f"RFC 1122 3.3.4.2: the Port Unreachable answers a datagram sent to {SECOND_ADDRESS}, so it SHOULD come "
        f"from {SECOND_ADDRESS}; it came from {reply[IP].src}"
    )
