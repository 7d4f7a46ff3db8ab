"""Cases run against tests/integration/data/fragile_stack.py: one that kills it, then others."""

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from conformance.catalog import MUST, case
from conformance.match import like


def echo(lan, ident):
    return Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip) / ICMP(id=ident)


@case("ICMP-LIFE-A-ANSWERS", rfc=792, section="Echo", level=MUST, layer=3)
def test_answers(lan):
    """An echo request is answered."""
    lan.tester.exchange(echo(lan, 1), expect=like(ICMP(type="echo-reply", id=1)))


@case("ICMP-LIFE-B-KILLS", rfc=792, section="Echo", level=MUST, layer=3)
def test_kills(lan):
    """An echo request the fragile stack dies of."""
    lan.tester.exchange(echo(lan, 0xDEAD), expect=like(ICMP(type="echo-reply", id=0xDEAD)), timeout=0.5)


@case("ICMP-LIFE-C-AFTER", rfc=792, section="Echo", level=MUST, layer=3)
def test_after(lan):
    """An echo request after the death."""
    lan.tester.exchange(echo(lan, 3), expect=like(ICMP(type="echo-reply", id=3)))
