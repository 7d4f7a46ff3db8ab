"""Fragmented datagrams are reassembled before UDP delivers them (RFC 1122 3.3.2)."""

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from cases.udp.delivery import counter_changes, held_before_fence, receive
from cases.udp.frames import SUT_PORT, TESTER_PORT
from conformance.catalog import MUST, case
from conformance.verdict import Inconclusive

DATA = bytes(range(256)) * 5  # 1280 octets: three fragments of at most 512 octets each
FRAGMENT_SIZE = 512  # octets of IP payload per fragment, a multiple of 8


def fragments(lan, data: bytes, ident: int) -> list[Ether]:
    """The datagram carrying `data` from the tester to the SUT's socket, cut into fragments in
    offset order; the UDP checksum is computed over the whole datagram, as a sender would."""
    whole = IP(src=lan.tester.ip, dst=lan.sut.ip) / UDP(sport=TESTER_PORT, dport=SUT_PORT) / Raw(data)
    payload = bytes(whole[UDP])
    out = []
    for offset in range(0, len(payload), FRAGMENT_SIZE):
        more = offset + FRAGMENT_SIZE < len(payload)
        out.append(
            Ether(src=lan.tester.mac, dst=lan.sut.mac)
            / IP(src=lan.tester.ip, dst=lan.sut.ip, id=ident, proto=17, flags="MF" if more else 0, frag=offset // 8)
            / Raw(payload[offset : offset + FRAGMENT_SIZE])
        )
    return out


def check_one_whole_datagram(lan, sock, before):
    got = receive(sock, "RFC 1122 3.3.2: the fragments make one datagram, which must be reassembled and delivered")
    rest = held_before_fence(lan, sock)
    changes = counter_changes(before, lan.control.counters("snmp"), prefix="")
    assert got == DATA, (
        f"the application must read the whole reassembled datagram ({len(DATA)} octets); it read {len(got)} octets"
        + ("" if len(got) != len(DATA) else " that differ")
    )
    assert rest == [], f"the application must read the datagram once and nothing else; it also read {len(rest)} more"
    assert changes.get("Ip.ReasmOKs") == 1, f"the SUT must count one reassembled datagram; counters changed: {changes}"


@case("UDP-FRAGMENTS-REASSEMBLED", rfc=1122, section="3.3.2", level=MUST, layer=4, also=(791,),
      needs=("sockets", "counters"))
def test_fragmented_datagram_is_delivered_whole(lan):
    """A datagram that arrives in fragments is reassembled and delivered to the application as one datagram."""
    sock = lan.app.udp(SUT_PORT)
    before = lan.control.counters("snmp")
    for frag in fragments(lan, DATA, ident=0x5101):
        lan.tester.send(frag)
    check_one_whole_datagram(lan, sock, before)


@case("UDP-FRAGMENTS-OUT-OF-ORDER-REASSEMBLED", rfc=1122, section="3.3.2", level=MUST, layer=4, also=(791,),
      needs=("sockets", "counters"))
def test_fragments_in_reverse_order_are_delivered_whole(lan):
    """A datagram whose fragments arrive last first is reassembled and delivered to the application as one datagram."""
    sock = lan.app.udp(SUT_PORT)
    before = lan.control.counters("snmp")
    for frag in reversed(fragments(lan, DATA, ident=0x5102)):
        lan.tester.send(frag)
    check_one_whole_datagram(lan, sock, before)


@case("UDP-FRAGMENTS-CHECKSUM-COVERS-ALL", rfc=1122, section="4.1.3.4", level=MUST, layer=4, also=(768,),
      needs=("sockets", "counters"))
def test_damage_in_a_later_fragment_fails_the_checksum(lan):
    """A reassembled datagram whose data was damaged in a later fragment fails the checksum and is discarded.

    The checksum travels in the first fragment but covers the whole datagram: one data octet
    of the last fragment is changed after the checksum was computed.
    """
    frags = fragments(lan, DATA, ident=0x5103)
    damaged = bytearray(frags[-1][Raw].load)
    damaged[-1] ^= 0xFF
    frags[-1][Raw].load = bytes(damaged)
    sock = lan.app.udp(SUT_PORT)
    before = lan.control.counters("snmp")
    for frag in frags:
        lan.tester.send(frag)
    held = held_before_fence(lan, sock)
    changes = counter_changes(before, lan.control.counters("snmp"), prefix="")
    if not held and changes.get("Ip.ReasmOKs") != 1:
        raise Inconclusive(f"the SUT did not reassemble the fragments at all, so its checksum check was never reached (counters changed: {changes})")
    assert held == [], (
        "RFC 1122 4.1.3.4: the checksum of the reassembled datagram is invalid, so it MUST be discarded; the "
        f"application read {len(held)} datagram(s) (counters changed: {changes})"
    )
