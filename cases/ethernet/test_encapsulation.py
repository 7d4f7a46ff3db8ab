"""Frame length and encapsulation: Ethernet padding is not part of the datagram (RFC 894), and
RFC 1042 (IEEE 802.2 LLC/SNAP) framing is understood on receipt (RFC 1122 2.3.3).

RFC 894 "Frame Format" predates RFC 2119 and states the padding rule as a fact ("This padding is
not part of the IP packet and is not included in the total length field of the IP header"); a
receiver that counted it in would corrupt the datagram, so the cases hold it at MUST.
"""

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, LLC, SNAP, Dot3, Ether
from scapy.packet import Raw

from cases.arp.frames import reply_from
from cases.ethernet.frames import BROADCAST, echo
from conformance.catalog import MUST, SHOULD, case

PADDING = b"\xaa" * 24  # not zero, so that a stack counting it in would show it


@case("ETH-PADDING-NOT-DATA-ICMP", rfc=894, section="Frame Format", level=MUST, layer=2)
def test_padding_after_echo_request_is_not_echoed(lan):
    """Octets after the IP total length (Ethernet padding) are not part of the datagram: the echo
    reply returns exactly the request's data, not the padding."""
    frame, reply_matcher = echo(lan, data=b"pad")
    reply = lan.tester.exchange(Ether(bytes(frame) + PADDING), expect=reply_matcher)
    data = bytes(reply[ICMP].payload)
    assert reply[IP].len == 20 + 8 + 3, f"the reply's total length must be 31 (header, ICMP header, 3 data octets), was {reply[IP].len}"
    assert data[: reply[IP].len - 28] == b"pad", f"the reply must carry the 3 data octets b'pad', carried {data!r}"


@case("ETH-PADDING-NOT-DATA-UDP", title="Padding after a UDP datagram is not delivered", rfc=894, section="Frame Format", level=MUST, layer=2, needs=("sockets",))
def test_padding_after_udp_datagram_is_not_delivered(lan):
    """Octets after the IP total length are not part of the datagram: a UDP application receives
    exactly the datagram's data."""
    sock = lan.app.udp(7007)
    t = lan.tester
    frame = Ether(src=t.mac, dst=lan.sut.mac) / IP(src=t.ip, dst=lan.sut.ip) / UDP(sport=40000, dport=7007) / b"five!"
    t.send(Ether(bytes(frame) + PADDING))
    try:
        got = sock.recv(timeout=1.0)
    except TimeoutError:
        raise AssertionError("the padded UDP datagram must be delivered; the application received nothing") from None
    assert got == b"five!", f"the application must receive the 5 data octets b'five!', received {got!r}"


def rfc1042(dst: str, src: str, ethertype: int, payload: bytes):
    return Dot3(dst=dst, src=src) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=ethertype) / Raw(payload)


@case("ETH-RFC1042-IP-RECEIVE", title="IP in an LLC/SNAP frame is received", rfc=1122, section="2.3.3", level=SHOULD, layer=2, also=(1042,))
def test_ip_in_llc_snap_frame_is_received(lan):
    """An IP datagram in RFC 1042 framing (802.3 length, LLC 0xAA 0xAA 0x03, SNAP OUI 0, type
    0x0800) is received like one in RFC 894 framing."""
    frame, reply_matcher = echo(lan)
    # Fenced: an echo reply is made at once on receipt, so it would precede the answer to the fence.
    lan.tester.exchange(rfc1042(lan.sut.mac, lan.tester.mac, 0x0800, bytes(frame[IP])), expect=reply_matcher, fenced=True)


@case("ETH-RFC1042-ARP-RECEIVE", title="ARP in an LLC/SNAP frame is answered", rfc=1122, section="2.3.3", level=SHOULD, layer=2, also=(1042,))
def test_arp_in_llc_snap_frame_is_answered(lan):
    """An ARP request in RFC 1042 framing (SNAP type 0x0806) for the SUT's address is answered."""
    arp = ARP(op="who-has", hwsrc=lan.tester.mac, psrc=lan.tester.ip, hwdst="00:00:00:00:00:00", pdst=lan.sut.ip)
    # Fenced: an ARP reply is made at once on receipt, so it would precede the answer to the fence.
    lan.tester.exchange(rfc1042(BROADCAST, lan.tester.mac, 0x0806, bytes(arp)), expect=reply_from(lan.sut.ip), fenced=True)
