"""ICMP errors are passed up to the UDP application (RFC 1122 4.1.3.3)."""

import errno
import socket
import struct

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from cases.udp.frames import SUT_PORT, TESTER_PORT, from_sut
from conformance.catalog import MUST, case

IP_RECVERR = 11  # Linux <linux/in.h>; Python's socket module does not export it
SO_EE_ORIGIN_ICMP = 2
FAR_HOST = "198.19.0.9"  # off-link: reached through the gateway, which answers for it


def icmp_error(src_mac: str, src_ip: str, lan, type_: int, code: int, offending: bytes) -> Ether:
    """An ICMP error to the SUT quoting the whole offending datagram."""
    return (
        Ether(src=src_mac, dst=lan.sut.mac)
        / IP(src=src_ip, dst=lan.sut.ip)
        / ICMP(type=type_, code=code)
        / Raw(offending)
    )


@pytest.mark.parametrize("quote", ["whole-datagram", "header-and-8-octets"])
@case("UDP-ICMP-PORT-UNREACHABLE-REFUSES", rfc=1122, section="4.1.3.3", level=MUST, layer=4, also=(792,),
      needs=("sockets",))
def test_port_unreachable_reaches_connected_socket(lan, quote):
    """A Port Unreachable about a datagram the application sent reaches that application (a connected socket reports ECONNREFUSED).

    The error quotes either the whole datagram or only what RFC 792 demands (the IP header and
    the first 8 data octets, i.e. the UDP header).
    """
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    sock.send(b"is anyone on that port?")
    dgram = lan.tester.expect(from_sut(lan))
    offending = bytes(dgram[IP])
    if quote != "whole-datagram":
        offending = offending[: dgram[IP].ihl * 4 + 8]
    lan.tester.send(icmp_error(lan.tester.mac, lan.tester.ip, lan, 3, 3, offending))
    lan.tester.sync()
    err = sock.error()
    assert err == errno.ECONNREFUSED, (
        f"RFC 1122 4.1.3.3: UDP MUST pass ICMP errors up to the application; the connected socket must report "
        f"ECONNREFUSED after the Port Unreachable, but its pending error was {errno.errorcode.get(err, err)}"
    )


# (ICMP type, code) of errors a router on the path may send about a datagram.
ROUTER_ERRORS = {
    "net-unreachable": (3, 0),
    "host-unreachable": (3, 1),
    "time-exceeded": (11, 0),
    "parameter-problem": (12, 0),
}


@pytest.mark.parametrize("error", list(ROUTER_ERRORS))
@case("UDP-ICMP-ERRORS-REPORTED", rfc=1122, section="4.1.3.3", level=MUST, layer=4, also=(792,), needs=("sockets",),
      title="ICMP error reaches the application that asks for errors")
def test_icmp_error_reaches_application_asking_for_errors(lan, error):
    """An ICMP error from a gateway about a datagram the application sent reaches the application that asks for ICMP errors.

    The socket is unconnected and asks for ICMP errors (IP_RECVERR, the SUT's RECV_ICMP of
    RFC 1122 3.4); the gateway answers the datagram with the error, which must be readable
    with its type, code and the gateway as the reporter.
    """
    type_, code = ROUTER_ERRORS[error]
    sock = lan.app.udp(SUT_PORT)
    sock.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    sock.sendto(b"to a far host", (FAR_HOST, TESTER_PORT))
    dgram = lan.tester.expect(from_sut(lan, dst=FAR_HOST))
    lan.tester.send(icmp_error(lan.gateway.mac, lan.gateway.ip, lan, type_, code, bytes(dgram[IP])))
    lan.tester.sync()
    try:
        _data, ancillary, _flags, _addr = sock.recvmsg(flags=socket.MSG_ERRQUEUE, timeout=0)
    except TimeoutError:
        raise AssertionError(f"RFC 1122 4.1.3.3: UDP MUST pass ICMP errors up to the application; the {error} "
                             f"(type {type_} code {code}) never reached the socket's error queue") from None
    reports = [value for level, kind, value in ancillary if level == socket.SOL_IP and kind == IP_RECVERR]
    assert reports, f"the error read from the socket carried no ICMP report: {ancillary}"
    _errno, origin, got_type, got_code = struct.unpack_from("=IBBB", reports[0])
    reporter = socket.inet_ntoa(reports[0][16 + 4 : 16 + 8])
    assert (origin, got_type, got_code) == (SO_EE_ORIGIN_ICMP, type_, code), (
        f"the application must learn of an ICMP type {type_} code {code}; it got origin {origin}, type {got_type}, "
        f"code {got_code}"
    )
    assert reporter == lan.gateway.ip, f"the reporter must be the gateway {lan.gateway.ip}, not {reporter}"
