"""The TUN device: user space as the far end of an IP tunnel.

Linux's TUN/TAP interface is not specified by an RFC. Each case checks an RFC requirement on
the path through the TUN device, and names that RFC: RFC 791 for the datagram format handed to
user space, RFC 1122 3.3.1 and RFC 1812 5.2.4.3 for the route that selects the tunnel, RFC 1812
5.3.1 for forwarding into and out of it, RFC 792 / RFC 1122 3.2.2.6 for what user space writes.

RFC 791 and RFC 792 predate RFC 2119; the cases that cite them read their statements of the
datagram format, of fragmentation (791 2.3) and of the echo reply as MUST.
"""

from scapy.layers.inet import ICMP, IP, UDP, IPerror
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import checksum

from conformance.catalog import MUST, SHOULD, case
from conformance.match import like

VPN_HOST = "198.18.200.5"


@case("TUN-HANDS-WHOLE-IP-DATAGRAM", title="TUN reader gets the complete IP datagram without a link header", rfc=791, section="3.1", level=MUST, layer=3)
def test_tun_reader_gets_complete_ip_datagram_without_link_header(tuntap):
    """What the stack sends into a TUN device reaches the reader as one complete IPv4 datagram,
    starting at the version/IHL octet with no link-layer header, its total length equal to what
    was read and its header checksum valid.

    The SUT sends a UDP datagram to 198.18.200.5, routed `dev tun0`.

    The TUN device is Linux's interface, not an RFC's:
    this case checks RFC 791 3.1 on the path through it.
    """
    sock = tuntap.app.udp(connect=(VPN_HOST, 7201))
    sock.send(b"through-the-tunnel")
    matcher = like(IP(dst=VPN_HOST) / UDP(dport=7201))
    tuntap.tun.expect(matcher)
    raw = next(f.data for f in tuntap.tun.capture.frames if f.port == "tun" and f.direction == "in" and matcher(f.packet))
    assert raw[0] >> 4 == 4, f"the first octet must be the IPv4 version/IHL (0x45), not a link header: {raw[:4].hex()}"
    ihl = (raw[0] & 0x0F) * 4
    total = int.from_bytes(raw[2:4], "big")
    assert total == len(raw), f"RFC 791 3.1: total length {total} must equal the {len(raw)} octets handed to user space"
    assert checksum(raw[:ihl]) == 0, "RFC 791 3.1: the header checksum of the datagram handed to user space must be valid"
    assert raw[ihl + 8:] == b"through-the-tunnel", "the whole payload must be handed over"


@case("TUN-ROUTE-SELECTS-TUNNEL", title="Route via TUN sends matching traffic to the reader", rfc=1122, section="3.3.1.1", level=MUST, layer=3, also=(1812,))
def test_route_via_tun_sends_matching_traffic_to_reader(tuntap):
    """A route via the TUN device sends the datagrams it matches to the tunnel's reader, while
    other remote destinations keep using the default gateway on the Ethernet link.

    The SUT's table: `198.18.200.0/24 dev tun0`, `default via 198.18.0.254 dev eth0`. It sends to
    198.18.200.5 (tunnel) and to 198.19.1.1 (default).

    The TUN device is Linux's interface, not an RFC's:
    this case checks RFC 1122 3.3.1.1 on the path through it.
    """
    tuntap.app.udp(connect=(VPN_HOST, 7202)).send(b"vpn")
    tuntap.app.udp(connect=("198.19.1.1", 7203)).send(b"internet")
    tuntap.tun.expect(like(IP(dst=VPN_HOST) / UDP(dport=7202)))
    wire = tuntap.tester.expect(like(IP(dst="198.19.1.1") / UDP(dport=7203)))
    assert wire[Ether].dst == tuntap.gateway.mac, "the non-tunnel datagram must go to the default gateway's MAC"
    leaked = [f for f in tuntap.tester.capture.frames
              if f.port == "tester" and f.direction == "in" and IP in f.packet and f.packet[IP].dst == VPN_HOST]
    assert not leaked, "the datagram for the tunnel's network must not appear on the Ethernet link"
    tuntap.tun.poll(0)
    strays = [f for f in tuntap.tun.capture.frames
              if f.port == "tun" and f.direction == "in" and IP in f.packet and f.packet[IP].dst == "198.19.1.1"]
    assert not strays, "the datagram for the default route must not enter the tunnel"


@case("TUN-WRITE-ENTERS-STACK", title="Echo written into TUN is answered through TUN", rfc=1122, section="3.2.2.6", level=MUST, layer=3, also=(792,))
def test_echo_written_into_tun_is_answered_through_tun(tuntap):
    """A datagram user space writes into the TUN device is received by the stack as if it had
    arrived on a link: an echo request to the SUT's tunnel address is answered, through the
    tunnel, with the identifier, sequence number and data mirrored.

    The TUN device is Linux's interface, not an RFC's:
    this case checks RFC 1122 3.2.2.6 on the path through it.
    """
    reply = tuntap.tun.exchange(
        IP(src=VPN_HOST, dst=tuntap.sut_tun_ip) / ICMP(type="echo-request", id=0x7301, seq=5) / Raw(b"ping-over-tun"),
        expect=like(IP(src=tuntap.sut_tun_ip, dst=VPN_HOST) / ICMP(type="echo-reply", id=0x7301)),
    )
    assert reply[ICMP].seq == 5, "RFC 792: the echo reply must carry the request's sequence number"
    assert bytes(reply[ICMP].payload) == b"ping-over-tun", "RFC 1122 3.2.2.6: the echo data must be returned entirely"


@case("TUN-PORT-UNREACHABLE", title="UDP to a closed port through TUN yields Port Unreachable", rfc=1122, section="4.1.3.1", level=SHOULD, layer=4, also=(792,))
def test_udp_to_closed_port_through_tun_yields_port_unreachable(tuntap):
    """A UDP datagram written into the TUN device for a port nobody listens on at the SUT's
    tunnel address is answered, back through the tunnel, with Port Unreachable (code 3).

    The TUN device is Linux's interface, not an RFC's:
    this case checks RFC 1122 4.1.3.1 on the path through it.
    """
    err = tuntap.tun.exchange(
        IP(src=VPN_HOST, dst=tuntap.sut_tun_ip) / UDP(sport=47305, dport=7209) / Raw(b"anyone?"),
        expect=like(IP(src=tuntap.sut_tun_ip, dst=VPN_HOST) / ICMP(type=3) / IPerror(dst=tuntap.sut_tun_ip)),
    )
    assert err[ICMP].code == 3, f"RFC 1122 4.1.3.1: a datagram for a closed UDP port should give code 3, not {err[ICMP].code}"


@case("TUN-BAD-CHECKSUM-DROPPED", title="Datagram with a bad checksum written into TUN is dropped", rfc=1122, section="3.2.1.2", level=MUST, layer=3)
def test_datagram_with_bad_checksum_written_into_tun_is_dropped(tuntap):
    """A datagram written into the TUN device with a wrong header checksum is discarded like one
    received from a link: an echo request in it is not answered.

    The TUN device is Linux's interface, not an RFC's:
    this case checks RFC 1122 3.2.1.2 on the path through it.
    """
    bad = IP(src=VPN_HOST, dst=tuntap.sut_tun_ip, chksum=0x1234) / ICMP(type="echo-request", id=0x7302, seq=1)
    tuntap.tun.send(bad)
    tuntap.tun.expect_none(like(IP(dst=VPN_HOST) / ICMP(type="echo-reply", id=0x7302)))


@case("TUN-FORWARD-INTO-TUNNEL", title="Forwarded datagram enters the tunnel with its TTL decremented", rfc=1812, section="5.3.1", level=MUST, layer=3, needs=("sysctl",))
def test_forwarded_datagram_enters_tunnel_with_ttl_decremented(tuntap):
    """A router forwarding a datagram into the tunnel decrements its TTL like on any other
    interface; the tunnel's reader gets it without a link-layer header.

    Precondition: net.ipv4.ip_forward=1. The tester sends a datagram for 198.18.200.5.

    The TUN device is Linux's interface, not an RFC's:
    this case checks RFC 1812 5.3.1 on the path through it.
    """
    tuntap.control.set_sysctl("net.ipv4.ip_forward", 1)
    tuntap.tester.send(Ether(src=tuntap.tester.mac, dst=tuntap.sut.mac) / IP(src=tuntap.tester.ip, dst=VPN_HOST, ttl=64)
                       / UDP(sport=47301, dport=7204) / Raw(b"to-vpn"))
    fwd = tuntap.tun.expect(like(IP(src=tuntap.tester.ip, dst=VPN_HOST) / UDP(sport=47301)))
    assert fwd[IP].ttl < 64, (
        f"RFC 1812 5.3.1: the TTL must be reduced by at least one (sent 64) on forward into the tunnel; it is {fwd[IP].ttl}"
    )


@case("TUN-FORWARD-OUT-OF-TUNNEL", title="Datagram written into TUN is forwarded to the link", rfc=1812, section="5.3.1", level=MUST, layer=3, needs=("sysctl",))
def test_datagram_written_into_tun_is_forwarded_to_the_link(tuntap):
    """A datagram that user space writes into the TUN device for a host on the Ethernet link is
    forwarded there, resolved with ARP and with its TTL decremented.

    Precondition: net.ipv4.ip_forward=1.

    The TUN device is Linux's interface, not an RFC's:
    this case checks RFC 1812 5.3.1 on the path through it.
    """
    tuntap.control.set_sysctl("net.ipv4.ip_forward", 1)
    tuntap.tun.send(IP(src=VPN_HOST, dst=tuntap.tester.ip, ttl=64) / UDP(sport=47302, dport=7205) / Raw(b"from-vpn"))
    fwd = tuntap.tester.expect(like(IP(src=VPN_HOST, dst=tuntap.tester.ip) / UDP(sport=47302)))
    assert fwd[Ether].dst == tuntap.tester.mac, "the datagram must be sent to the destination host's MAC"
    assert fwd[IP].ttl < 64, (
        f"RFC 1812 5.3.1: the TTL must be reduced by at least one (sent 64) on forward out of the tunnel; it is {fwd[IP].ttl}"
    )


@case("TUN-TTL1-TIME-EXCEEDED", title="TTL one from the tunnel yields Time Exceeded into the tunnel", rfc=1812, section="5.2.7.3", level=MUST, layer=3, needs=("sysctl",))
def test_ttl_one_from_tunnel_yields_time_exceeded_into_tunnel(tuntap):
    """A datagram written into the TUN device that would have to be forwarded with TTL 1 is
    discarded and answered, back through the tunnel, with Time Exceeded code 0.

    Precondition: net.ipv4.ip_forward=1. That the datagram is not forwarded is concluded by a
    valid datagram forwarded from the tunnel to the tester after it.

    The TUN device is Linux's interface, not an RFC's:
    this case checks RFC 1812 5.2.7.3 on the path through it.
    """
    tuntap.enable_forwarding()
    tuntap.tun.send(IP(src=VPN_HOST, dst=tuntap.tester.ip, ttl=1) / UDP(sport=47303, dport=7206))
    err = tuntap.tun.expect(like(IP(dst=VPN_HOST) / ICMP(type=11) / IPerror(dst=tuntap.tester.ip)))
    assert err[ICMP].code == 0, f"RFC 1812 5.2.7.3: the code must be 0 (in transit), not {err[ICMP].code}"
    tuntap.tester.expect_none(like(IP(src=VPN_HOST) / UDP(sport=47303)))


@case("TUN-HOST-NO-FORWARD", rfc=1122, section="3.1", level=MUST, layer=3, needs=("sysctl",))
def test_host_does_not_forward_from_tunnel_to_link(tuntap):
    """A host with forwarding off does not forward a datagram that arrives through the TUN
    device to a host on its Ethernet link.

    Precondition: net.ipv4.ip_forward=0. Before it, with forwarding on, a datagram crosses from
    the tunnel to the tester (the path is open, the tester's address resolved); after the SUT
    has handled the datagram under test (the TUN's echo fence is answered), forwarding is turned
    back on for one more such datagram alone: had the host forwarded the first, it would have
    come before.

    The TUN device is Linux's interface, not an RFC's:
    this case checks RFC 1122 3.1 on the path through it.
    """
    tuntap.enable_forwarding()
    tuntap.control.set_sysctl("net.ipv4.ip_forward", 0)
    tuntap.tun.send(IP(src=VPN_HOST, dst=tuntap.tester.ip) / UDP(sport=47304, dport=7207))
    tuntap.tun.handled()
    tuntap.control.set_sysctl("net.ipv4.ip_forward", 1)  # only for the control that ends the check
    tuntap.tester.expect_none(like(IP(src=VPN_HOST) / UDP(sport=47304)))


@case("TUN-FRAGMENTS-TO-TUN-MTU", title="Datagram larger than the TUN MTU is fragmented", rfc=791, section="2.3", level=MUST, layer=3, also=(1122,))
def test_datagram_larger_than_tun_mtu_is_fragmented(tuntap):
    """A datagram larger than the TUN device's MTU (1500) and sent without DF is fragmented:
    the reader gets fragments no larger than the MTU that together carry the whole datagram.

    The SUT sends 3000 octets of UDP data to 198.18.200.5 through the tunnel.

    The TUN device is Linux's interface, not an RFC's:
    this case checks RFC 791 2.3 on the path through it.
    """
    data = bytes(range(256)) * 11 + bytes(184)  # 3000 octets, recognisable
    tuntap.app.udp(connect=(VPN_HOST, 7208)).send(data)
    frags: dict[int, bytes] = {}
    last_seen = False
    while not last_seen or sum(map(len, frags.values())) < max(frags) * 8 + len(frags[max(frags)]):
        frag = tuntap.tun.expect(like(IP(dst=VPN_HOST, proto=17)))
        raw = bytes(frag[IP])
        assert len(raw) <= 1500, f"RFC 791 2.3: each fragment must fit the 1500-octet MTU; one has {len(raw)} octets"
        frags[frag[IP].frag] = raw[frag[IP].ihl * 4:]
        last_seen = last_seen or not frag[IP].flags.MF
    payload = b"".join(frags[k] for k in sorted(frags))
    assert len(frags) >= 3, f"3008 octets of UDP need at least 3 fragments at MTU 1500; got {len(frags)}"
    assert payload[8:] == data, "RFC 791 2.3: the fragments together must carry the whole datagram"
