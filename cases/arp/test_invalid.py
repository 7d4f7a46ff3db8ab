"""ARP packets that RFC 826 tells the receiver to drop: unknown opcodes, hardware and protocol
types it does not have, and (optionally checked) wrong address lengths.

RFC 826 predates RFC 2119. Its algorithm says "Negative conditionals indicate an end of processing
and a discarding of the packet": those checks (hardware type, protocol type, opcode) are taken as
MUST; the two it brackets as "[optionally check ...]" (the lengths) as MAY.

The malformed packets are built byte by byte in the standard Ethernet/IPv4 layout, so that a
receiver that skipped the check in question would read a valid request for the SUT's address
and answer it.
"""

import socket
import struct

import pytest
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from cases.arp.frames import BROADCAST, arp_fence
from conformance.catalog import MAY, MUST, case
from conformance.match import like


def raw_request(lan, *, hrd: int = 1, pro: int = 0x0800, hln: int = 6, pln: int = 4, op: int = 1) -> Ether:
    body = struct.pack("!HHBBH", hrd, pro, hln, pln, op)
    body += bytes.fromhex(lan.tester.mac.replace(":", "")) + socket.inet_aton(lan.tester.ip)
    body += bytes(6) + socket.inet_aton(lan.sut.ip)
    return Ether(src=lan.tester.mac, dst=BROADCAST, type=0x0806) / Raw(body + bytes(18))  # padded to 60 octets


def answers_from_sut(lan):
    return like(Ether(src=lan.sut.mac) / ARP(), name="any ARP packet from the SUT")


@pytest.mark.parametrize("op", [0, 3, 9, 0xFFFF], ids=["op0", "rarp-request", "op9", "op65535"])
@case("ARP-BAD-OPCODE", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_unknown_opcode_is_not_answered(lan, op):
    """A packet for the SUT's address whose opcode is not request (1) is not answered."""
    lan.tester.send(raw_request(lan, op=op))
    lan.tester.expect_none(answers_from_sut(lan), fence=arp_fence(lan.sut.ip))


@case("ARP-REPLY-NOT-ANSWERED", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_reply_is_not_answered(lan):
    """A reply (opcode 2) naming the SUT's address as target gets no reply of its own."""
    lan.tester.send(raw_request(lan, op=2))
    lan.tester.expect_none(answers_from_sut(lan), fence=arp_fence(lan.sut.ip))


@case("ARP-BAD-HARDWARE-TYPE", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_unknown_hardware_type_is_ignored(lan):
    """A request with a hardware type the SUT's interface does not have (32, InfiniBand) is ignored."""
    lan.tester.send(raw_request(lan, hrd=32))
    lan.tester.expect_none(answers_from_sut(lan), fence=arp_fence(lan.sut.ip))


@case("ARP-BAD-PROTOCOL-TYPE", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_unknown_protocol_type_is_ignored(lan):
    """A request with a protocol type the SUT does not speak over ARP (0x86DD, IPv6) is ignored."""
    lan.tester.send(raw_request(lan, pro=0x86DD))
    lan.tester.expect_none(answers_from_sut(lan), fence=arp_fence(lan.sut.ip))


@case("ARP-BAD-HARDWARE-LENGTH", rfc=826, section="Packet Reception", level=MAY, layer=2)
def test_wrong_hardware_length_is_ignored(lan):
    """A request whose hardware address length is not Ethernet's 6 is ignored (RFC 826: "optionally
    check the hardware length")."""
    lan.tester.send(raw_request(lan, hln=8))
    lan.tester.expect_none(answers_from_sut(lan), fence=arp_fence(lan.sut.ip))


@case("ARP-BAD-PROTOCOL-LENGTH", rfc=826, section="Packet Reception", level=MAY, layer=2)
def test_wrong_protocol_length_is_ignored(lan):
    """A request whose protocol address length is not IPv4's 4 is ignored (RFC 826: "optionally
    check the protocol length")."""
    lan.tester.send(raw_request(lan, pln=6))
    lan.tester.expect_none(answers_from_sut(lan), fence=arp_fence(lan.sut.ip))
