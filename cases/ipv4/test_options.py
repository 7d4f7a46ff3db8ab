"""IP option processing on receive and on send (RFC 791 3.1, RFC 1122 3.2.1.8, 3.3.5).

RFC 791 predates requirement keywords; the case citing it reads its definition of End of
Option List as MUST."""

import socket

from scapy.layers.inet import ICMP, UDP

from cases.ipv4.frames import (
    OPT_EOL,
    OPT_EXPERIMENT,
    OPT_LSRR,
    OPT_NOP,
    OPT_RR,
    OPT_SSRR,
    OPT_STREAM_ID,
    SUT_PORT,
    TESTER_PORT,
    echo_datagram,
    echo_reply,
    ether,
    find_option,
    frames_since,
    ip_like,
    next_ident,
    option_bytes,
    parse_options,
    route_option,
    udp_datagram,
)
from conformance.catalog import MUST, SHOULD, case
from conformance.match import AnyOf, like
from conformance.verdict import Inconclusive

IP_OPTIONS, IP_RECVOPTS = 4, 6  # <linux/in.h>
OTHER_HOST, OTHER_MAC = "198.18.0.77", "02:00:00:00:00:77"


@case("IP4-OPT-UNKNOWN-IGNORED", rfc=1122, section="3.2.1.8", level=MUST, layer=3)
def test_unknown_option_is_ignored(lan):
    """An option the IP layer does not understand is silently ignored and the datagram processed as usual.

    "The IP and transport layer MUST each interpret those IP options that they understand and
    silently ignore the others." The Echo Request carries option type 30 (the experimental
    number of RFC 4727, which no stack interprets) with two octets of data; it must be answered.
    """
    ident = next_ident()
    options = bytes([OPT_EXPERIMENT, 4, 0xAB, 0xCD])
    lan.tester.exchange(ether(lan, echo_datagram(lan, ident, options=options)), expect=echo_reply(lan, ident))
    lan.tester.expect_none(like(ip_like(src=lan.sut.ip) / ICMP(type=12), name="a Parameter Problem (the option must be ignored silently)"))


@case("IP4-OPT-STREAM-ID-IGNORED", rfc=1122, section="3.2.1.8", level=MUST, layer=3)
def test_stream_identifier_option_is_ignored(lan):
    """The obsolete Stream Identifier option is silently ignored when received.

    3.2.1.8 (b): the Stream Identifier option "SHOULD NOT be sent, and it MUST be silently
    ignored if received". An Echo Request carrying it (type 136, length 4) must be answered.
    """
    ident = next_ident()
    options = bytes([OPT_STREAM_ID, 4, 0x12, 0x34])
    lan.tester.exchange(ether(lan, echo_datagram(lan, ident, options=options)), expect=echo_reply(lan, ident))
    lan.tester.expect_none(like(ip_like(src=lan.sut.ip) / ICMP(type=12), name="a Parameter Problem (the option must be ignored silently)"))


@case("IP4-OPT-EOL-ENDS-LIST", rfc=791, section="3.1", level=MUST, layer=3, also=(1122,))
def test_octets_after_end_of_option_list_are_not_parsed(lan):
    """The End of Option List option ends the options: octets after it, up to the header length, are not interpreted.

    RFC 791: End of Option List "indicates the end of the option list. This might not coincide
    with the end of the internet header according to the internet header length". The options
    are NOP, EOL, then octets that would be a malformed Record Route (length 1) if parsed; the
    Echo Request must be answered, with no Parameter Problem.
    """
    ident = next_ident()
    options = bytes([OPT_NOP, OPT_EOL, OPT_RR, 1, 0, 0, 0, 0])
    lan.tester.send(ether(lan, echo_datagram(lan, ident, options=options)))
    got = lan.tester.expect(AnyOf(echo_reply(lan, ident), like(ip_like(src=lan.sut.ip) / ICMP(type=12))))
    assert got[ICMP].type == 0, f"RFC 791: octets after End of Option List are not options; the SUT answered with {got.summary()}"


@case("IP4-OPT-PASSED-TO-TRANSPORT", rfc=1122, section="3.2.1.8", level=MUST, layer=4, needs=("sockets",))
def test_received_options_are_passed_to_transport(lan):
    """The IP options of a received datagram are passed up to the transport layer.

    "All IP options (except NOP or END-OF-LIST) received in datagrams MUST be passed to the
    transport layer (or to ICMP processing ...)". A UDP socket that asked for them (IP_RECVOPTS)
    receives a datagram with an experimental option (type 30); the option must come up with it.
    """
    sock = lan.app.udp(SUT_PORT)
    sock.setsockopt(socket.IPPROTO_IP, IP_RECVOPTS, 1)
    option = bytes([OPT_EXPERIMENT, 4, 0xAB, 0xCD])
    lan.tester.send(ether(lan, udp_datagram(lan, b"with an option", options=option)))
    try:
        data, ancillary, _flags, _addr = sock.recvmsg(timeout=1.0)
    except TimeoutError:
        raise Inconclusive("precondition not met: the datagram with an unknown option did not reach the socket "
                           "(IP4-OPT-UNKNOWN-IGNORED judges that)") from None
    assert data == b"with an option"
    passed = b"".join(value for level, kind, value in ancillary if level == socket.IPPROTO_IP and kind == IP_RECVOPTS)
    assert option in passed, (
        f"RFC 1122 3.2.1.8: received options MUST be passed to the transport layer; it got {passed.hex() or 'none'}, "
        f"expected to include {option.hex()}"
    )


def sent_by_socket(lan, options: bytes, dst: str | None = None):
    """A UDP datagram sent by a SUT socket that set `options` with IP_OPTIONS."""
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    sock.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, options)
    sock.send(b"options from the transport")
    return lan.tester.expect(like(ip_like(src=lan.sut.ip, dst=dst or lan.tester.ip) / UDP(sport=SUT_PORT, dport=TESTER_PORT),
                                  name="the SUT socket's datagram"))


@case("IP4-OPT-TRANSPORT-SETS", rfc=1122, section="3.2.1.8", level=MUST, layer=3, needs=("sockets",))
def test_transport_layer_can_send_options(lan):
    """The transport layer can specify IP options to be included in the datagrams it sends.

    "There MUST be a means for the transport layer to specify IP options to be included in
    transmitted IP datagrams". A UDP socket sets a Record Route option with room for two addresses;
    its datagram must carry a Record Route option.
    """
    sent = sent_by_socket(lan, route_option(OPT_RR, 4, ["0.0.0.0"] * 2) + bytes([OPT_EOL]))
    assert find_option(sent, OPT_RR) is not None, (
        f"RFC 1122 3.2.1.8: the option set by the transport layer MUST be sent; the datagram's options: {bytes(sent['IP'])[20:sent['IP'].ihl * 4].hex() or 'none'}"
    )


@case("IP4-OPT-SRR-ORIGINATE", rfc=1122, section="3.2.1.8", level=MUST, layer=3, needs=("sockets",), also=(791,))
def test_host_can_originate_a_source_route(lan):
    """A host can originate a source-routed datagram: sent to the first hop, the rest of the route in the option.

    3.2.1.8 (c): "A host MUST support originating a source route". A UDP socket to the tester
    asks for a Loose Source Route through 198.18.0.77 (Linux form: IP_OPTIONS listing the first
    hop). RFC 791: the datagram's destination is the first hop, and the option, with pointer 4,
    holds the remaining route, ending in the final destination.
    """
    lan.tester.claims[OTHER_HOST] = OTHER_MAC
    sent = sent_by_socket(lan, route_option(OPT_LSRR, 4, [OTHER_HOST]) + bytes([OPT_EOL]), dst=OTHER_HOST)
    option = find_option(sent, OPT_LSRR)
    assert option is not None, "RFC 791: a source-routed datagram must carry its Loose Source Route option"
    assert option.data[2] == 4, f"the originator's option points at its first address (4), it pointed at {option.data[2]}"
    last = ".".join(str(b) for b in option.data[-4:])
    assert last == lan.tester.ip, f"the route must end in the final destination {lan.tester.ip}, it ended in {last}"


@case("IP4-OPT-SRR-FINAL-DESTINATION", rfc=1122, section="3.2.1.8", level=MUST, layer=3)
def test_host_accepts_datagram_with_completed_source_route(lan):
    """A host is able to act as the final destination of a source route: a datagram whose source route is complete is accepted.

    3.2.1.8 (c): a host "MUST be able to act as the final destination of a source route. If
    host receives a datagram containing a completed source route (i.e., the pointer points
    beyond the last field), the datagram has reached its final destination". The Echo Request
    carries a Loose Source Route through 198.18.0.77, pointer 8 (route used up); it must be
    answered.

    The requirement is a capability. The SUT is tried as configured first; if it drops the
    datagram and its configuration can be changed, the case turns source routes on (Linux:
    net.ipv4.conf.{all,eth0}.accept_source_route=1, recorded as a precondition) and judges
    that. Note: Linux's default is 0 for conf.all (every source-routed datagram is dropped, in
    line with RFC 7126's advice to filter them), so the local kernel has the capability but
    does not use it by default; that is a configuration, not a deviation.
    """
    lan.tester.claims[OTHER_HOST] = OTHER_MAC
    ident = next_ident()
    answer = AnyOf(echo_reply(lan, ident), like(ip_like(src=lan.sut.ip, dst=OTHER_HOST) / ICMP(type="echo-reply", id=ident)))
    request = ether(lan, echo_datagram(lan, ident, options=route_option(OPT_LSRR, 8, [OTHER_HOST]) + bytes([OPT_EOL])))
    if lan.tester.before_fence(answer, stimulus=request) is not None:
        return
    lan.control.set_sysctl("net.ipv4.conf.all.accept_source_route", 1)
    lan.control.set_sysctl(f"net.ipv4.conf.{lan.sut.ifname}.accept_source_route", 1)
    lan.tester.exchange(request, expect=answer)


@case("IP4-OPT-SRR-NOT-FORWARDED-UNREACH", rfc=1122, section="3.3.5", level=SHOULD, layer=3)
def test_unforwarded_source_route_draws_source_route_failed(lan):
    """A host that receives a datagram with an incomplete source route and does not forward it returns Destination Unreachable code 5.

    3.3.5: "If a host receives a datagram with an incomplete source route but does not forward
    it for some reason, the host SHOULD return an ICMP Destination Unreachable (code 5, Source
    Route Failed) message". The Echo Request to the SUT still lists 198.18.0.77 as next hop:
    either the SUT passes it on to 198.18.0.77 (a host MAY act as an intermediate hop) or it
    returns code 5.
    """
    ident = next_ident()
    lan.tester.claims[OTHER_HOST] = OTHER_MAC
    options = route_option(OPT_LSRR, 4, [OTHER_HOST]) + bytes([OPT_EOL])
    # Not fenced: a SUT that passes the request on first resolves 198.18.0.77 by ARP, so the
    # request may well come after the answer to a fence (to the tester, already resolved).
    lan.tester.exchange(ether(lan, echo_datagram(lan, ident, options=options)), expect=AnyOf(
        like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / ICMP(type=3, code=5), name="Destination Unreachable code 5"),
        like(ip_like(dst=OTHER_HOST) / ICMP(type="echo-request", id=ident), name="the request passed on to 198.18.0.77"),
    ))


@case("IP4-OPT-ONE-SOURCE-ROUTE-SENT", rfc=1122, section="3.2.1.8", level=MUST, layer=3, needs=("sockets",))
def test_host_never_sends_two_source_route_options(lan):
    """A host never sends a datagram whose header holds more than one Source Route option.

    3.2.1.8 (c): "An IP header containing more than one Source Route option MUST NOT be sent".
    A UDP socket asks for two Loose Source Route options; the request may be refused, but no
    datagram with two of them may leave the SUT.
    """
    lan.tester.claims[OTHER_HOST] = OTHER_MAC
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    twice = route_option(OPT_LSRR, 4, [OTHER_HOST]) + route_option(OPT_LSRR, 4, [OTHER_HOST]) + bytes([OPT_EOL, OPT_EOL])
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, twice)
    except OSError:
        pass  # refusing the options is one way to obey
    start = len(lan.tester.capture.frames)
    sock.send(b"two source routes asked")
    lan.tester.sync()
    for packet in frames_since(lan, start):
        if UDP in packet and packet[UDP].sport == SUT_PORT:
            count = sum(1 for o in parse_options(option_bytes(packet)) if o.kind in (OPT_LSRR, OPT_SSRR))
            assert count <= 1, f"RFC 1122 3.2.1.8 (c): a header with more than one Source Route option MUST NOT be sent; this one had {count}"
