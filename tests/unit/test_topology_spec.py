"""Topology specs are checked before anything is built."""

import pytest

from conformance.sut import NetnsSut
from conformance.topology import Address, End, Node, Route, Topology, TopologyError, Veth, interface_of
from fixtures.lan import lan_topology
from fixtures.routed import routed_topology


def two_nodes(**kw):
    base = {
        "nodes": (Node("a"), Node("b")),
        "links": (Veth(End("a", "a0", "02:00:00:00:00:01"), End("b", "b0", "02:00:00:00:00:02")),),
    }
    base.update(kw)
    return Topology("t", **base)


def test_shipped_topologies_are_valid():
    lan_topology(NetnsSut()).validate()
    routed_topology(NetnsSut()).validate()


@pytest.mark.parametrize("cidr", ["10.0.0.1/24", "192.168.1.1/24", "8.8.8.8/32", "fe80::1/64", "2001:db9::1/64"])
def test_addresses_outside_the_benchmark_ranges_are_refused(cidr):
    spec = two_nodes(addresses=(Address("a", "a0", cidr),))
    with pytest.raises(TopologyError, match="outside 198.18.0.0/15"):
        spec.validate()


@pytest.mark.parametrize("cidr", ["198.18.0.1/24", "198.19.255.254/16", "2001:db8::1/64"])
def test_addresses_inside_the_ranges_are_accepted(cidr):
    two_nodes(addresses=(Address("a", "a0", cidr),)).validate()


def test_routes_and_gateways_outside_the_ranges_are_refused():
    with pytest.raises(TopologyError, match="route 10.0.0.0/8"):
        two_nodes(routes=(Route("a", "10.0.0.0/8", via="198.18.0.1"),)).validate()
    with pytest.raises(TopologyError, match="gateway 10.0.0.1"):
        two_nodes(routes=(Route("a", "default", via="10.0.0.1"),)).validate()


@pytest.mark.parametrize("mac", ["00:11:22:33:44:55", "03:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", "02:00:00", "zz:00:00:00:00:00"])
def test_macs_must_be_locally_administered_unicast(mac):
    spec = Topology("t", nodes=(Node("a"), Node("b")), links=(Veth(End("a", "a0", mac), End("b", "b0")),))
    with pytest.raises(TopologyError, match="MAC"):
        spec.validate()


def test_structural_mistakes_are_named():
    with pytest.raises(TopologyError, match="node names repeat"):
        Topology("t", nodes=(Node("a"), Node("a"))).validate()
    with pytest.raises(TopologyError, match="unknown node 'c'"):
        Topology("t", nodes=(Node("a"),), links=(Veth(End("a", "a0"), End("c", "c0")),)).validate()
    with pytest.raises(TopologyError, match="not a valid name"):
        Topology("t", nodes=(Node("a"), Node("b")), links=(Veth(End("a", "x" * 16), End("b", "b0")),)).validate()
    with pytest.raises(TopologyError, match="declared twice"):
        Topology("t", nodes=(Node("a"), Node("b")),
                 links=(Veth(End("a", "a0"), End("b", "b0")), Veth(End("a", "a0"), End("b", "b1")))).validate()
    with pytest.raises(TopologyError, match="unknown interface a/zz"):
        two_nodes(addresses=(Address("a", "zz", "198.18.0.1/24"),)).validate()
    with pytest.raises(TopologyError, match="unknown kind"):
        two_nodes(routes=(Route("a", "198.18.5.0/24", kind="teleport"),)).validate()


def test_interface_sysctls_wait_until_the_interface_exists():
    assert interface_of("net.ipv4.conf.eth0.rp_filter") == "eth0"
    assert interface_of("net.ipv4.neigh.eth1.base_reachable_time_ms") == "eth1"
    assert interface_of("net.ipv4.conf.all.rp_filter") is None
    assert interface_of("net.ipv4.conf.lo.rp_filter") is None
    assert interface_of("net.ipv4.ip_forward") is None


def test_router_topology_turns_forwarding_on_and_lan_does_not():
    assert routed_topology(NetnsSut()).node("sut").sysctls["net.ipv4.ip_forward"] == 1
    assert "net.ipv4.ip_forward" not in lan_topology(NetnsSut()).node("sut").sysctls
