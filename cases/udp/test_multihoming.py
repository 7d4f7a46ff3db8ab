"""UDP on a multihomed SUT: local addresses chosen by and reported to the application
(RFC 1122 4.1.3.5)."""

import socket

from scapy.layers.inet import IP, UDP

from cases.udp.delivery import receive
from cases.udp.frames import SUT_PORT, TESTER_PORT, from_sut, to_sut
from conformance.catalog import MUST, SHOULD, case
from conformance.verdict import Inconclusive

SECOND_ADDRESS = "198.18.0.3"  # added to the SUT's interface; the first address stays primary
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
IP_PKTINFO = 8  # Linux <linux/in.h>; Python's socket module does not export it


@case("UDP-REPLY-FROM-BOUND-ADDRESS", rfc=1122, section="4.1.3.5", level=MUST, layer=4,
      needs=("sockets", "addresses"))
def test_reply_leaves_from_the_address_the_application_bound(lan):
    """An application bound to one of the SUT's addresses sends from it: its reply to a request for that address has the request's destination as source.

    The SUT has two addresses on one interface; the application binds the second (not the one
    the SUT would choose by itself) and answers the request it received there.
    """
    lan.control.add_address(f"{SECOND_ADDRESS}/24", lan.sut.ifname)
    sock = lan.app.udp_at(SECOND_ADDRESS, SUT_PORT)
    lan.tester.send(to_sut(lan, b"request", ip_dst=SECOND_ADDRESS))
    try:
        _data, _anc, _flags, sender = sock.recvmsg()
    except TimeoutError:
        raise Inconclusive(f"precondition not met: the request to {SECOND_ADDRESS} never reached the application bound to it") from None
    sock.sendto(b"response", sender)
    reply = lan.tester.expect(from_sut(lan, any_source=True))
    assert reply[IP].src == SECOND_ADDRESS, (
        f"RFC 1122 4.1.3.5: an application MUST be able to specify the local address; bound to {SECOND_ADDRESS}, "
        f"its response must come from the request's destination {SECOND_ADDRESS}, not {reply[IP].src}"
    )


@case("UDP-WILDCARD-BIND-RECEIVES-ALL", rfc=1122, section="4.1.3.5", level=MUST, layer=4,
      needs=("sockets", "addresses"))
def test_wildcard_socket_receives_for_every_address(lan):
    """An application that leaves its local address unspecified (wildcard) receives datagrams sent to any of the SUT's addresses.

    RFC 1122 4.1.3.5 lets an application "leave it unspecified" (the local address); the case
    reads an unspecified local address as matching every local address on receipt too.
    """
    lan.control.add_address(f"{SECOND_ADDRESS}/24", lan.sut.ifname)
    sock = lan.app.udp_at("0.0.0.0", SUT_PORT)
    for address in (lan.sut.ip, SECOND_ADDRESS):
        lan.tester.send(to_sut(lan, address.encode(), ip_dst=address))
        got = receive(sock, f"RFC 1122 4.1.3.5: a socket bound to the wildcard address must receive the datagram sent to {address}")
        assert got == address.encode(), f"the application must read the datagram sent to {address}; it read {got!r}"


@case("UDP-DESTINATION-ADDRESS-PASSED-UP", rfc=1122, section="4.1.3.5", level=MUST, layer=4,
      needs=("sockets", "addresses"))
def test_specific_destination_is_passed_to_application(lan):
    """The specific destination address of a received datagram, even a broadcast one, is passed up to the application.

    A wildcard-bound socket asks for it (IP_PKTINFO) and receives one datagram for each of the
    SUT's two addresses, for the subnet broadcast and for the limited broadcast address: each
    must be reported with the address it was sent to (RFC 1122 defines the specific
    destination as the effective destination address of a datagram, even if it is broadcast).
    """
    lan.control.add_address(f"{SECOND_ADDRESS}/24", lan.sut.ifname)
    sock = lan.app.udp_at("0.0.0.0", SUT_PORT, options={(socket.SOL_IP, IP_PKTINFO): 1})
    for address, mac in ((SECOND_ADDRESS, lan.sut.mac), (lan.sut.ip, lan.sut.mac),
                         ("198.18.0.255", BROADCAST_MAC), ("255.255.255.255", BROADCAST_MAC)):
        lan.tester.send(to_sut(lan, b"which address was I sent to?", ip_dst=address, eth_dst=mac))
        try:
            _data, ancillary, _flags, _sender = sock.recvmsg()
        except TimeoutError:
            raise AssertionError(f"the datagram to {address} never reached the wildcard-bound application") from None
        infos = [value for level, kind, value in ancillary if level == socket.SOL_IP and kind == IP_PKTINFO]
        assert infos, f"RFC 1122 4.1.3.5: the specific destination address MUST be passed up; no address came with the datagram to {address}"
        reported = socket.inet_ntoa(infos[0][8:12])
        assert reported == address, (
            f"RFC 1122 4.1.3.5: the application must learn the datagram was sent to {address}; it was told {reported}"
        )


@case("UDP-LOCAL-ADDRESS-REPORTED", rfc=1122, section="4.1.3.5", level=SHOULD, layer=4, needs=("sockets",))
def test_chosen_source_address_is_reported_to_application(lan):
    """The source address the SUT chose for an application that left it unspecified is made known to the application, and is the one it sends from.

    The socket is bound to the wildcard address and port 0 and connected to the tester; the
    local address and port it reports must be the source of the datagram on the wire.
    """
    sock = lan.app.udp_at("0.0.0.0", 0, connect=(lan.tester.ip, TESTER_PORT))
    local = sock.getsockname()
    sock.send(b"who am I?")
    dgram = lan.tester.expect(from_sut(lan, sport=None, any_source=True))
    assert local[0] != "0.0.0.0", "RFC 1122 4.1.3.5: the application SHOULD learn the local address chosen; it still reads the wildcard"
    assert (dgram[IP].src, dgram[UDP].sport) == local, (
        f"the address the application was told ({local[0]} port {local[1]}) must be the one the datagram left "
        f"from ({dgram[IP].src} port {dgram[UDP].sport})"
    )
