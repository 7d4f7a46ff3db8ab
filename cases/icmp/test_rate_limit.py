"""Rate limiting of ICMP error messages (RFC 1812 4.3.2.8).

The router's limits are set through its own sysctls to clear values: the namespace-wide
limiter (icmp_msgs_per_sec, icmp_msgs_burst) is opened wide so that only the per-destination
limiter under test (icmp_ratelimit, the minimum gap in ms between errors to one destination)
decides. A burst of datagrams to a closed port is sent back to back, then a fence.
"""

from scapy.layers.inet import ICMP

from cases.icmp.frames import ip_like, udp_datagram
from conformance.catalog import SHOULD, case
from conformance.match import like

BURST = 20


def fire_burst(routed) -> int:
    """Send BURST datagrams to a closed port of the router; return how many errors came back."""
    t, r = routed.tester, routed.router_near
    for sport in range(41000, 41000 + BURST):
        t.send(udp_datagram(t.mac, r.mac, t.ip, r.ip, sport=sport))
    t.expect_none(like(ip_like(proto=0xFF)))  # matches nothing: only the fence, so all errors are in
    error = like(ip_like(src=r.ip, dst=t.ip) / ICMP(type=3, code=3))
    return sum(1 for f in t.capture.frames if f.port == t.name and f.direction == "in" and error(f.packet))


def open_global_limiter(control) -> None:
    control.set_sysctl("net.ipv4.icmp_msgs_per_sec", 100000)
    control.set_sysctl("net.ipv4.icmp_msgs_burst", 100000)


@case("ICMP-ERR-RATE-LIMIT", rfc=1812, section="4.3.2.8", level=SHOULD, layer=3, needs=("sysctl",))
def test_errors_to_one_destination_are_rate_limited(routed):
    """A router limits the rate at which it sends ICMP Destination Unreachable messages.

    Preconditions: icmp_ratelimit=1000 (one error per second per destination after a burst),
    icmp_msgs_per_sec and icmp_msgs_burst 100000. 20 datagrams sent back to back within far
    less than a second may draw at most 10 errors; with Linux's burst of 6 tokens, 6 arrive.
    """
    routed.control.set_sysctl("net.ipv4.icmp_ratelimit", 1000)
    open_global_limiter(routed.control)
    got = fire_burst(routed)
    assert 1 <= got <= BURST // 2, (
        f"with a limit of one error per second, {BURST} datagrams sent at once must draw a limited number "
        f"of errors (1 to {BURST // 2}); {got} arrived"
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
    assert got == BURST, f"with the rate limit set off, all {BURST} datagrams must draw their error; {got} arrived"
