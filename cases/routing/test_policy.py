"""Policy routing: rules that pick a routing table by selectors, in priority order
(RFC 1812 5.2.4.3, the policy step of route selection)."""

import time

from cases.routing.frames import udp_frame
from cases.routing.paths import hops_reached
from conformance.catalog import MAY, case

WIDE = "198.19.0.0/16"
POLICY_TABLE, OTHER_TABLE = 100, 101
POLICY_SOURCE = "198.18.1.77"


def _main_via_a_policy_via_b(mp) -> None:
    mp.control.add_route(WIDE, gateway=mp.hop_a.ip)
    mp.control.add_route(WIDE, gateway=mp.hop_b.ip, table=POLICY_TABLE)


@case("RT-RULE-SOURCE", rfc=1812, section="5.2.4.3", level=MAY, layer=3, needs=("routes",))
def test_rule_on_source_address_selects_table(multipath):
    """A policy rule matching the source address routes that source's datagrams by its own
    table, while other sources keep using the main table.

    Preconditions: main `198.19.0.0/16 via hop A`; table 100 `198.19.0.0/16 via hop B`;
    rule `priority 100 from 198.18.1.77 lookup 100`.
    """
    mp = multipath
    _main_via_a_policy_via_b(mp)
    mp.control.add_rule(100, POLICY_TABLE, src=POLICY_SOURCE, src_len=32)
    since = time.time_ns()
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, POLICY_SOURCE, "198.19.4.4", sport=45001))
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, mp.tester.ip, "198.19.4.4", sport=45002))
    ruled = hops_reached(mp, POLICY_SOURCE, "198.19.4.4", 45001, since)
    other = hops_reached(mp, mp.tester.ip, "198.19.4.4", 45002, since)
    assert ruled == {"A": 0, "B": 1}, f"the datagram from {POLICY_SOURCE} must follow table {POLICY_TABLE} to hop B; hops saw {ruled}"
    assert other == {"A": 1, "B": 0}, f"a datagram from another source must follow the main table to hop A; hops saw {other}"


@case("RT-RULE-PRIORITY", rfc=1812, section="5.2.4.3", level=MAY, layer=3, needs=("routes",))
def test_rule_with_lower_priority_number_is_consulted_first(multipath):
    """When two rules match a datagram, the one with the lower priority number decides, whatever
    the order they were added in.

    Preconditions: table 101 `198.19.0.0/16 via hop A`, table 100 `198.19.0.0/16 via hop B`;
    rule `priority 200 from 198.18.1.0/24 lookup 101` added first, then
    `priority 150 from 198.18.1.0/24 lookup 100`.
    """
    mp = multipath
    mp.control.add_route(WIDE, gateway=mp.hop_a.ip, table=OTHER_TABLE)
    mp.control.add_route(WIDE, gateway=mp.hop_b.ip, table=POLICY_TABLE)
    mp.control.add_rule(200, OTHER_TABLE, src="198.18.1.0", src_len=24)
    mp.control.add_rule(150, POLICY_TABLE, src="198.18.1.0", src_len=24)
    since = time.time_ns()
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, mp.tester.ip, "198.19.4.5", sport=45003))
    hops = hops_reached(mp, mp.tester.ip, "198.19.4.5", 45003, since)
    assert hops == {"A": 0, "B": 1}, f"the priority-150 rule (table {POLICY_TABLE}, hop B) must win over priority 200; hops saw {hops}"


@case("RT-RULE-IIF", rfc=1812, section="5.2.4.3", level=MAY, layer=3, needs=("routes",))
def test_rule_on_input_interface_selects_table(multipath):
    """A policy rule matching the interface a datagram arrived on routes it by its own table,
    while datagrams arriving elsewhere use the main table.

    Preconditions: main `198.19.0.0/16 via hop A`; table 100 `198.19.0.0/16 via hop B`;
    rule `priority 100 iif eth0 lookup 100`. A datagram from the tester (arriving on eth0) must
    reach hop B; the same destination sent in by hop B (arriving on eth2) must reach hop A.
    """
    mp = multipath
    _main_via_a_policy_via_b(mp)
    mp.control.add_rule(100, POLICY_TABLE, iifname=mp.router_near.ifname)
    since = time.time_ns()
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, mp.tester.ip, "198.19.4.6", sport=45004))
    from_near = hops_reached(mp, mp.tester.ip, "198.19.4.6", 45004, since)
    mp.hop_b.send(udp_frame(mp.hop_b.mac, mp.router_b.mac, mp.hop_b.ip, "198.19.4.6", sport=45005))
    from_b = hops_reached(mp, mp.hop_b.ip, "198.19.4.6", 45005, since)
    assert from_near == {"A": 0, "B": 1}, f"the datagram that arrived on eth0 must follow table {POLICY_TABLE} to hop B; hops saw {from_near}"
    assert from_b == {"A": 1, "B": 0}, f"the datagram that arrived on eth2 must follow the main table to hop A; hops saw {from_b}"


@case("RT-RULE-TOS", title="Rule on TOS selects the table", rfc=1812, section="5.2.4.3", level=MAY, layer=3, needs=("routes",), also=(1349,))
def test_rule_on_tos_selects_table(multipath):
    """A policy rule matching the Type of Service routes datagrams with that TOS by its own
    table, while datagrams with the default TOS use the main table.

    Preconditions: main `198.19.0.0/16 via hop A`; table 100 `198.19.0.0/16 via hop B`;
    rule `priority 100 tos 0x10 lookup 100` (0x10: minimize delay).
    """
    mp = multipath
    _main_via_a_policy_via_b(mp)
    mp.control.add_rule(100, POLICY_TABLE, tos=0x10)
    since = time.time_ns()
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, mp.tester.ip, "198.19.4.7", sport=45006, tos=0x10))
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, mp.tester.ip, "198.19.4.7", sport=45007))
    low_delay = hops_reached(mp, mp.tester.ip, "198.19.4.7", 45006, since)
    default = hops_reached(mp, mp.tester.ip, "198.19.4.7", 45007, since)
    assert low_delay == {"A": 0, "B": 1}, f"the TOS 0x10 datagram must follow table {POLICY_TABLE} to hop B; hops saw {low_delay}"
    assert default == {"A": 1, "B": 0}, f"the TOS 0 datagram must follow the main table to hop A; hops saw {default}"


@case("RT-RULE-DESTINATION", rfc=1812, section="5.2.4.3", level=MAY, layer=3, needs=("routes",))
def test_rule_on_destination_prefix_selects_table(multipath):
    """A policy rule matching a destination prefix routes datagrams to that prefix by its own
    table, while other destinations under the same route use the main table.

    Preconditions: main `198.19.0.0/16 via hop A`; table 100 `198.19.0.0/16 via hop B`;
    rule `priority 100 to 198.19.9.0/24 lookup 100`.
    """
    mp = multipath
    _main_via_a_policy_via_b(mp)
    mp.control.add_rule(100, POLICY_TABLE, dst="198.19.9.0", dst_len=24)
    since = time.time_ns()
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, mp.tester.ip, "198.19.9.9", sport=45008))
    mp.tester.send(udp_frame(mp.tester.mac, mp.router_near.mac, mp.tester.ip, "198.19.8.9", sport=45009))
    ruled = hops_reached(mp, mp.tester.ip, "198.19.9.9", 45008, since)
    other = hops_reached(mp, mp.tester.ip, "198.19.8.9", 45009, since)
    assert ruled == {"A": 0, "B": 1}, f"the datagram to 198.19.9.9 must follow table {POLICY_TABLE} to hop B; hops saw {ruled}"
    assert other == {"A": 1, "B": 0}, f"the datagram to 198.19.8.9 must follow the main table to hop A; hops saw {other}"
