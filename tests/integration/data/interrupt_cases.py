"""Cases that block, or freeze their process, for tests/integration/test_safety.py.

$SAFETY_MARKER names a file each blocking case writes once it has started, so that the test
interrupts the run while the case is surely running.
"""

import os
import signal
from pathlib import Path

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from conformance.catalog import MUST, case
from conformance.match import like


@case("ICMP-DATA-ANSWERED", rfc=792, section="Echo", level=MUST, layer=3)
def test_answered(lan):
    """An echo request is answered."""
    lan.tester.exchange(Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip) / ICMP(id=3),
                        expect=like(ICMP(type="echo-reply", id=3)))


@case("ARP-DATA-BLOCKS", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_blocks(lan):
    """Waits, after saying so, for a frame that never comes."""
    Path(os.environ["SAFETY_MARKER"]).write_text("started")
    lan.tester.expect(like(ARP(op=99)), timeout=600)


@case("ARP-DATA-FREEZES", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_freezes(lan):
    """Stops its own process: no signal handler inside it can run any more."""
    os.kill(os.getpid(), signal.SIGSTOP)
