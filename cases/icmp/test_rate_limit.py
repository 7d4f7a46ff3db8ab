"""Rate limiting of ICMP error messages (RFC 1812 4.3.2.8): "A router SHOULD also be able to
limit the rate at which it sends other sorts of ICMP error messages (Destination Unreachable,
...). The rate limit parameters SHOULD be settable as part of the configuration of the router.
How the limits are applied (e.g., per router or per interface) is left to the implementor's
discretion."

The limit itself is judged on the router as it is configured (its profile, or the kernel's
defaults): the case changes none of its limits, and a router configured to send an error for
every datagram of a burst fails it. Settability is judged by setting the parameters, which is
that case's subject. A burst of datagrams to a closed port is sent back to back, then a fence.
Where the router offers its counters, Udp.NoPorts must show every datagram arrived and
Icmp.OutDestUnreachs no more errors sent than reached the tester; a loss on the way is
INCONCLUSIVE (conformance/burst_counters.py).
"""

from scapy.layers.inet import ICMP

from cases.icmp.frames import ip_like, udp_datagram
from conformance.burst_counters import BurstCounters
from conformance.catalog import SHOULD, case
from conformance.match import like
from conformance.verdict import Inconclusive

BURST = 100  # more than any sensible burst allowance (Linux: 6 per destination, 50 per namespace)


def fire_burst(routed) -> int:
    """Send BURST datagrams to a closed port of the router; return how many errors came back
    (INCONCLUSIVE when the router's own counter shows that not all of them arrived)."""
    t, r = routed.tester, routed.router_near
    counters = BurstCounters(routed.control, ("snmp", "Udp.NoPorts"), ("snmp", "Icmp.OutDestUnreachs"),
                             ("snmp", "Icmp.OutErrors"))
    for sport in range(41000, 41000 + BURST):
        t.send(udp_datagram(t.mac, r.mac, t.ip, r.ip, sport=sport))
    t.expect_none(like(ip_like(proto=0xFF)))  # matches nothing: only the fence, so all errors are in
    error = like(ip_like(src=r.ip, dst=t.ip) / ICMP(type=3, code=3))
    got = sum(1 for f in t.capture.frames if f.port == t.name and f.direction == "in" and error(f.packet))
    counters.check(BURST, "datagrams of the burst", got, "Destination Unreachables")
    return got


def open_global_limiter(control) -> None:
    control.set_sysctl("net.ipv4.icmp_msgs_per_sec", 100000)
    control.set_sysctl("net.ipv4.icmp_msgs_burst", 100000)


@case("ICMP-ERR-RATE-LIMIT", rfc=1812, section="4.3.2.8", level=SHOULD, layer=3)
def test_errors_to_one_destination_are_rate_limited(routed):
    """A router, as configured, limits the rate at which it sends ICMP Destination Unreachable messages.

    100 datagrams to a closed port, sent back to back within far less than a second, must draw
    at least one error and fewer than 100: some must have been held back by a limit, whichever
    way the router applies it. The router's own limits decide (on Linux by default:
    icmp_ratelimit 1000 ms per destination with a burst of 6, icmp_msgs_per_sec 1000 with a
    burst of 50 per namespace, so 6 errors arrive).
    """
    got = fire_burst(routed)
    if got == 0:
        raise Inconclusive(f"{BURST} datagrams to a closed port drew no Port Unreachable at all, so no limit can be seen")
    assert got < BURST, (
        f"a router should limit the rate of its ICMP errors; {BURST} datagrams sent at once drew {got} errors, "
        "one for every datagram (the router's limits as configured did not act)"
    )


@case("ICMP-ERR-RATE-SETTABLE", rfc=1812, section="4.3.2.8", level=SHOULD, layer=3, needs=("sysctl",))
def test_error_rate_limit_is_configurable(routed):
    """The rate limit parameters of ICMP errors are settable: with the limit lifted, every datagram draws its error.

    Preconditions: icmp_ratelimit=0 (no per-destination limit), icmp_msgs_per_sec and
    icmp_msgs_burst 100000. All 20 datagrams sent back to back must be answered.
    """
    routed.control.set_sysctl("net.ipv4.icmp_ratelimit", 0)
    open_global_limiter(routed.control)
    got = fire_burst(routed)
    if got == 0:
        raise Inconclusive(f"{BURST} datagrams to a closed port drew no Port Unreachable at all, so the setting shows nothing")
    assert got == BURST, f"with the rate limit set off, all {BURST} datagrams must draw their error; {got} arrived"
