"""A fenced expect (Port.expect(..., fenced=True)) against the real kernel: it returns an answer
that is there, fails on the fence's answer when none came, and without the fence's answer it is
the plain expect, bounded by its timeout."""

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from conformance.match import like
from conformance.wire import NoMatch


def echo(lan, ident, **icmp):
    return Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip) / ICMP(id=ident, **icmp)


def reply(ident):
    return like(ICMP(type="echo-reply", id=ident), name=f"echo reply id={ident}")


def notes(lan):
    return [f.note for f in lan.tester.capture.frames]


def test_an_answer_that_is_there_is_returned_without_a_fence(lan):
    got = lan.tester.exchange(echo(lan, 11), expect=reply(11), fenced=True)
    assert got[IP].src == lan.sut.ip
    assert "fence" not in notes(lan)


def test_no_answer_fails_on_the_fences_answer(lan):
    with pytest.raises(NoMatch, match="before the answer to a fence sent after the stimulus") as failure:
        lan.tester.exchange(echo(lan, 12, chksum=0x1), expect=reply(12), fenced=True)  # dropped: bad checksum
    assert "echo reply id=12" in str(failure.value)
    assert notes(lan).count("fence") == 1 and "fence answer" in notes(lan)
    # The fence's answer was taken: a later check does not see it as an answer to its stimulus.
    got = lan.tester.exchange(echo(lan, 13), expect=like(ICMP(type="echo-reply")), fenced=True)
    assert got[ICMP].id == 13


def test_without_the_fences_answer_it_is_the_plain_expect(lan):
    def silent_fence():
        return echo(lan, 14, chksum=0x1), reply(14)  # never answered

    lan.tester.fence = silent_fence
    with pytest.raises(NoMatch, match=r"within 0\.2 s"):
        lan.tester.exchange(echo(lan, 15, chksum=0x1), expect=reply(15), timeout=0.2, fenced=True)


def test_a_port_without_a_fence_cannot_fence(lan):
    lan.tester.fence = None
    with pytest.raises(ValueError, match="needs the Port's fence"):
        lan.tester.exchange(echo(lan, 16, chksum=0x1), expect=reply(16), fenced=True)
