"""One case per verdict, run by tests/integration/test_run_outputs.py in a subprocess."""

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from conformance.catalog import MAY, MUST, SHOULD, case
from conformance.match import like
from conformance.verdict import Inconclusive, not_implemented


def echo(lan, ident):
    return Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip) / ICMP(id=ident)


@case("ICMP-DATA-PASS", rfc=792, section="Echo", level=MUST, layer=3)
def test_passes(lan):
    """An echo request is answered."""
    lan.tester.exchange(echo(lan, 7), expect=like(ICMP(type="echo-reply", id=7)))


@case("ICMP-DATA-FAIL", rfc=792, section="Echo", level=SHOULD, layer=3)
def test_fails(lan):
    """A requirement the SUT does not meet (here: an impossible reply type)."""
    lan.tester.exchange(echo(lan, 8), expect=like(ICMP(type=42, id=8)), timeout=0.2)


@case("ICMP-DATA-INCONCLUSIVE", rfc=792, section="Echo", level=MUST, layer=3)
def test_inconclusive(lan):
    """Conditions that cannot be established."""
    raise Inconclusive("the environment cannot establish this")


@case("ICMP-DATA-MAY-ABSENT", rfc=792, section="Echo", level=MAY, layer=3)
def test_may_not_done(lan):
    """A MAY the SUT does not do (here: an impossible reply type): not implemented, never a failure."""
    lan.tester.exchange(echo(lan, 9), expect=like(ICMP(type=42, id=9)), timeout=0.2)


@case("ICMP-DATA-OPTIONAL-ABSENT", rfc=792, section="Echo", level=MUST, layer=3, optional="an optional feature")
def test_optional_absent(lan):
    """A MUST of an optional feature the SUT shows it lacks."""
    not_implemented("the SUT does not offer the optional feature")


@case("ICMP-DATA-UNDECLARED-ABSENT", rfc=792, section="Echo", level=MUST, layer=3)
def test_undeclared_absent(lan):
    """A case that calls a feature absent without declaring one is a bug of the suite."""
    not_implemented("nothing was declared optional")


@case("ICMP-DATA-ERROR", rfc=792, section="Echo", level=MUST, layer=3)
def test_error(lan):
    """The suite itself breaks."""
    raise RuntimeError("a bug in the suite")


@case("ICMP-DATA-SKIP", rfc=792, section="Echo", level=MUST, layer=3)
def test_skip(lan):
    """Not applicable."""
    pytest.skip("not applicable to this SUT")


@case("ARP-DATA-HANG", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_hangs(lan):
    """Waits for a frame that never comes, longer than the case timeout."""
    lan.tester.send(Ether(src=lan.tester.mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=lan.tester.mac, psrc=lan.tester.ip, pdst=lan.sut.ip))
    lan.tester.expect(like(ARP(op=99)), timeout=600)
