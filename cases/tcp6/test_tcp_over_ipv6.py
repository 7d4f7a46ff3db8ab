"""TCP over IPv6 (RFC 9293 with RFC 8200 8.1 and RFC 6691): the handshake both ways, resets, the
checksum over the IPv6 pseudo-header, and the segment size an IPv6 link gives (MTU - 60).

Topology `lan6`; the tester's end of each connection is a TcpPeer at 2001:db8::2.
"""

import errno

from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from cases.ipv6.frames import ALL_NODES, ALL_NODES_MAC, checksum, counter_delta, pseudo_header
from cases.tcp.frames import accepted, precondition
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like
from conformance.tcp import TcpPeer, payload, seq_add, tcp_options
from conformance.verdict import Inconclusive

SERVICE_PORT, CLOSED_PORT, REMOTE_PORT = 7900, 7999, 9900
ISN = 0x24680000
DATA = bytes(i % 251 for i in range(4000))
LINK_MTU = 1500
MSS6 = LINK_MTU - 40 - 20  # 1440: the fixed IPv6 and TCP headers
DEFAULT_MSS6 = 1220  # RFC 9293 3.7.1: 1280 - 60 without an MSS option


def peer(lan6, dport: int = SERVICE_PORT) -> TcpPeer:
    return TcpPeer(lan6.tester, dst_ip=lan6.sut.ip, dst_mac=lan6.sut.mac, dport=dport, isn=ISN)


def established(lan6, options=None):
    listener = lan6.app.listen(SERVICE_PORT)
    tcp = peer(lan6)
    with precondition("the SUT completes a handshake over IPv6 to its listener"):
        synack = tcp.open(options=options)
    return tcp, accepted(listener), synack


def data_segments(lan6, tcp: TcpPeer, sock, data: bytes) -> list:
    """Let the SUT's application write `data` (it fits the SUT's initial congestion window, so
    no acknowledgment is needed before all of it is sent) and collect the data segments; the
    tester acknowledges them all at the end."""
    sock.send(data)
    got, segments = b"", []
    while len(got) < len(data):
        seg = lan6.tester.expect(tcp.from_sut(seq=tcp.rcv_nxt))
        chunk = payload(seg)
        if not chunk:
            continue
        segments.append(seg)
        got += chunk
        tcp.rcv_nxt = seq_add(tcp.rcv_nxt, len(chunk))
    tcp.ack()
    assert got == data, "the tester must receive what the SUT's application wrote"
    return segments


@case("TCP6-EST-PASSIVE", title="Listener completes the handshake over IPv6", rfc=9293, section="3.5", level=MUST, layer=4, needs=("sockets",), also=(8200,))
def test_listener_completes_the_handshake_over_ipv6(lan6):
    """A listener answers a SYN over IPv6 with a SYN-ACK acknowledging it, and the connection carries data.

    RFC 9293 3.5: the three-way handshake. The SYN-ACK must acknowledge ISN + 1; after the
    tester's ACK and 100 octets of data, the SUT's application must read them.
    """
    listener = lan6.app.listen(SERVICE_PORT)
    tcp = peer(lan6)
    synack = tcp.open()
    assert synack[TCP].ack == seq_add(ISN, 1), f"the SYN-ACK must acknowledge ISN + 1; it acknowledged {synack[TCP].ack:#x}"
    sock = accepted(listener)
    tcp.send_data(b"x" * 100)
    assert sock.read(100) == b"x" * 100, "the application must read the 100 octets sent over the IPv6 connection"


@case("TCP6-EST-ACTIVE", title="Active open over IPv6 completes with an ACK", rfc=9293, section="3.5", level=MUST, layer=4, needs=("sockets",), also=(8200,))
def test_active_open_over_ipv6_completes_with_an_ack(lan6):
    """An active open over IPv6 sends a SYN and answers the SYN-ACK with an ACK of the peer's ISN + 1."""
    sock = lan6.app.connect(lan6.tester.ip6, REMOTE_PORT)
    syn = lan6.tester.expect(like(IPv6(src=lan6.sut.ip, dst=lan6.tester.ip6) / TCP(dport=REMOTE_PORT, flags="S"),
                                  name="the SUT's SYN"))
    tcp = TcpPeer(lan6.tester, dst_ip=lan6.sut.ip, dst_mac=lan6.sut.mac, dport=syn[TCP].sport, sport=REMOTE_PORT, isn=ISN)
    tcp.take_syn(syn)
    ack = lan6.tester.exchange(tcp.segment("SA", options=[("MSS", 1440)]), expect=tcp.from_sut("A"))
    assert ack[TCP].ack == seq_add(ISN, 1), f"the ACK must acknowledge the SYN-ACK (ISN + 1); it acknowledged {ack[TCP].ack:#x}"
    assert sock.error() == 0, f"the connection must be open without error; the socket holds error {sock.error()}"


@case("TCP6-CSUM-PSEUDO-HEADER", rfc=9293, section="3.1", level=MUST, layer=4, needs=("sockets", "counters"), also=(8200,))
def test_segment_whose_checksum_covers_another_pseudo_header_is_discarded(lan6):
    """A segment whose checksum is right only for another IPv6 pseudo-header is discarded.

    RFC 9293 3.1: the checksum covers a pseudo-header, which RFC 8200 8.1 defines for IPv6 (the
    128-bit addresses, the upper-layer length, Next Header 6); the receiver MUST check it
    (MUST-3). A SYN to the listener whose checksum was computed for destination 2001:db8::99
    must draw no SYN-ACK; Tcp.InCsumErrors must count it (else INCONCLUSIVE). Control: the same
    SYN with the right checksum is answered.
    """
    lan6.app.listen(SERVICE_PORT)
    tcp = peer(lan6)
    good = tcp.segment("S", options=[("MSS", 1440)])
    segment = bytearray(bytes(good[TCP]))
    segment[16:18] = b"\x00\x00"
    segment[16:18] = checksum(pseudo_header(lan6.tester.ip6, "2001:db8::99", len(segment), 6) + bytes(segment)).to_bytes(2, "big")
    bad = Ether(src=lan6.tester.mac, dst=lan6.sut.mac) / IPv6(src=lan6.tester.ip6, dst=lan6.sut.ip, nh=6) / bytes(segment)
    before = lan6.control.counters("snmp")
    lan6.tester.send(bad)
    lan6.tester.expect_none(tcp.from_sut("SA"))
    if counter_delta(before, lan6.control.counters("snmp"), "Tcp.InCsumErrors") < 1:
        raise Inconclusive("the SYN drew no SYN-ACK, but Tcp.InCsumErrors did not count it: the checksum is not shown to be why")
    lan6.tester.exchange(good, expect=tcp.from_sut("SA"))


@case("TCP6-MSS-FROM-MTU", title="SYN-ACK announces the link MTU less the IPv6 and TCP headers", rfc=6691, section="2", level=SHOULD, layer=4, needs=("sockets",), also=(9293,))
def test_syn_ack_announces_the_link_mtu_less_the_ipv6_and_tcp_headers(lan6):
    """The MSS a node announces over IPv6 is its link MTU less the fixed IPv6 and TCP headers (60 octets).

    RFC 6691 2: "the MTU value SHOULD be decreased by only the size of the fixed IP and TCP
    headers". On the 1500-octet link, the SYN-ACK's MSS must be 1440.
    """
    lan6.app.listen(SERVICE_PORT)
    synack = peer(lan6).open(options=[("MSS", 1440)])
    mss = tcp_options(synack).get("MSS")
    assert mss == MSS6, f"over IPv6 on a 1500-octet link the MSS should be 1500 - 40 - 20 = 1440; the SYN-ACK announced {mss}"


@case("TCP6-MSS-IN-SYN", title="Active open announces the IPv6 MSS", rfc=6691, section="2", level=SHOULD, layer=4, needs=("sockets",), also=(9293,))
def test_active_open_announces_the_ipv6_mss(lan6):
    """The SUT's own SYN over IPv6 announces its link MTU less 60 octets (1440 on a 1500-octet link)."""
    lan6.app.connect(lan6.tester.ip6, REMOTE_PORT)
    syn = lan6.tester.expect(like(IPv6(src=lan6.sut.ip) / TCP(dport=REMOTE_PORT, flags="S"), name="the SUT's SYN"))
    mss = tcp_options(syn).get("MSS")
    assert mss == MSS6, f"the SYN should announce MSS 1440; it announced {mss}"


@case("TCP6-MSS-DEFAULT-1220", title="Without an MSS option the IPv6 send MSS is 1220", rfc=9293, section="3.7.1", level=MUST, layer=4, needs=("sockets",))
def test_without_an_mss_option_the_ipv6_send_mss_is_1220(lan6):
    """Without an MSS option from the peer, a TCP over IPv6 sends no segment with more than 1220 octets of data.

    RFC 9293 3.7.1: "If an MSS Option is not received at connection setup, TCP implementations
    MUST assume a default send MSS of 536 (576 - 40) for IPv4 or 1220 (1280 - 60) for IPv6
    (MUST-15)." The tester's SYN has no options; the SUT's application writes 4000 octets.
    """
    tcp, sock, _ = established(lan6, options=[])
    sizes = [len(payload(s)) for s in data_segments(lan6, tcp, sock, DATA)]
    assert max(sizes) <= DEFAULT_MSS6, f"without an MSS option the send MSS must be 1220; the SUT sent segments of {sizes} octets"


@case("TCP6-MSS-PEER-RESPECTED", title="IPv6 segments respect the peer's MSS", rfc=9293, section="3.7.1", level=MUST, layer=4, needs=("sockets",))
def test_ipv6_segments_respect_the_peers_mss(lan6):
    """A TCP over IPv6 sends no segment with more data than the MSS the peer announced.

    RFC 9293 3.7.1: the effective send MSS "MUST be the smaller (MUST-16) of the send MSS ... and
    the largest transmission size permitted by the IP layer". The tester announces MSS 1000; the
    SUT's application writes 4000 octets.
    """
    tcp, sock, _ = established(lan6, options=[("MSS", 1000)])
    sizes = [len(payload(s)) for s in data_segments(lan6, tcp, sock, DATA)]
    assert max(sizes) <= 1000, f"the peer announced MSS 1000; the SUT sent segments of {sizes} octets"


@case("TCP6-RST-CLOSED-SYN", title="SYN to a closed port over IPv6 gets RST+ACK", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_syn_to_a_closed_port_over_ipv6_gets_rst_ack(lan6):
    """A SYN over IPv6 to a port with no listener is answered with <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>."""
    tcp = peer(lan6, CLOSED_PORT)
    rst = lan6.tester.exchange(tcp.segment("S", options=[("MSS", 1440)]), expect=tcp.from_sut())
    assert rst[TCP].flags == "RA" and (rst[TCP].seq, rst[TCP].ack) == (0, seq_add(ISN, 1)), (
        f"the answer must be <SEQ=0><ACK={seq_add(ISN, 1):#x}><CTL=RST,ACK>; came {rst[TCP].flags} seq {rst[TCP].seq:#x} "
        f"ack {rst[TCP].ack:#x}")


@case("TCP6-RST-CLOSED-ACK", title="ACK to a closed port over IPv6 gets an RST from the ACK field", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_ack_to_a_closed_port_over_ipv6_gets_rst_from_the_ack_field(lan6):
    """An ACK over IPv6 to a port with no listener is answered with <SEQ=SEG.ACK><CTL=RST>."""
    tcp = peer(lan6, CLOSED_PORT)
    rst = lan6.tester.exchange(tcp.segment("A", ack=0x13579BDF), expect=tcp.from_sut())
    assert rst[TCP].flags == "R" and rst[TCP].seq == 0x13579BDF, (
        f"the answer must be <SEQ=0x13579bdf><CTL=RST>; came {rst[TCP].flags} seq {rst[TCP].seq:#x}")


@case("TCP6-RST-IN-WINDOW", title="RST with the expected sequence number resets an IPv6 connection", rfc=9293, section="3.5.3", level=MUST, layer=4, needs=("sockets",), also=(5961,))
def test_rst_with_the_expected_sequence_number_resets_an_ipv6_connection(lan6):
    """A RST over IPv6 whose sequence number is the next expected one resets the connection, and the application learns of it.

    RFC 9293 3.5.3: in a synchronized state a reset is valid if its sequence number is in the
    window (RFC 5961 3.2: exactly RCV.NXT resets). The application's next read must fail with
    ECONNRESET.
    """
    tcp, sock, _ = established(lan6)
    lan6.tester.send(tcp.segment("R", ack=0))
    lan6.tester.sync()
    err = sock.error()
    assert err == errno.ECONNRESET, f"the connection must be reset (ECONNRESET); the socket's pending error is {err}"


@case("TCP6-SYN-TO-MULTICAST", title="SYN to a multicast address is silently discarded", rfc=9293, section="3.9.2.3", level=MUST, layer=4, needs=("sockets",))
def test_syn_to_a_multicast_address_is_silently_discarded(lan6):
    """A SYN addressed to an IPv6 multicast address is silently discarded, even with a listener on every address: no SYN-ACK, no RST (MUST-57).

    A listener on :: and a SYN to ff02::1 in a frame to 33:33:00:00:00:01. Control: the same SYN
    to the SUT's unicast address is answered.
    """
    lan6.app.listen_at("::", SERVICE_PORT)
    tcp = peer(lan6)
    tcp.dst_ip = ALL_NODES
    syn = tcp.segment("S", options=[("MSS", 1440)])
    syn[Ether].dst = ALL_NODES_MAC
    lan6.tester.send(syn)
    lan6.tester.expect_none(like(IPv6(dst=lan6.tester.ip6) / TCP(sport=SERVICE_PORT), name="any TCP segment from the listener's port"))
    control = peer(lan6)
    if lan6.tester.before_fence(control.from_sut("SA"), stimulus=control.segment("S", options=[("MSS", 1440)])) is None:
        raise Inconclusive("control: the same SYN to the SUT's unicast address drew no SYN-ACK either")
