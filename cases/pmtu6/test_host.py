"""The host's side of Path MTU Discovery for IPv6 (RFC 8201 4 and 5.2; RFC 4443 3.2).

Topology `lan6`: a connected UDP socket on the SUT sends to 2001:db8:ff::9, beyond its default
router; the tester plays the router (2001:db8::fe), sees the SUT's packets and answers with
Packet Too Big from the router's address, quoting them. The SUT's estimate is read two ways: the
size of what it sends next (whole, or in fragments no larger than the estimate), and the
socket's IPV6_MTU.

RFC 8201 1 makes Path MTU Discovery itself a SHOULD ("a minimal IPv6 implementation ... may
choose to omit" it and send no packet larger than 1280 octets). A SUT whose first 1400-octet
packet already leaves in pieces of at most 1280 octets shows it does without, and the cases
about what Packet Too Big does are NOT-IMPLEMENTED for it. RFC 8201 is written in lower case;
its "must" is read as MUST and its "should" as MAY (as for RFC 8200, cases/ipv6/test_header.py).
"""

import socket

from scapy.layers.inet import TCP
from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from cases.ipv6.frames import IPV6_RECVERR, SO_EE_ORIGIN_ICMP6, error_report
from cases.ipv6.test_fragments import complete
from conformance.catalog import MAY, MUST, case
from conformance.match import like
from conformance.tcp import TcpPeer
from conformance.verdict import Inconclusive, not_implemented

REMOTE, OTHER_REMOTE = "2001:db8:ff::9", "2001:db8:ff::10"
REMOTE_PORT = 9600
IPV6_MTU = 24  # Linux <linux/in6.h>
DATA = 1352  # 1400-octet packets: 40 + 8 + 1352
LINK_MTU = 1500
MIN_MTU = 1280
PMTUD = "RFC 8201 Path MTU Discovery (RFC 8201 1: IPv6 nodes SHOULD implement it)"


class Sender:
    """A connected UDP socket on the SUT and what the tester sees of its packets."""

    def __init__(self, lan6, remote: str = REMOTE, recverr: bool = False) -> None:
        self.lan6, self.remote = lan6, remote
        self.sock = lan6.app.udp(0, connect=(remote, REMOTE_PORT))
        if recverr:
            self.sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)

    def send(self, size: int = DATA) -> list:
        """Send one datagram of `size` data octets; return the packets it left as (1 or more fragments)."""
        self.sock.send(bytes(size))
        first = self.lan6.tester.expect(like(Ether(dst=self.lan6.gateway.mac) / IPv6(src=self.lan6.sut.ip, dst=self.remote),
                                             name=f"the SUT's packet to {self.remote}"))
        if first.getlayer(IPv6ExtHdrFragment) is None:
            return [first]
        ident = first[IPv6ExtHdrFragment].id
        pieces = [first]
        while not complete(pieces):
            pieces.append(self.lan6.tester.expect(like(IPv6(dst=self.remote) / IPv6ExtHdrFragment(id=ident))))
        return pieces

    def too_big(self, packet, mtu: int, code: int = 0) -> None:
        """Answer `packet` with Packet Too Big from the router, MTU `mtu`, and wait until the SUT
        has handled it; clear the error a connected socket may hold for the application."""
        raw = bytes(packet[IPv6])[: MIN_MTU - 48]
        self.lan6.tester.send(Ether(src=self.lan6.gateway.mac, dst=self.lan6.sut.mac)
                              / IPv6(src=self.lan6.gateway.ip, dst=self.lan6.sut.ip)
                              / ICMPv6PacketTooBig(mtu=mtu, code=code) / Raw(raw))
        self.lan6.tester.handled()
        self.sock.error()

    def path_mtu(self) -> int:
        return int(self.sock.getsockopt(socket.IPPROTO_IPV6, IPV6_MTU))


def largest(packets: list) -> int:
    return max(len(bytes(p[IPv6])) for p in packets)


def first_whole(sender: Sender) -> list:
    """The first 1400-octet packet; NOT-IMPLEMENTED when it already leaves in pieces of at most
    1280 octets (a node without Path MTU Discovery), INCONCLUSIVE when it is cut otherwise."""
    packets = sender.send()
    if largest(packets) <= MIN_MTU:
        not_implemented(f"the SUT sent its first 1400-octet packet in pieces of at most {largest(packets)} octets: it "
                        "keeps to the minimum MTU instead of discovering the path MTU")
    if len(packets) != 1:
        raise Inconclusive(f"the first 1400-octet packet left in {len(packets)} pieces though the link MTU is {LINK_MTU}")
    return packets


def applied(sender: Sender, packet, mtu: int) -> None:
    """Answer with a valid Packet Too Big and show the SUT took it (IPV6_MTU reads `mtu`);
    INCONCLUSIVE otherwise, for cases about what a further message does."""
    sender.too_big(packet, mtu)
    if sender.path_mtu() != mtu:
        raise Inconclusive(f"the SUT did not apply a valid Packet Too Big (MTU {mtu}): IPV6_MTU reads {sender.path_mtu()}, "
                           "so what it does with the message under test proves nothing")


@case("PMTU6-HOST-LOWERS", rfc=8201, section="4", level=MUST, layer=3, needs=("sockets",), optional=PMTUD)
def test_host_reduces_its_packets_after_packet_too_big(lan6):
    """A node that receives Packet Too Big reduces its Path MTU estimate to the reported MTU and sends no larger packets on that path.

    RFC 8201 4: "When a node receives a Packet Too Big message, it must reduce its estimate of
    the PMTU for the relevant path, based on the value of the MTU field in the message" and "must
    reduce the size of the packets it is sending along the path". A 1400-octet packet is
    answered with MTU 1300: the next 1400-octet datagram must leave in pieces of at most 1300
    octets, and IPV6_MTU must read 1300.
    """
    sender = Sender(lan6)
    first = first_whole(sender)
    sender.too_big(first[0], 1300)
    again = sender.send()
    assert largest(again) <= 1300, f"after Packet Too Big with MTU 1300, a {largest(again)}-octet packet left on the path"
    assert sender.path_mtu() == 1300, f"the socket's path MTU must read 1300; IPV6_MTU reads {sender.path_mtu()}"


@case("PMTU6-HOST-CODE-IGNORED", rfc=4443, section="3.2", level=MUST, layer=3, needs=("sockets",), also=(8201,),
      optional=PMTUD)
def test_packet_too_big_with_a_non_zero_code_is_honoured(lan6):
    """A Packet Too Big whose Code is not zero is honoured like any other: the code is ignored by the receiver.

    RFC 4443 3.2: Code is "Set to 0 (zero) by the originator and ignored by the receiver". A
    Packet Too Big with Code 7 and MTU 1300: the next 1400-octet datagram must leave in pieces
    of at most 1300 octets, and IPV6_MTU read 1300.
    """
    sender = Sender(lan6)
    first = first_whole(sender)
    sender.too_big(first[0], 1300, code=7)
    again = sender.send()
    assert largest(again) <= 1300, f"after Packet Too Big (code 7) with MTU 1300, a {largest(again)}-octet packet left on the path"
    assert sender.path_mtu() == 1300, f"the socket's path MTU must read 1300; IPV6_MTU reads {sender.path_mtu()}"


@case("PMTU6-HOST-BELOW-MINIMUM-DISCARDED", rfc=8201, section="4", level=MUST, layer=3, needs=("sockets",), optional=PMTUD)
def test_packet_too_big_below_1280_is_discarded(lan6):
    """A Packet Too Big that reports an MTU below 1280 octets is discarded.

    RFC 8201 4: "If a node receives a Packet Too Big message reporting a next-hop MTU that is less
    than the IPv6 minimum link MTU, it must discard it." After Packet Too Big with MTU 1000 the
    next 1400-octet packet must still leave whole and IPV6_MTU read 1500. Control: a valid
    Packet Too Big (MTU 1300) is then applied, or the case is INCONCLUSIVE.
    """
    sender = Sender(lan6)
    first = first_whole(sender)
    sender.too_big(first[0], 1000)
    again = sender.send()
    assert largest(again) == 1400, f"after a Packet Too Big with MTU 1000, which must be discarded, the packet left in pieces of {largest(again)} octets"
    assert sender.path_mtu() == LINK_MTU, f"the estimate must stay {LINK_MTU}; IPV6_MTU reads {sender.path_mtu()}"
    applied(sender, again[0], 1300)


@case("PMTU6-HOST-NEVER-BELOW-MINIMUM", rfc=8201, section="4", level=MUST, layer=3, needs=("sockets",), optional=PMTUD)
def test_estimate_never_goes_below_1280(lan6):
    """A node never reduces its Path MTU estimate below 1280 octets, the IPv6 minimum link MTU.

    RFC 8201 4: "A node must not reduce its estimate of the Path MTU below the IPv6 minimum link
    MTU on receipt of a Packet Too Big message." The estimate is first brought to 1280 (a valid
    Packet Too Big, which must be applied, else INCONCLUSIVE); then a Packet Too Big with MTU
    1000 comes. IPV6_MTU must still read 1280, and a 1280-octet packet leave whole.
    """
    sender = Sender(lan6)
    first = first_whole(sender)
    applied(sender, first[0], MIN_MTU)
    again = sender.send()
    sender.too_big(again[0], 1000)
    assert sender.path_mtu() >= MIN_MTU, f"the estimate must not go below 1280; IPV6_MTU reads {sender.path_mtu()}"
    small = sender.send(MIN_MTU - 48)
    assert len(small) == 1 and largest(small) == MIN_MTU, f"a 1280-octet packet must leave whole; it left in {len(small)} pieces"


@case("PMTU6-HOST-NO-INCREASE", rfc=8201, section="4", level=MUST, layer=3, needs=("sockets",), optional=PMTUD)
def test_packet_too_big_never_raises_the_estimate(lan6):
    """A node does not increase its Path MTU estimate because of a Packet Too Big message.

    RFC 8201 4 (as RFC 1981 4 before it): a node must not increase its estimate of the Path MTU
    in response to the contents of a Packet Too Big message. After the estimate is brought to
    1300 (applied, else INCONCLUSIVE), a Packet Too Big with MTU 1400 must leave it at 1300.
    """
    sender = Sender(lan6)
    first = first_whole(sender)
    applied(sender, first[0], 1300)
    again = sender.send()
    sender.too_big(again[0], 1400)
    assert sender.path_mtu() == 1300, f"the estimate must stay 1300; IPV6_MTU reads {sender.path_mtu()}"
    third = sender.send()
    assert largest(third) <= 1300, f"a {largest(third)}-octet packet left after the estimate was 1300"


@case("PMTU6-HOST-PER-PATH", rfc=8201, section="5.2", level=MAY, layer=3, needs=("sockets",), optional=PMTUD)
def test_packet_too_big_lowers_only_its_own_path(lan6):
    """A Packet Too Big lowers the estimate of the path it concerns, not that of another destination.

    RFC 8201 5.2: "Ideally, a PMTU value should be associated with a specific path traversed by
    packets exchanged between the source and destination nodes" (a lower-case "should": MAY).
    After Packet Too Big (MTU 1300) for 2001:db8:ff::9, a 1400-octet packet to 2001:db8:ff::10,
    through the same router, must leave whole.
    """
    sender = Sender(lan6)
    first = first_whole(sender)
    applied(sender, first[0], 1300)
    other = Sender(lan6, OTHER_REMOTE)
    packets = other.send()
    assert len(packets) == 1 and largest(packets) == 1400, (
        f"a packet to another destination must not be cut for the first one's path; it left as {len(packets)} piece(s) "
        f"of at most {largest(packets)} octets")
    assert other.path_mtu() == LINK_MTU, f"the other destination's estimate must stay {LINK_MTU}; IPV6_MTU reads {other.path_mtu()}"


@case("PMTU6-HOST-NOTIFY", rfc=4443, section="3.2", level=MUST, layer=4, needs=("sockets",))
def test_packet_too_big_reaches_the_upper_layer(lan6):
    """A Packet Too Big message is passed to the upper-layer process it concerns.

    RFC 4443 3.2: "An incoming Packet Too Big message MUST be passed to the upper-layer process if
    the relevant process can be identified". The socket asks for its ICMPv6 errors
    (IPV6_RECVERR); a Packet Too Big (MTU 1300) quoting its packet must reach it.
    """
    sender = Sender(lan6, recverr=True)
    packets = sender.send()
    raw = bytes(packets[0][IPv6])[: MIN_MTU - 48]
    lan6.tester.send(Ether(src=lan6.gateway.mac, dst=lan6.sut.mac) / IPv6(src=lan6.gateway.ip, dst=lan6.sut.ip)
                     / ICMPv6PacketTooBig(mtu=1300) / Raw(raw))
    lan6.tester.handled()
    report = error_report(sender.sock)
    assert report is not None, "the Packet Too Big never reached the application's error queue"
    _err, origin, icmp_type, _code = report
    assert (origin, icmp_type) == (SO_EE_ORIGIN_ICMP6, 2), f"the application must learn of a Packet Too Big; it got origin {origin} type {icmp_type}"


@case("PMTU6-HOST-TCP-RESEGMENTS", title="TCP sends smaller segments after Packet Too Big", rfc=8201, section="4", level=MUST, layer=4, needs=("sockets",), optional=PMTUD)
def test_tcp_sends_smaller_segments_after_packet_too_big(lan6):
    """A TCP connection whose segment draws Packet Too Big sends smaller packets on the path from then on.

    RFC 8201 4: the node "must reduce the size of the packets it is sending along the path"; 5.4:
    TCP adjusts its segment size to the new estimate. The SUT connects to 2001:db8:ff::9 (the
    tester answers for it through the router) and sends 4000 octets; its first full-sized
    segment is answered with Packet Too Big, MTU 1300. Every later packet of the connection,
    the retransmission included, must be at most 1300 octets.
    """
    sock = lan6.app.connect(REMOTE, REMOTE_PORT)
    peer = TcpPeer(lan6.tester, dst_ip=lan6.sut.ip, dst_mac=lan6.sut.mac, dport=0, src_ip=REMOTE)
    syn = lan6.tester.expect(like(IPv6(src=lan6.sut.ip, dst=REMOTE) / TCP(flags="S"), name="the SUT's SYN"))
    peer.sport, peer.dport = REMOTE_PORT, syn[TCP].sport
    peer.take_syn(syn)
    peer.port.send(peer.segment("SA", options=[("MSS", 1440)], ack=peer.rcv_nxt))
    peer.snd_nxt += 1
    lan6.tester.expect(peer.from_sut("A"))
    sock.send(bytes(4000))
    big = lan6.tester.expect(like(IPv6(src=lan6.sut.ip, dst=REMOTE) / TCP(), name="the SUT's first data segment"))
    if len(bytes(big[IPv6])) <= 1300:
        raise Inconclusive(f"the first data segment was only {len(bytes(big[IPv6]))} octets, so Packet Too Big at 1300 changes nothing")
    raw = bytes(big[IPv6])[: MIN_MTU - 48]
    lan6.tester.send(Ether(src=lan6.gateway.mac, dst=lan6.sut.mac) / IPv6(src=lan6.gateway.ip, dst=lan6.sut.ip)
                     / ICMPv6PacketTooBig(mtu=1300) / Raw(raw))
    retransmitted = lan6.tester.expect(like(IPv6(src=lan6.sut.ip, dst=REMOTE) / TCP(seq=big[TCP].seq),
                                            name="the retransmission of the first data segment"), timeout=3.0)
    sizes = [len(bytes(retransmitted[IPv6]))]
    lan6.tester.handled()
    sizes += [len(bytes(f.packet[IPv6])) for f in lan6.tester.arrived()
              if f.packet.getlayer(TCP) is not None and f.packet[IPv6].src == lan6.sut.ip]
    assert max(sizes) <= 1300, f"after Packet Too Big with MTU 1300, the connection sent packets of {max(sizes)} octets"
