"""IP options, TTL and TOS between the application and the IP layer (RFC 1122 4.1.3.2, 4.1.4)."""

import socket

from scapy.layers.inet import IP, IPOption_Router_Alert

from cases.udp.frames import SUT_PORT, TESTER_PORT, from_sut, to_sut
from conformance.catalog import MAY, MUST, case

ROUTER_ALERT = b"\x94\x04\x00\x00"  # RFC 2113: a defined option a host simply carries
TOS = 0x28  # DSCP AF11, ECN bits clear
TTL = 9  # anything but the SUT's default (64)


def set_option(sock, level: int, option: int, value: int | bytes, requirement: str) -> None:
    """Set a socket option the requirement relies on; a SUT that refuses it fails the requirement."""
    try:
        sock.setsockopt(level, option, value)
    except OSError as exc:
        raise AssertionError(f"{requirement}, but the SUT refused the application's request ({exc})") from None


def read_with_ancillary(sock, what: str):
    try:
        data, ancillary, _flags, _sender = sock.recvmsg()
    except TimeoutError:
        raise AssertionError(f"{what}, but the SUT's socket received nothing within 1 s") from None
    return data, {(level, kind): value for level, kind, value in ancillary}


@case("UDP-IP-OPTIONS-PASSED-UP", rfc=1122, section="4.1.3.2", level=MUST, layer=4, needs=("sockets",),
      title="Received IP options reach the application")
def test_received_ip_options_reach_application(lan):
    """IP options of a received datagram are passed to the application transparently, octet for octet.

    The application asks for them (IP_RECVOPTS); the datagram carries a Router Alert option.
    """
    sock = lan.app.udp(SUT_PORT)
    set_option(sock, socket.SOL_IP, socket.IP_RECVOPTS, 1, "RFC 1122 4.1.3.2: received IP options MUST be passed to the application")
    lan.tester.send(to_sut(lan, b"with an option", ip={"options": [IPOption_Router_Alert()]}))
    data, ancillary = read_with_ancillary(sock, "the datagram carrying an IP option must be delivered")
    assert data == b"with an option", f"the application must read the datagram's data; it read {data!r}"
    opts = ancillary.get((socket.SOL_IP, socket.IP_RECVOPTS))
    assert opts is not None, "RFC 1122 4.1.3.2: UDP MUST pass received IP options to the application; none came with the datagram"
    assert opts == ROUTER_ALERT, f"the options must be passed transparently: sent {ROUTER_ALERT.hex()}, the application got {opts.hex()}"


@case("UDP-IP-OPTIONS-SENT", rfc=1122, section="4.1.3.2", level=MUST, layer=4, needs=("sockets",),
      title="IP options set by the application are sent")
def test_application_ip_options_are_sent(lan):
    """IP options an application specifies for its datagrams are passed to the IP layer and sent."""
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    set_option(sock, socket.SOL_IP, socket.IP_OPTIONS, ROUTER_ALERT, "RFC 1122 4.1.3.2: an application MUST be able to specify IP options")
    sock.send(b"with an option")
    dgram = lan.tester.expect(from_sut(lan))
    header = bytes(dgram[IP])[: dgram[IP].ihl * 4]
    assert header[20:] == ROUTER_ALERT, (
        f"RFC 1122 4.1.3.2: the application's IP options ({ROUTER_ALERT.hex()}) MUST be sent; the header "
        f"carried {header[20:].hex() or 'no options'}"
    )


@case("UDP-TTL-SET-BY-APPLICATION", rfc=1122, section="4.1.4", level=MUST, layer=4, needs=("sockets",),
      title="TTL set by the application is sent")
def test_application_ttl_is_sent(lan):
    """The TTL an application sets for its datagrams is the TTL they are sent with."""
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    set_option(sock, socket.SOL_IP, socket.IP_TTL, TTL, "RFC 1122 4.1.4: an application MUST be able to set the TTL")
    sock.send(b"short-lived")
    dgram = lan.tester.expect(from_sut(lan))
    assert dgram[IP].ttl == TTL, f"RFC 1122 4.1.4: the application set TTL {TTL}, which MUST reach the IP layer; the datagram had {dgram[IP].ttl}"


@case("UDP-TOS-SET-BY-APPLICATION", rfc=1122, section="4.1.4", level=MUST, layer=4, needs=("sockets",),
      title="TOS set by the application is sent")
def test_application_tos_is_sent(lan):
    """The TOS an application sets for its datagrams is the TOS they are sent with."""
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    set_option(sock, socket.SOL_IP, socket.IP_TOS, TOS, "RFC 1122 4.1.4: an application MUST be able to set the TOS")
    sock.send(b"differentiated")
    dgram = lan.tester.expect(from_sut(lan))
    assert dgram[IP].tos == TOS, f"RFC 1122 4.1.4: the application set TOS {TOS:#04x}, which MUST reach the IP layer; the datagram had {dgram[IP].tos:#04x}"


@case("UDP-TOS-PASSED-UP", rfc=1122, section="4.1.4", level=MAY, layer=4, needs=("sockets",),
      title="Received TOS reaches the application")
def test_received_tos_reaches_application(lan):
    """The TOS of a received datagram is passed up to the application that asks for it."""
    sock = lan.app.udp(SUT_PORT)
    set_option(sock, socket.SOL_IP, socket.IP_RECVTOS, 1, "RFC 1122 4.1.4: UDP MAY pass the received TOS up")
    lan.tester.send(to_sut(lan, b"differentiated", ip={"tos": TOS}))
    _data, ancillary = read_with_ancillary(sock, "the datagram must be delivered")
    tos = ancillary.get((socket.SOL_IP, socket.IP_TOS))
    assert tos is not None, "RFC 1122 4.1.4: UDP MAY pass the received TOS up; no TOS came with the datagram"
    assert tos[0] == TOS, f"the TOS passed up must be the datagram's, {TOS:#04x}; the application got {tos[0]:#04x}"
