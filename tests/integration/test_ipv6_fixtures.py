"""The IPv6 topologies against the real kernel: the tester answers Neighbor Solicitations for
what it claims (and only that), its kernel stays silent, fences and controls work over IPv6,
and the agent's IPv6 additions (sockets, snmp6 counters, IPv6 neighbours) answer."""

import pytest
from scapy.layers.inet import UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from conformance.match import like
from conformance.wire import NoMatch, UnwantedFrame


def echo6(lan6, ident, dst=None):
    return (Ether(src=lan6.tester.mac, dst=lan6.sut.mac) / IPv6(src=lan6.tester.ip6, dst=dst or lan6.sut.ip)
            / ICMPv6EchoRequest(id=ident, seq=1))


def test_an_echo_is_answered_once_the_tester_answers_the_suts_solicitation(lan6):
    reply = lan6.tester.exchange(echo6(lan6, 1), expect=like(IPv6(src=lan6.sut.ip) / ICMPv6EchoReply(id=1)))
    assert reply[Ether].dst == lan6.tester.mac
    na = [f for f in lan6.tester.capture.frames if f.note == "tester neighbor advertisement"]
    assert na, "the SUT resolves the tester by a Neighbor Solicitation, which the tester's Port answers"
    adv = na[0].packet
    assert adv[IPv6].hlim == 255 and adv[ICMPv6ND_NA].S == 1 and adv[ICMPv6ND_NA].O == 1 and adv[ICMPv6ND_NA].R == 0
    assert adv[ICMPv6ND_NA].tgt == lan6.tester.ip6 and adv[ICMPv6NDOptDstLLAddr].lladdr == lan6.tester.mac
    assert lan6.control.neighbours(lan6.sut.ifname, family=6)[lan6.tester.ip6].mac == lan6.tester.mac


def test_the_gateway_is_resolved_as_a_router(lan6):
    off_link = lan6.app.udp(0, connect=("2001:db8:ff::9", 9))
    off_link.send(b"through the gateway")
    got = lan6.tester.expect(like(Ether(dst=lan6.gateway.mac) / IPv6(dst="2001:db8:ff::9") / UDP(dport=9)))
    assert got[Raw].load == b"through the gateway"
    entry = lan6.control.neighbours(lan6.sut.ifname, family=6)[lan6.gateway.ll]
    assert entry.router and entry.mac == lan6.gateway.mac


def test_no_answer_for_an_address_not_claimed_and_none_when_switched_off(lan6):
    sol = "ff02::1:ff00:99"
    ns = (Ether(src=lan6.sut.mac, dst="33:33:ff:00:00:99") / IPv6(src=lan6.sut.ll, dst=sol, hlim=255)
          / ICMPv6ND_NS(tgt="2001:db8::99") / ICMPv6NDOptSrcLLAddr(lladdr=lan6.sut.mac))
    lan6.tester._answer_nd(bytes(ns))
    assert not [f for f in lan6.tester.capture.frames if f.note == "tester neighbor advertisement"]
    lan6.tester.answer_nd = False
    mine = bytes(Ether(src=lan6.sut.mac, dst="33:33:ff:00:00:02") / IPv6(src=lan6.sut.ll, dst="ff02::1:ff00:2", hlim=255)
                 / ICMPv6ND_NS(tgt=lan6.tester.ip6))
    lan6.tester._answer_nd(mine)
    assert not [f for f in lan6.tester.capture.frames if f.note == "tester neighbor advertisement"]
    lan6.tester.answer_nd = True
    lan6.tester._answer_nd(mine)
    assert [f for f in lan6.tester.capture.frames if f.note == "tester neighbor advertisement"]


def test_expect_none_over_ipv6_ends_on_the_echo_fence(lan6):
    bad = echo6(lan6, 5)
    bad[ICMPv6EchoRequest].cksum = 0x1234
    lan6.tester.send(bad)
    lan6.tester.expect_none(like(ICMPv6EchoReply(id=5)))
    notes = [f.note for f in lan6.tester.capture.frames]
    assert "fence" in notes and "fence answer" in notes
    lan6.tester.send(echo6(lan6, 6))
    with pytest.raises(UnwantedFrame):
        lan6.tester.expect_none(like(ICMPv6EchoReply(id=6)))


def test_the_tester_kernel_stays_silent(lan6):
    lan6.tester.exchange(echo6(lan6, 7), expect=like(ICMPv6EchoReply(id=7)))
    lan6.tester.handled()
    mine = [f for f in lan6.tester.capture.frames if f.direction == "in" and f.packet[Ether].src == lan6.tester.mac]
    assert not mine


def test_sockets_and_counters_over_ipv6(lan6):
    sock = lan6.app.udp(7000)
    assert sock.local == (lan6.sut.ip, 7000)
    before = lan6.control.counters("snmp6")
    assert "Ip6.InReceives" in before and "Icmp6.OutErrors" in before and "Udp6.InDatagrams" in before
    lan6.tester.send(Ether(src=lan6.tester.mac, dst=lan6.sut.mac) / IPv6(src=lan6.tester.ip6, dst=lan6.sut.ip)
                     / UDP(sport=7001, dport=7000) / Raw(b"hello over IPv6"))
    assert sock.recv() == b"hello over IPv6"
    after = lan6.control.counters("snmp6")
    assert after["Udp6.InDatagrams"] == before["Udp6.InDatagrams"] + 1
    listener = lan6.app.listen(7002)
    client = lan6.app.connect(lan6.sut.ip, 7002)
    conn = listener.accept()
    client.send(b"x")
    assert conn.recv() == b"x"
    assert any(c.local == (lan6.sut.ip, 7002) for c in lan6.control.tcp_connections())


def test_ipv6_knobs_read_the_namespaces_sysctls(lan6):
    assert lan6.control.sysctl("net.ipv6.conf.eth0.hop_limit") == "64"
    lan6.control.set_sysctl("net.ipv6.ip6frag_time", 2)
    assert lan6.control.sysctl("net.ipv6.ip6frag_time") == "2"
    assert lan6.control.sysctl("net.ipv6.conf.all.forwarding") == "0"


def test_routed6_forwards_the_control_and_answers_solicitations_on_both_sides(routed6):
    assert routed6.control.sysctl("net.ipv6.conf.all.forwarding") == "1"
    routed6.tester.send(Ether(src=routed6.tester.mac, dst=routed6.router_near.mac)
                        / IPv6(src=routed6.tester.ip6, dst=routed6.far.ip6, hlim=9) / UDP(sport=5, dport=6) / Raw(b"q"))
    got = routed6.far.expect(like(IPv6(src=routed6.tester.ip6, dst=routed6.far.ip6) / UDP(dport=6)))
    assert got[IPv6].hlim == 8
    routed6.tester.send(Ether(src=routed6.tester.mac, dst=routed6.router_near.mac)
                        / IPv6(src=routed6.tester.ip6, dst=routed6.far.ip6, hlim=1) / UDP(sport=5, dport=6) / Raw(b"q"))
    routed6.far.expect_none(like(IPv6(dst=routed6.far.ip6) / UDP(dport=6)))
    assert routed6.router_near.ll and routed6.router_near.ll.startswith("fe80:")


def test_a_control_that_does_not_cross_is_inconclusive(routed6):
    from conformance.verdict import Inconclusive

    routed6.control.set_sysctl("net.ipv6.conf.all.forwarding", 0)
    with pytest.raises(Inconclusive, match="control datagram"):
        routed6.far.expect_none(like(IPv6(dst=routed6.far.ip6) / UDP(dport=6)))


def test_no_match_reads_the_ipv6_fields(lan6):
    with pytest.raises(NoMatch, match="ICMPv6EchoReply.id"):
        lan6.tester.exchange(echo6(lan6, 8), expect=like(ICMPv6EchoReply(id=9)), timeout=0.2)
