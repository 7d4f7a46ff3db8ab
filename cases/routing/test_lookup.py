"""Route lookup on forward: static routes, longest match, default route, metrics, ECMP
(RFC 1812 5.2.4.3, 7.4; RFC 2991)."""

import time

from scapy.layers.l2 import Ether

from cases.routing.frames import udp_frame, udp_like
from cases.routing.paths import flows_reached, hops_reached
from conformance.catalog import MUST, SHOULD, case
from conformance.verdict import Inconclusive

WIDE, NARROW = "198.19.0.0/16", "198.19.5.0/24"


def _send(mp, dst: str, sport: int, payload: bytes = b"routing-case") -> None:
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, mp.tester.ip, dst, sport=sport, payload=payload))


@case("RT-STATIC-ROUTE", rfc=1812, section="7.4", level=SHOULD, layer=3, needs=("routes",))
def test_static_route_to_remote_prefix_is_used(multipath):
    """A statically configured route to a network prefix via a next hop is used to forward
    datagrams for that prefix, to the next hop's MAC.

    Precondition: `198.19.0.0/16 via 198.18.2.2` (hop A).
    """
    multipath.control.add_route(WIDE, gateway=multipath.hop_a.ip)
    _send(multipath, "198.19.1.1", 43001)
    fwd = multipath.hop_a.expect(udp_like(multipath.tester.ip, "198.19.1.1", sport=43001))
    assert fwd[Ether].dst == multipath.hop_a.mac, f"the datagram must go to hop A's MAC {multipath.hop_a.mac}, not {fwd[Ether].dst}"


@case("RT-LONGEST-MATCH", rfc=1812, section="5.2.4.3", level=MUST, layer=3, needs=("routes",))
def test_longest_matching_prefix_wins(multipath):
    """Of several routes whose prefixes match the destination, the one with the longest prefix
    is used.

    Preconditions: `198.19.0.0/16 via hop A` and `198.19.5.0/24 via hop B`. A datagram to
    198.19.5.9 must reach hop B; one to 198.19.6.9 (only the /16 matches) must reach hop A.
    """
    multipath.control.add_route(WIDE, gateway=multipath.hop_a.ip)
    multipath.control.add_route(NARROW, gateway=multipath.hop_b.ip)
    since = time.time_ns()
    _send(multipath, "198.19.5.9", 43002)
    _send(multipath, "198.19.6.9", 43003)
    narrow = hops_reached(multipath, multipath.tester.ip, "198.19.5.9", 43002, since)
    wide = hops_reached(multipath, multipath.tester.ip, "198.19.6.9", 43003, since)
    assert narrow == {"A": 0, "B": 1}, (
        f"RFC 1812 5.2.4.3: 198.19.5.9 matches the /24 via hop B more specifically than the /16 via hop A; hops saw {narrow}"
    )
    assert wide == {"A": 1, "B": 0}, f"198.19.6.9 matches only the /16 via hop A; hops saw {wide}"
    chosen = multipath.control.route_get("198.19.5.9")["gateway"]
    assert chosen == multipath.hop_b.ip, f"the SUT's own route lookup for 198.19.5.9 must name hop B; it names {chosen}"


@case("RT-DEFAULT-ROUTE", rfc=1812, section="5.2.4.3", level=MUST, layer=3, needs=("routes",))
def test_default_route_carries_unmatched_destinations(multipath):
    """A default route (prefix length 0) matches every destination, so a datagram that no longer
    prefix matches is forwarded by it, while one that does match a longer prefix is not.

    Preconditions: `default via hop B` and `198.19.0.0/16 via hop A`.
    """
    multipath.control.add_route("0.0.0.0/0", gateway=multipath.hop_b.ip)
    multipath.control.add_route(WIDE, gateway=multipath.hop_a.ip)
    since = time.time_ns()
    _send(multipath, "198.18.77.7", 43004)
    _send(multipath, "198.19.77.7", 43005)
    unmatched = hops_reached(multipath, multipath.tester.ip, "198.18.77.7", 43004, since)
    specific = hops_reached(multipath, multipath.tester.ip, "198.19.77.7", 43005, since)
    assert unmatched == {"A": 0, "B": 1}, f"RFC 1812 5.2.4.3: 198.18.77.7 matches only the default route via hop B; hops saw {unmatched}"
    assert specific == {"A": 1, "B": 0}, f"198.19.77.7 matches the /16 via hop A, which is longer than the default; hops saw {specific}"


@case("RT-BEST-METRIC", rfc=1812, section="7.4", level=SHOULD, layer=3, needs=("routes",))
def test_route_with_best_metric_is_used(multipath):
    """Of two routes to the same prefix that differ only in metric, the one with the better
    (lower) metric is used.

    RFC 1812 7.4: the static-route mechanism "SHOULD also allow for a metric to be specified for
    each static route" (the level); the Best Metric pruning rule of 5.2.4.3 says which one wins.

    Preconditions: `198.19.0.0/16 via hop A metric 20` and `198.19.0.0/16 via hop B metric 10`.
    """
    multipath.control.add_route(WIDE, gateway=multipath.hop_a.ip, priority=20)
    multipath.control.add_route(WIDE, gateway=multipath.hop_b.ip, priority=10)
    since = time.time_ns()
    _send(multipath, "198.19.3.3", 43006)
    hops = hops_reached(multipath, multipath.tester.ip, "198.19.3.3", 43006, since)
    assert hops == {"A": 0, "B": 1}, f"RFC 1812 7.4, 5.2.4.3 (Best Metric): the metric-10 route via hop B must win; hops saw {hops}"
    chosen = multipath.control.route_get("198.19.3.3")["gateway"]
    assert chosen == multipath.hop_b.ip, f"the SUT's own route lookup for 198.19.3.3 must name hop B; it names {chosen}"


FLOW_PACKETS = 24
CONTROL_FLOWS = 32


@case("RT-ECMP-FLOW-STICKY", rfc=2991, section="2", level=SHOULD, layer=3, needs=("routes",), also=(2992,))
def test_packets_of_one_flow_take_one_equal_cost_path(multipath):
    """With two equal-cost next hops, all packets of one flow take the same path, so a flow is
    not reordered and sees one path MTU and delay.

    Precondition: `198.19.0.0/16 nexthop via hop A nexthop via hop B` (one multipath route).
    Twenty-four datagrams of one flow (same addresses, protocol and ports) are sent.

    RFC 2991 is Informational and has no RFC 2119 keywords: its section 2 (Concerns) names the
    harm of spreading one flow over several paths (reordering, varying path MTU and latency),
    and the memo offers per-flow (hash-based) next-hop selection as the remedy; the case reads
    that as SHOULD.

    Control: a flow that stays on one next hop proves nothing if the SUT uses only one of them.
    When the flow stayed, 32 datagrams of 32 other flows (other destinations in the prefix and
    other source ports) must reach both hops; else the SUT is not shown to spread traffic at
    all (INCONCLUSIVE). The chance that a hash sends 32 flows one way is 2^-31.
    """
    multipath.control.add_route(WIDE, multipath=[{"gateway": multipath.hop_a.ip}, {"gateway": multipath.hop_b.ip}])
    dst, sport = "198.19.8.8", 43007
    since = time.time_ns()
    for i in range(FLOW_PACKETS):
        _send(multipath, dst, sport, payload=b"flow-%02d" % i)
    counts = hops_reached(multipath, multipath.tester.ip, dst, sport, since, expected=FLOW_PACKETS, timeout=2.0)
    assert counts["A"] + counts["B"] == FLOW_PACKETS, f"all {FLOW_PACKETS} datagrams must be forwarded; hops saw {counts}"
    assert 0 in counts.values(), f"RFC 2991: one flow should stay on one path; it was split {counts}"
    flows = [(f"198.19.9.{i + 1}", 43100 + i) for i in range(CONTROL_FLOWS)]
    since = time.time_ns()
    for flow_dst, flow_sport in flows:
        _send(multipath, flow_dst, flow_sport, payload=b"other-flow")
    spread = flows_reached(multipath, multipath.tester.ip, flows, since)
    if sum(spread.values()) != CONTROL_FLOWS or 0 in spread.values():
        raise Inconclusive(
            f"datagrams of {CONTROL_FLOWS} different flows over the same two-next-hop route reached the hops as {spread}, "
            "so the SUT is not shown to spread flows at all and one flow staying on one path proves nothing"
        )
