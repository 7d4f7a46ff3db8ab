"""The Neighbor Discovery topologies (fixtures/nd.py) against the real kernel: IPv6 is
up before a case starts, the ND fence touches no entry a case uses, the SUT's address table is
read with flags and lifetimes, IPv6 starts in front of the tester on `slaac_host`, and DAD costs
about one RetransTimer there, not seconds."""

import time

from scapy.layers.inet6 import ICMPv6ND_NS, IPv6

from cases.nd.frames import UNSPECIFIED
from conformance.match import like


def test_nd_host_starts_with_ipv6_up(nd_host):
    addresses = {a.address: a for a in nd_host.addresses()}
    assert nd_host.sut.ll in addresses and nd_host.sut.ip6 in addresses
    assert all(a.usable for a in addresses.values())
    assert addresses[nd_host.sut.ip6].valid_s is None  # a static address: infinite lifetime


def test_nd_fence_is_answered_and_leaves_no_entry_for_the_tester(nd_host):
    nd_host.tester.sync()
    entries = nd_host.control.neighbours(nd_host.sut.ifname, family=6)
    assert nd_host.tester.ip6 not in entries and "fe80::2" not in entries


def test_added_address_carries_its_lifetimes(nd_host):
    nd_host.add_address("2001:db8:3::1/64", dad=False, preferred=0, valid=600)
    added = nd_host.address("2001:db8:3::1")
    assert added is not None and "deprecated" in added.flags and 590 <= (added.valid_s or 0) <= 600


def test_slaac_host_dad_costs_one_retrans_timer(slaac_host):
    assert not [a for a in slaac_host.addresses() if a.address.startswith("fe80:")], "IPv6 is off until enable()"
    started = time.monotonic()
    slaac_host.enable()
    probe = slaac_host.tester.expect(like(IPv6(src=UNSPECIFIED) / ICMPv6ND_NS(tgt=slaac_host.sut.ll)), timeout=2.0)
    assert probe is not None
    slaac_host.link_local_ready()
    cost = time.monotonic() - started
    assert cost < 0.5, f"DAD of the link-local address took {cost:.3f} s; with RetransTimer 100 ms it costs ~0.1 s"


def test_nd_router_forwards_and_has_its_control(nd_router):
    route = nd_router.control.route_get("2001:db8:7::5")
    assert route["gateway"] == nd_router.alt_router.ll and route["oif"] == nd_router.near.ifname


def test_slaac_cases_judge_the_link_local_address_the_sut_formed(tmp_path):
    """A SUT that forms its link-local address otherwise than from its MAC (random, as RFC 8064
    allows) is judged by the address it has: no SLAAC case fails or is left unjudged for it,
    except the one about a hardware-derived address, which says why."""
    import json
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--no-progress", "--protocol", "slaac",
                    "--sut-sysctl", "net.ipv6.conf.eth0.addr_gen_mode=3", "--report-dir", str(tmp_path)],
                   capture_output=True, text=True, timeout=300, check=False)
    results = json.loads((tmp_path / "latest" / "results.json").read_text())
    others = {c["id"]: (c["outcome"], c["message"]) for c in results["cases"] if c["outcome"] != "pass"}
    assert set(others) <= {"SLAAC-LINK-LOCAL-DUPLICATE-DISABLES-IP"}, others
    assert all("not formed from its hardware address" in message for _, message in others.values()), others
