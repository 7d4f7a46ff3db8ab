"""What the SUT's application received: positive reads with a bound, negative ones with a fence.

A negative check ("nothing was delivered") never waits a fixed time. After the stimulus, a
valid marker datagram is sent to the same socket (conformance.delivery): once the marker is
readable the stimulus has been dealt with, and whatever the socket holds before the marker is
what the stimulus delivered; a marker that never comes is INCONCLUSIVE. A check that the SUT sends no
ICMP error first shows that it does send one where it should, or its silence proves nothing.
"""

from __future__ import annotations

import itertools

from cases.udp.frames import CLOSED_PORT, SUT_PORT, icmp_from_sut, to_sut
from conformance.delivery import held_before_control
from conformance.verdict import Inconclusive
from conformance.wire import NoMatch

_markers = itertools.count(1)


def receive(sock, what: str, timeout: float = 1.0) -> bytes:
    """The next datagram the SUT's application reads; a FAIL saying `what` was due if none."""
    try:
        return sock.recv(timeout=timeout)
    except TimeoutError:
        raise AssertionError(f"{what}, but the SUT's socket received nothing within {timeout:g} s") from None


def held_before_fence(lan, sock, *, dport: int = SUT_PORT, ip_dst: str | None = None) -> list[bytes]:
    """The datagrams `sock` received from the stimulus just sent, concluded by a marker
    datagram to the same socket (not by a wait): see conformance.delivery."""
    marker = b"udp-fence-%d" % next(_markers)
    control = to_sut(lan, marker, dport=dport, ip_dst=ip_dst)
    return held_before_control(lan.tester, sock, control, marker,
                               socket_name=f"UDP port {dport} at {ip_dst or lan.sut.ip} on the SUT")


def counter_changes(before: dict[str, int], after: dict[str, int], prefix: str = "Udp.") -> dict[str, int]:
    """The counters under `prefix` that moved between two snapshots, with their change."""
    return {k: after[k] - before.get(k, 0) for k in after if k.startswith(prefix) and after[k] != before.get(k, 0)}




def establish_port_unreachable(lan) -> None:
    """Show the SUT answers an ordinary datagram to a closed port with a Port Unreachable, so
    that its silence about a datagram it must not answer means something; INCONCLUSIVE if not."""
    probe = to_sut(lan, b"ordinary datagram to a closed port", dport=CLOSED_PORT)
    try:
        lan.tester.exchange(probe, expect=icmp_from_sut(lan, 3, 3, name="ICMP port unreachable from the SUT"))
    except NoMatch:
        raise Inconclusive(
            "the SUT sends no Port Unreachable even for an ordinary datagram to a closed port, so its "
            "silence about this one cannot be judged"
        ) from None

