"""The wire's controls against the real kernel: a far-side silence check ends on a datagram
forwarded to the far side, which crossed once before any stimulus."""

import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether

from conformance.match import like
from conformance.wire import UnwantedFrame
from fixtures.base import forwarded_control


def to_far(routed, sport, **ip):
    t = routed.tester
    return Ether(src=t.mac, dst=routed.router_near.mac) / IP(src=t.ip, dst=routed.far.ip, **ip) / UDP(sport=sport, dport=9)


def test_the_far_control_crosses_at_set_up(routed):
    notes = [(f.port, f.direction, f.note) for f in routed.far.capture.frames]
    assert ("tester", "out", "control") in notes and ("far", "in", "control") in notes


def test_the_silence_check_ends_on_a_forwarded_datagram_and_sees_what_came_before_it(routed):
    routed.tester.send(to_far(routed, 50001, ttl=1))  # not forwarded
    routed.far.expect_none(like(UDP(sport=50001)))
    last_in = [f for f in routed.far.capture.frames if f.port == "far" and f.direction == "in"][-1]
    assert last_in.note == "control" and last_in.packet[IP].src == routed.tester.ip

    routed.tester.send(to_far(routed, 50002))  # forwarded: the check must see it
    with pytest.raises(UnwantedFrame, match="arrived on far"):
        routed.far.expect_none(like(UDP(sport=50002)))


def test_a_silence_check_after_what_the_sut_sent_on_its_own_needs_no_port_send(routed):
    routed.app.udp_at("0.0.0.0", 0).sendto(b"from the router", (routed.far.ip, 9))  # not a Port's send
    with pytest.raises(UnwantedFrame):
        routed.far.expect_none(like(UDP(dport=9) / b"from the router"))


def test_a_control_that_never_crossed_before_the_stimulus_is_refused(routed):
    other = forwarded_control(routed.tester, routed.far, router_mac=routed.router_near.mac, path="another path")
    routed.tester.send(to_far(routed, 50003, ttl=1))
    with pytest.raises(ValueError, match="never crossed before the stimulus: call prime"):
        routed.far.expect_none(like(UDP(sport=50003)), control=other)
    routed.far.prime(other)
    routed.tester.send(to_far(routed, 50004, ttl=1))
    routed.far.expect_none(like(UDP(sport=50004)), control=other)


def test_an_explicit_fence_is_still_the_ports_own_echo(routed):
    routed.far.expect_none(like(ICMP(type=3)), fence=routed.far.fence)
    answered = [f for f in routed.far.capture.frames if f.note == "fence answer"]
    assert answered and answered[-1].port == "far" and answered[-1].packet[IP].src == routed.router_far.ip


def test_one_checks_own_probe_answer_is_not_the_next_checks_forbidden_frame(lan):
    lan.tester.send(Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip, chksum=1) / ICMP())
    lan.tester.expect_none(like(ICMP(type="echo-reply")))
    lan.tester.expect_none(like(ICMP(type="echo-reply")))  # the first check's fence answer does not count
