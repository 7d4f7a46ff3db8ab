"""The host's side of Path MTU Discovery (RFC 1191 sections 3, 5, 6.4 and 7).

Topology `lan`: a connected UDP socket on the SUT sends to a destination beyond its default
gateway (198.19.0.9); the tester plays the gateway, sees the SUT's datagrams and answers with
Datagram Too Big (ICMP type 3 code 4) from the gateway's address, quoting them. The SUT's
estimate is read two ways: the size of what it sends next, and the socket's IP_MTU.

Section 3 lets a host avoid further Datagram Too Big messages either by sending smaller
datagrams or by no longer setting DF, so a datagram that leaves larger than the estimate
without DF is accepted. Sections 5 and 6 are, in the RFC's own words, not part of the
protocol specification but suggestions; the cases citing them read their lower-case
"should" as SHOULD and the plateau search of section 5 (one strategy among several) as MAY.
"""

import socket

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import Ether

from cases.icmp.frames import ip_bytes, ip_like
from conformance.catalog import MAY, MUST, SHOULD, case
from conformance.match import like
from conformance.tcp import TcpPeer
from conformance.verdict import Inconclusive

REMOTE, OTHER_REMOTE = "198.19.0.9", "198.19.0.10"
SUT_PORT, REMOTE_PORT = 7200, 9200
TCP_PORT = 7300
IP_MTU = 14
PAYLOAD = 1372  # 1400-octet datagrams
LINK_MTU = 1500
PLATEAUS = (65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68)  # RFC 1191 section 7


class Sender:
    """A connected UDP socket on the SUT and what the tester sees of its datagrams."""

    def __init__(self, lan, remote: str = REMOTE, sport: int = SUT_PORT) -> None:
        self.lan, self.remote, self.sport = lan, remote, sport
        self.sock = lan.app.udp(sport, connect=(remote, REMOTE_PORT))

    def send(self, size: int = PAYLOAD) -> list:
        """Send one datagram of `size` data octets; return the IP frames it left as (1 or more fragments)."""
        self.sock.send(bytes(size))
        matcher = like(ip_like(src=self.lan.sut.ip, dst=self.remote, proto=17))
        first = self.lan.tester.expect(matcher)
        frames = [first]
        ident = first[IP].id
        covered = _data_len(first)
        while _more_expected(frames) and covered < size + 8:
            nxt = self.lan.tester.expect(like(ip_like(src=self.lan.sut.ip, dst=self.remote, id=ident)))
            frames.append(nxt)
            covered += _data_len(nxt)
        return frames

    def too_big(self, frame, mtu: int) -> None:
        """Answer `frame` with Datagram Too Big from the gateway, Next-Hop MTU `mtu`."""
        self.too_big_for(self.lan, frame, mtu)
        # Fence: once the SUT has answered an echo sent after it, the message has been processed.
        self.lan.tester.expect_none(like(ip_like(src=self.lan.sut.ip, dst=self.lan.gateway.ip)))
        # A connected UDP socket may hold the news as a pending EMSGSIZE for the application
        # (RFC 1191 section 6.3 lets the host tell it); read it so the next send goes ahead.
        self.sock.error()

    @staticmethod
    def too_big_for(lan, frame, mtu: int) -> None:
        quote = ip_bytes(frame)[: (ip_bytes(frame)[0] & 0x0F) * 4 + 8]
        lan.tester.send(
            Ether(src=lan.gateway.mac, dst=lan.sut.mac) / IP(src=lan.gateway.ip, dst=lan.sut.ip)
            / ICMP(type=3, code=4, nexthopmtu=mtu) / quote
        )

    def path_mtu(self) -> int:
        return int(self.sock.getsockopt(socket.IPPROTO_IP, IP_MTU))


def _data_len(frame) -> int:
    return frame[IP].len - frame[IP].ihl * 4


def _more_expected(frames: list) -> bool:
    return any(f[IP].flags.MF for f in frames) or any(f[IP].frag for f in frames)


def applied(sender: Sender, frames: list, mtu: int) -> None:
    """Answer `frames` with Datagram Too Big (Next-Hop MTU `mtu`) and show the SUT took it: its
    estimate for the destination reads `mtu`. INCONCLUSIVE otherwise: a case that needs Datagram
    Too Big to work at all cannot judge a SUT that ignores it."""
    if largest(frames) <= mtu:
        raise Inconclusive(f"the first datagram left in pieces of at most {largest(frames)} octets, so a Datagram Too Big "
                           f"with MTU {mtu} cannot be shown to be applied")
    sender.too_big(frames[0], mtu)
    if sender.path_mtu() != mtu:
        raise Inconclusive(
            f"the SUT did not apply a valid Datagram Too Big (Next-Hop MTU {mtu}) for {sender.remote}: IP_MTU reads "
            f"{sender.path_mtu()}, so what it does with the message under test proves nothing"
        )


def largest(frames: list) -> int:
    return max(f[IP].len for f in frames)


def keeps_to(frames: list, limit: int) -> bool:
    """No frame larger than `limit` octets, or the datagram sent without DF (RFC 1191 section 3)."""
    return largest(frames) <= limit or not any(f[IP].flags.DF for f in frames)


@case("PMTU-HOST-LOWERS", title="Host lowers its datagram size after Datagram Too Big", rfc=1191, section="3", level=MUST, layer=3, needs=("sockets",))
def test_host_lowers_datagram_size_after_datagram_too_big(lan):
    """A host that receives Datagram Too Big for a destination lowers its Path MTU estimate to the Next-Hop MTU and sends no larger datagrams there.

    After a 1400-octet datagram is answered with Next-Hop MTU 1280, the next 1400-octet
    datagram to the same destination must leave in pieces of at most 1280 octets, and the
    socket's path MTU must read 1280.
    """
    sender = Sender(lan)
    first = sender.send()
    if largest(first) != PAYLOAD + 28:
        raise Inconclusive(f"the first datagram did not leave whole ({PAYLOAD + 28} octets), so no decrease can be shown")
    sender.too_big(first[0], 1280)
    again = sender.send()
    assert keeps_to(again, 1280), (
        f"after Datagram Too Big with MTU 1280, nothing larger may be sent with DF set; a {largest(again)}-octet datagram left with DF"
    )
    assert sender.path_mtu() == 1280, f"the SUT's path MTU for the destination must be 1280; IP_MTU reads {sender.path_mtu()}"


@case("PMTU-HOST-NEVER-BELOW-68", title="Host never lowers its estimate below 68", rfc=1191, section="3", level=MUST, layer=3, needs=("sockets",))
def test_host_never_lowers_estimate_below_68(lan):
    """A host never reduces its Path MTU estimate below 68 octets, whatever a Datagram Too Big message says.

    The tester claims a Next-Hop MTU of 40; afterwards the socket's path MTU must be at least
    68, and the first fragment of the next 1400-octet datagram at least 68 octets long.

    Control: before that, a valid Datagram Too Big (MTU 1280) for the same destination must be
    applied (IP_MTU reads 1280); a SUT that ignores Datagram Too Big altogether is not shown to
    keep any bound, and the case is INCONCLUSIVE.
    """
    sender = Sender(lan)
    first = sender.send()
    applied(sender, first, 1280)
    lowered = sender.send()
    sender.too_big(lowered[0], 40)
    assert sender.path_mtu() >= 68, f"the path MTU estimate must never drop below 68; IP_MTU reads {sender.path_mtu()}"
    again = sender.send()
    assert again[0][IP].len >= 68, f"the SUT must not send fragments smaller than 68 octets; the first was {again[0][IP].len}"


@case("PMTU-HOST-NO-INCREASE", title="Host does not raise its estimate from Datagram Too Big", rfc=1191, section="3", level=MUST, layer=3, needs=("sockets",))
def test_host_does_not_raise_estimate_from_datagram_too_big(lan):
    """A host does not increase its Path MTU estimate in response to a Datagram Too Big message.

    After the estimate has been lowered to 1280, a second message claiming 1400 must leave it
    at 1280, and a 1400-octet datagram must still leave in pieces of at most 1280 octets.
    """
    sender = Sender(lan)
    first = sender.send()
    sender.too_big(first[0], 1280)
    lowered = sender.send()
    sender.too_big(lowered[0], 1400)
    assert sender.path_mtu() == 1280, f"a Datagram Too Big message must not raise the estimate above 1280; IP_MTU reads {sender.path_mtu()}"
    again = sender.send()
    assert keeps_to(again, 1280), f"the SUT must keep to 1280 octets (or stop setting DF); a {largest(again)}-octet datagram left with DF"


@case("PMTU-HOST-OLD-STYLE", title="Host handles Datagram Too Big without a next-hop MTU", rfc=1191, section="3", level=MUST, layer=3, needs=("sockets",))
def test_host_handles_datagram_too_big_without_next_hop_mtu(lan):
    """A host deals with a Datagram Too Big message whose Next-Hop MTU field is zero (from an old router) by lowering its estimate below the quoted datagram's length.

    The 1400-octet datagram is answered with Next-Hop MTU 0; the next one must leave in
    pieces smaller than 1400 octets (and, by section 3, not below 68).
    """
    sender = Sender(lan)
    first = sender.send()
    sender.too_big(first[0], 0)
    again = sender.send()
    mtu = sender.path_mtu()
    assert 68 <= mtu < PAYLOAD + 28, f"the estimate must fall below the 1400-octet datagram that was too big, and not below 68; IP_MTU reads {mtu}"
    assert keeps_to(again, PAYLOAD + 27), (
        f"the next datagram must leave in smaller pieces (or without DF); a {largest(again)}-octet one left with DF"
    )


@case("PMTU-HOST-PLATEAU", title="Host uses the plateau table for an old-style message", rfc=1191, section="5", level=MAY, layer=3, needs=("sockets",))
def test_host_uses_plateau_table_for_old_style_message(lan):
    """On a Datagram Too Big message without Next-Hop MTU, a host may estimate the Path MTU as the largest plateau of the RFC's table below the quoted datagram's length.

    RFC 1191 recommends this search strategy in a section that is not part of the protocol
    specification, hence MAY; for a 1400-octet datagram the plateau below it is 1006.
    """
    sender = Sender(lan)
    first = sender.send()
    sender.too_big(first[0], 0)
    expected = max(p for p in PLATEAUS if p < PAYLOAD + 28)
    assert sender.path_mtu() == expected, (
        f"the estimate must be the plateau {expected}, the largest below 1400; IP_MTU reads {sender.path_mtu()}"
    )


@case("PMTU-HOST-PER-DESTINATION", title="Path MTU is kept per destination", rfc=1191, section="6.2", level=SHOULD, layer=3, needs=("sockets",))
def test_path_mtu_is_kept_per_destination(lan):
    """A Path MTU learned for one destination does not lower the estimate for another destination reached through the same gateway.

    Section 6.2: the IP layer should associate each PMTU value it has learned with a specific
    path (source, destination, TOS). After Datagram Too Big (MTU 1280) for 198.19.0.9, a
    1400-octet datagram to 198.19.0.10 must still leave whole.

    Control: the message must have been applied to 198.19.0.9 (IP_MTU reads 1280 there), or a
    SUT that ignores Datagram Too Big would pass unseen (INCONCLUSIVE).
    """
    sender = Sender(lan)
    first = sender.send()
    applied(sender, first, 1280)
    other = Sender(lan, OTHER_REMOTE, SUT_PORT + 1)
    frames = other.send()
    assert largest(frames) == PAYLOAD + 28, (
        f"the other destination's datagram must leave whole ({PAYLOAD + 28} octets); it left as pieces of at most {largest(frames)}"
    )
    assert other.path_mtu() == LINK_MTU, f"the other destination's path MTU must stay {LINK_MTU}; IP_MTU reads {other.path_mtu()}"


@case("PMTU-HOST-TCP-LOWERS", title="TCP resends in smaller segments after Datagram Too Big", rfc=1191, section="6.4", level=SHOULD, layer=4, needs=("sockets",))
def test_tcp_resends_in_smaller_segments_after_datagram_too_big(lan):
    """A TCP sender that learns a smaller Path MTU sends no segment larger than it, including the retransmission of the one that was too big.

    The tester opens a connection to the SUT from 198.19.0.9 (beyond the gateway) with MSS
    1460; the SUT writes 4000 octets. The tester answers the first data segment with Datagram
    Too Big (MTU 1280) and acknowledges nothing: the data the SUT sends again must come in
    datagrams of at most 1280 octets, starting at the unacknowledged sequence number. Section
    6.4 has TCP track the Path MTU and not send larger datagrams, and treat the message like a
    retransmission timeout for the dropped segment. As in the other cases here, a larger datagram
    sent without DF is accepted (section 3: a host that does not do Path MTU Discovery does not
    set DF, and its datagrams are fragmented on the way).
    """
    listener = lan.app.listen(TCP_PORT)
    peer = TcpPeer(lan.tester, dst_ip=lan.sut.ip, dst_mac=lan.sut.mac, dport=TCP_PORT, src_ip=REMOTE)
    peer.open(options=[("MSS", 1460)])
    conn = listener.accept()
    conn.send(bytes(4000))
    first = lan.tester.expect(peer.from_sut(seq=peer.rcv_nxt))
    if first[IP].len <= 1280:
        raise Inconclusive(f"the SUT's first segment ({first[IP].len} octets) already fits 1280, so no decrease can be shown")
    unacked = first[TCP].seq
    Sender.too_big_for(lan, first, 1280)
    again = lan.tester.expect(peer.from_sut(seq=unacked), timeout=3.0)
    assert keeps_to([again], 1280), (
        f"after Datagram Too Big with MTU 1280 the SUT must resend in datagrams of at most 1280 octets (or without DF, "
        f"section 3); it resent {again[IP].len} octets with DF"
    )
