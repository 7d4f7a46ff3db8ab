"""Ports: demultiplexing, closed ports and the Port Unreachable they answer (RFC 768, RFC 1122
4.1.3.1). What an ICMP error quotes, and when none may be sent, are ICMP requirements
(RFC 1122 3.2.2): the cases for them are in cases/icmp.

RFC 768 predates RFC 2119 and has no requirement keywords; the cases that cite it read its
definitions of the header fields as MUST (a datagram is what its fields say it is).
"""

from scapy.layers.inet import ICMP, IP

from cases.udp.delivery import counter_changes, held_before_fence
from cases.udp.frames import CLOSED_PORT, SUT_PORT, icmp_from_sut, to_sut
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like
from conformance.verdict import Inconclusive

SECOND_ADDRESS = "198.18.0.3"


def port_unreachable(lan):
    return icmp_from_sut(lan, 3, 3, name="ICMP port unreachable from the SUT")


@case("UDP-CLOSED-PORT-UNREACHABLE", rfc=1122, section="4.1.3.1", level=SHOULD, layer=4, needs=("counters",))
def test_closed_port_answers_port_unreachable(lan):
    """A datagram to a port with no application on it is answered with an ICMP Port Unreachable."""
    before = lan.control.counters("snmp")
    lan.tester.send(to_sut(lan, b"anyone there?", dport=CLOSED_PORT))
    lan.tester.expect(port_unreachable(lan))
    changes = counter_changes(before, lan.control.counters("snmp"))
    assert changes.get("Udp.NoPorts") == 1, f"the SUT must count the datagram as one for no port; Udp counters changed: {changes}"


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
    try:
        reply = lan.tester.expect(like(ICMP(type=3, code=3), where={"IP.dst": lan.tester.ip}, name="ICMP port unreachable"))
    except AssertionError:
        raise Inconclusive("precondition not met: the SUT sent no Port Unreachable (UDP-CLOSED-PORT-UNREACHABLE judges that), "
                           "so its source address cannot be judged") from None
    assert reply[IP].src == SECOND_ADDRESS, (
        f"RFC 1122 3.3.4.2: the Port Unreachable answers a datagram sent to {SECOND_ADDRESS}, so it SHOULD come "
        f"from {SECOND_ADDRESS}; it came from {reply[IP].src}"
    )
