"""Cases for an external SUT, run by tests/integration/test_external_sut.py."""

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from conformance.catalog import MUST, case
from conformance.match import like
from conformance.record import ATTACHMENT_KEY


@case("ARP-EXT-ANSWERS", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_answers(lan):
    """The SUT answers ARP for its address."""
    lan.tester.exchange(
        Ether(src=lan.tester.mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=lan.tester.mac, psrc=lan.tester.ip, pdst=lan.sut.ip),
        expect=like(ARP(op="is-at", psrc=lan.sut.ip)),
    )


@case("ICMP-EXT-GUARD", rfc=792, section="Echo", level=MUST, layer=3)
def test_sends_elsewhere(lan):
    """Tries to send to an address that is not the SUT's: the guard must refuse it."""
    lan.tester.send(Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst="198.18.99.99") / ICMP())


@case("ICMP-EXT-READS-CONTROL", rfc=792, section="Echo", level=MUST, layer=3)
def test_needs_control(lan):
    """Needs the SUT's state, which an external SUT does not offer."""
    assert lan.control.sysctl("net.ipv4.ip_forward") == "0"


@case("ICMP-EXT-KILLS-SUT", rfc=792, section="Echo", level=MUST, layer=3)
def test_kills_the_sut(lan, request):
    """Ends the SUT's process: the cases after it must be INCONCLUSIVE."""
    request.config.stash[ATTACHMENT_KEY].proc.kill()
    request.config.stash[ATTACHMENT_KEY].proc.wait()


@case("ICMP-EXT-ZAFTER", rfc=792, section="Echo", level=MUST, layer=3)
def test_after_the_sut_died(lan):
    """Runs after the SUT died."""
    lan.tester.exchange(
        Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip) / ICMP(id=3),
        expect=like(ICMP(type="echo-reply", id=3)),
    )
