"""The wire against the real kernel: expect, expect_none with a fence, and what failures say."""

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from conformance.match import like
from conformance.verdict import Inconclusive
from conformance.wire import NoMatch, UnwantedFrame


def echo(lan, ident, **icmp):
    return Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip) / ICMP(id=ident, **icmp)


def reply(ident):
    return like(ICMP(type="echo-reply", id=ident))


def test_expect_returns_the_answer_and_records_both_frames(lan):
    got = lan.tester.exchange(echo(lan, 1), expect=reply(1))
    assert got[IP].src == lan.sut.ip
    directions = [(f.direction, f.note) for f in lan.tester.capture.frames]
    assert ("out", "") in directions and ("in", "") in directions
    assert all(f.t_ns > 0 for f in lan.tester.capture.frames)


def test_expect_none_passes_when_the_probe_is_dropped(lan):
    lan.tester.send(echo(lan, 2, chksum=0x1234))  # a bad checksum: the SUT must drop it
    lan.tester.expect_none(reply(2))
    notes = [f.note for f in lan.tester.capture.frames]
    assert "fence" in notes and "fence answer" in notes, "the negative check must end on the fence"


def test_expect_none_fails_when_the_probe_is_answered(lan):
    lan.tester.send(echo(lan, 3))
    with pytest.raises(UnwantedFrame, match="arrived on tester"):
        lan.tester.expect_none(reply(3))


def test_expect_none_is_inconclusive_when_the_fence_is_not_answered(lan):
    def silent_fence():
        probe = echo(lan, 4, chksum=0x1)  # never answered
        return probe, reply(4)

    lan.tester.send(echo(lan, 5, chksum=0x1))
    with pytest.raises(Inconclusive, match="fence probe"):
        lan.tester.expect_none(reply(5), fence=silent_fence)


def test_expect_none_with_a_fence_costs_no_fixed_wait(lan):
    import time

    lan.tester.exchange(echo(lan, 6), expect=reply(6))  # resolve ARP first
    start = time.perf_counter()
    lan.tester.send(echo(lan, 7, chksum=0x1))
    lan.tester.expect_none(reply(7))
    assert time.perf_counter() - start < 0.5


def test_no_match_names_the_field_and_shows_what_arrived(lan):
    request = Ether(src=lan.tester.mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=lan.tester.mac, psrc=lan.tester.ip, pdst=lan.sut.ip)
    with pytest.raises(NoMatch) as failure:
        lan.tester.exchange(request, expect=like(ARP(op="is-at", psrc="198.18.0.99")), timeout=0.2)
    text = str(failure.value)
    assert "no frame like ARP(op=is-at (2), psrc=198.18.0.99) arrived on tester within 0.2 s" in text
    assert "ARP is at 02:00:00:00:01:01 says 198.18.0.1" in text
    assert "ARP.psrc: expected 198.18.0.99, observed 198.18.0.1" in text


def test_frames_before_the_stimulus_are_not_answers(lan):
    lan.tester.exchange(echo(lan, 8), expect=reply(8))
    lan.tester.send(echo(lan, 9, chksum=0x1))
    with pytest.raises(NoMatch):
        lan.tester.expect(reply(8), timeout=0.1)


def test_the_tester_answers_arp_only_for_what_it_claims(lan):
    assert lan.tester.claims == {lan.tester.ip: lan.tester.mac, lan.gateway.ip: lan.gateway.mac}
    lan.tester.exchange(echo(lan, 10), expect=reply(10))
    replies = [f for f in lan.tester.capture.frames if f.note == "tester ARP reply"]
    assert replies and all(f.packet[ARP].psrc in lan.tester.claims for f in replies)


def test_the_testers_kernel_never_answers_what_the_sut_sends():
    """Everything that leaves the tester's interface is a frame the Port sent: no RST for a
    SYN-ACK it did not ask for, no ARP reply, no ICMP error of the kernel's own."""
    import socket

    from scapy.layers.inet import TCP, UDP

    from conformance.agent import InProcessChannel
    from conformance.app import SutApps
    from conformance.sut import NetnsSut
    from conformance.topology import build
    from conformance.wire import Capture, Port
    from fixtures.lan import SUT_IP, SUT_MAC, TESTER_IP, TESTER_MAC, lan_topology

    capture = Capture()
    with build(lan_topology(NetnsSut())) as net:
        port = Port("tester", capture, ns=net.ns["tester"], ifname="tst0", mac=TESTER_MAC, ip=TESTER_IP)
        with net.ns["tester"].entered():
            monitor = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        monitor.bind(("tst0", 0x0003))
        monitor.setblocking(False)
        apps = SutApps(InProcessChannel(net.ns["sut"]), SUT_IP)
        apps.listen(7)
        to_sut = Ether(src=TESTER_MAC, dst=SUT_MAC) / IP(src=TESTER_IP, dst=SUT_IP)
        port.exchange(to_sut / TCP(sport=40000, dport=7, flags="S", seq=1), expect=like(TCP(flags="SA")))
        port.exchange(to_sut / UDP(sport=40001, dport=9), expect=like(ICMP(type=3, code=3)))
        port.exchange(to_sut / ICMP(id=77), expect=like(ICMP(type="echo-reply", id=77)))
        sent_by_port = [f.data for f in capture.frames if f.direction == "out"]
        outgoing = []
        while True:
            try:
                data, addr = monitor.recvfrom(65535)
            except BlockingIOError:
                break
            if addr[2] == socket.PACKET_OUTGOING:
                outgoing.append(data)
        monitor.close()
        apps.close_all()
    capture.close()
    assert outgoing, "the monitor must see the Port's own frames leave"
    strangers = [Ether(d).summary() for d in outgoing if d not in sent_by_port]
    assert strangers == [], f"the tester's kernel sent frames of its own: {strangers}"


def test_before_fence_returns_the_answer_or_none_and_sync_ends_on_the_fence(lan):
    assert lan.tester.before_fence(reply(11), stimulus=echo(lan, 11)) is not None
    assert lan.tester.before_fence(reply(12), stimulus=echo(lan, 12, chksum=0x1)) is None, "a dropped probe has no answer"
    lan.tester.send(echo(lan, 13))
    answer = lan.tester.sync()
    assert answer[ICMP].type == 0 and answer[ICMP].id != 13, "sync returns the fence's own answer"
    with pytest.raises(NoMatch):
        lan.tester.expect(reply(13), timeout=0.1)  # it came before the sync: not an answer to later sends
