"""ICMPv6 messages the node receives (RFC 4443 2.4 (a), (b) and the upper-layer notification of
3.1, 3.3 and 3.4).

Errors about a datagram the SUT sent are built by the tester quoting that datagram as it left
the SUT, so the SUT can find the socket it came from. The application asks for the errors its
socket gets (IPV6_RECVERR, Linux's way of letting an application see every ICMPv6 error, the
RECV_ICMP of RFC 1122 3.4); a connected socket also sees Port Unreachable as ECONNREFUSED.
"""

import errno
import socket

from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6ParamProblem, ICMPv6TimeExceeded, IPv6
from scapy.packet import Packet, Raw

from cases.ipv6.frames import (
    IPV6_RECVERR,
    NH_ICMPV6,
    SO_EE_ORIGIN_ICMP6,
    Icmp6Error,
    error_report,
    icmp6_message,
    next_ident,
    packet_bytes,
    to_sut,
)
from cases.ipv6.test_extension_headers import valid_echo_fence
from conformance.catalog import MUST, case
from conformance.match import like

REMOTE_PORT = 7630
UNKNOWN_INFO_TYPES = (200, 255)  # private experimentation; reserved for expansion of informational messages
UNKNOWN_ERROR_TYPE = 127  # reserved for expansion of error messages


def sent_datagram(lan6, *, recverr: bool):
    """A UDP socket on the SUT connected to the tester, and the datagram it sent, as it arrived."""
    sock = lan6.app.udp(0, connect=(lan6.tester.ip6, REMOTE_PORT))
    if recverr:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    sock.send(b"a datagram the tester answers with an error")
    got = lan6.tester.expect(like(IPv6(src=lan6.sut.ip, dst=lan6.tester.ip6) / Raw(), name="the SUT's datagram"))
    return sock, bytes(got[IPv6])


def error_about(lan6, message: Packet, quoted: bytes) -> bytes:
    """An ICMPv6 error `message` from the tester to the SUT quoting `quoted`."""
    return to_sut(lan6, IPv6(src=lan6.tester.ip6, dst=lan6.sut.ip) / message / Raw(quoted))


def reported(lan6, sock, icmp_type: int, code: int, name: str) -> None:
    lan6.tester.handled()
    report = error_report(sock)
    assert report is not None, (
        f"the {name} (type {icmp_type} code {code}) about the socket's datagram never reached the application's error queue")
    _err, origin, got_type, got_code = report
    assert (origin, got_type, got_code) == (SO_EE_ORIGIN_ICMP6, icmp_type, code), (
        f"the application must learn of an ICMPv6 type {icmp_type} code {code}; it got origin {origin}, type {got_type}, "
        f"code {got_code}")


@case("ICMP6-UNKNOWN-INFO-DISCARDED", rfc=4443, section="2.4", level=MUST, layer=3)
def test_informational_message_of_unknown_type_is_silently_discarded(lan6):
    """An ICMPv6 informational message of a type the node does not know is silently discarded.

    RFC 4443 2.4 (b): "If an ICMPv6 informational message of unknown type is received, it MUST
    be silently discarded." Messages of types 200 and 255 (laid out like Echo Requests) must draw
    neither a reply of any kind nor an error.
    """
    for icmp_type in UNKNOWN_INFO_TYPES:
        ident = next_ident()
        body = ident.to_bytes(2, "big") + b"\x00\x01" + b"unknown informational"
        message = icmp6_message(lan6.tester.ip6, lan6.sut.ip, icmp_type, 0, body)
        lan6.tester.send(to_sut(lan6, packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_ICMPV6, message)))
        lan6.tester.expect_none(Icmp6Error(lan6.tester.ip6, (1, 2, 3, 4, 129, icmp_type, icmp_type + 1),
                                           f"an answer to type {icmp_type}"), fence=valid_echo_fence(lan6))


@case("ICMP6-UNKNOWN-ERROR-PASSED-UP", rfc=4443, section="2.4", level=MUST, layer=4, needs=("sockets",))
def test_error_message_of_unknown_type_is_passed_to_the_upper_layer(lan6):
    """An ICMPv6 error message of a type the node does not know is passed to the upper-layer process the quoted packet came from.

    RFC 4443 2.4 (a): "If an ICMPv6 error message of unknown type is received at its destination,
    it MUST be passed to the upper-layer process that originated the packet that caused the
    error". An error of type 127 quoting the SUT's UDP datagram must reach that socket.
    """
    sock, quoted = sent_datagram(lan6, recverr=True)
    message = icmp6_message(lan6.tester.ip6, lan6.sut.ip, UNKNOWN_ERROR_TYPE, 0, bytes(4) + quoted)
    lan6.tester.send(to_sut(lan6, packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_ICMPV6, message)))
    reported(lan6, sock, UNKNOWN_ERROR_TYPE, 0, "error message of unknown type")


@case("ICMP6-DU-NOTIFY", rfc=4443, section="3.1", level=MUST, layer=4, needs=("sockets",))
def test_destination_unreachable_reaches_the_upper_layer(lan6):
    """A Destination Unreachable message is passed to the upper-layer process it concerns.

    RFC 4443 3.1: "A node receiving the ICMPv6 Destination Unreachable message MUST notify the
    upper-layer process if the relevant process can be identified". A Port Unreachable quoting
    the datagram of a connected UDP socket: the socket's pending error must become ECONNREFUSED.
    """
    sock, quoted = sent_datagram(lan6, recverr=False)
    lan6.tester.send(error_about(lan6, ICMPv6DestUnreach(code=4), quoted))
    lan6.tester.handled()
    err = sock.error()
    assert err == errno.ECONNREFUSED, f"the socket must learn the port is unreachable (ECONNREFUSED); its pending error is {err}"


@case("ICMP6-TE-NOTIFY", rfc=4443, section="3.3", level=MUST, layer=4, needs=("sockets",))
def test_time_exceeded_reaches_the_upper_layer(lan6):
    """A Time Exceeded message is passed to the upper-layer process it concerns.

    RFC 4443 3.3: "An incoming Time Exceeded message MUST be passed to the upper-layer process if
    the relevant process can be identified". Time Exceeded code 0 quoting the socket's datagram.
    """
    sock, quoted = sent_datagram(lan6, recverr=True)
    lan6.tester.send(error_about(lan6, ICMPv6TimeExceeded(code=0), quoted))
    reported(lan6, sock, 3, 0, "Time Exceeded")


@case("ICMP6-PP-NOTIFY", rfc=4443, section="3.4", level=MUST, layer=4, needs=("sockets",))
def test_parameter_problem_reaches_the_upper_layer(lan6):
    """A Parameter Problem message is passed to the upper-layer process it concerns.

    RFC 4443 3.4: "A node receiving this ICMPv6 message MUST notify the upper-layer process if
    the relevant process can be identified". Parameter Problem code 0 (pointer 7, the Hop Limit)
    quoting the socket's datagram.
    """
    sock, quoted = sent_datagram(lan6, recverr=True)
    lan6.tester.send(error_about(lan6, ICMPv6ParamProblem(code=0, ptr=7), quoted))
    reported(lan6, sock, 4, 0, "Parameter Problem")
