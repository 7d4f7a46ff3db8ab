"""The host raises a lowered Path MTU estimate again after a while (RFC 1191 3 and 6.3).

RFC 1191 3: "Hosts MAY detect increases in Path MTU", at infrequent intervals; 6.3 suggests
ageing the estimate out with a timer so that the next datagram probes the larger size. The
RFC's timer (no sooner than 5 minutes after a Datagram Too Big, 10 recommended) is shortened
here through the SUT's own setting, as a stated precondition, so the case waits seconds.
"""

import time

from cases.pmtu.test_host import PAYLOAD, Sender, keeps_to, largest
from conformance.catalog import MAY, case
from conformance.verdict import Inconclusive

MTU_EXPIRES = "net.ipv4.route.mtu_expires"  # seconds a learned Path MTU is kept (Linux)
AGE = 1  # seconds, the shortened timer
LOWERED = 1280


@case("PMTU-HOST-ESTIMATE-AGED", title="Host raises a lowered estimate after its timeout", rfc=1191, section="3",
      level=MAY, layer=3, needs=("sockets", "sysctl"), waits="the shortened Path MTU timeout (1 s after sysctl), plus 0.5 s")
def test_host_raises_lowered_estimate_after_timeout(lan):
    """Once its Path MTU timer has run out, a host sends a datagram larger than the estimate a Datagram Too Big had lowered.

    Precondition: the SUT keeps a learned Path MTU for 1 s (net.ipv4.route.mtu_expires=1 on
    Linux; 600 s by default). A 1400-octet datagram to a remote destination is answered with
    Datagram Too Big, MTU 1280; the next one must keep to 1280 (else PMTU-HOST-LOWERS fails
    and nothing here can be judged). 1.5 s later a 1400-octet datagram must leave whole again.
    """
    lan.control.set_sysctl(MTU_EXPIRES, AGE)
    sender = Sender(lan)
    first = sender.send()
    if largest(first) != PAYLOAD + 28:
        raise Inconclusive(f"the first datagram did not leave whole ({PAYLOAD + 28} octets), so no estimate was lowered")
    sender.too_big(first[0], LOWERED)
    lowered = sender.send()
    if not keeps_to(lowered, LOWERED):
        raise Inconclusive("the SUT did not lower its estimate to 1280 after Datagram Too Big, so raising it again "
                           "cannot be shown")
    time.sleep(AGE + 0.5)  # the timer under test; declared in waits
    again = sender.send()
    assert largest(again) == PAYLOAD + 28, (
        f"RFC 1191 3: after the Path MTU timer ({AGE} s) ran out, the SUT may probe the larger size again; its "
        f"1400-octet datagram still left in pieces of at most {largest(again)} octets"
    )
