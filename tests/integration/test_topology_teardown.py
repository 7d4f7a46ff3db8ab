"""Topologies build, and leave nothing behind: not after success, failure, or a half-built spec."""

import os
from pathlib import Path

import pytest

from conformance.sut import NetnsSut
from conformance.topology import Address, End, Node, Route, Tap, Topology, Veth, build
from fixtures.lan import lan_topology
from fixtures.routed import routed_topology
from tests.integration import rootns


def fd_open(fd):
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


TAP_SPEC = Topology(
    "tap",
    nodes=(Node("sut"),),
    links=(Tap(End("sut", "tap0", "02:00:00:00:09:01")),),
    addresses=(Address("sut", "tap0", "198.18.9.1/24"),),
)


@pytest.mark.parametrize("spec", [lan_topology(NetnsSut()), routed_topology(NetnsSut()), TAP_SPEC], ids=lambda s: s.name)
def test_build_and_teardown_leave_the_root_namespace_as_it_was(spec):
    before = rootns.snapshot()
    with build(spec) as net:
        fds = [ns.fd for ns in net.ns.values()] + list(net.taps.values())
        for node in spec.nodes:
            assert net.ifindex(node.name, "lo") == 1
        for link in spec.links:
            for end in link.ends():
                assert net.ifindex(end.node, end.ifname) > 0
                if end.mac:
                    assert net.mac(end.node, end.ifname) == end.mac
    assert not any(fd_open(fd) for fd in fds), "namespace and TAP fds must be closed at teardown"
    assert rootns.differences(before, rootns.snapshot()) == []


def test_a_failing_body_still_tears_down():
    seen: list[int] = []

    def failing_case():
        with build(lan_topology(NetnsSut())) as net:
            seen.extend(ns.fd for ns in net.ns.values())
            raise RuntimeError("the case failed")

    with pytest.raises(RuntimeError):
        failing_case()
    assert seen
    assert not any(fd_open(fd) for fd in seen)


def test_a_half_built_topology_is_removed():
    before = {int(fd) for fd in os.listdir("/proc/self/fd")}
    spec = Topology(
        "broken",
        nodes=(Node("a"), Node("b")),
        links=(Veth(End("a", "a0"), End("b", "b0")),),
        # No route to this gateway: the kernel refuses the route after links and addresses exist.
        routes=(Route("a", "198.18.50.0/24", via="198.18.60.1"),),
    )
    with pytest.raises(Exception, match="unreachable|Network is unreachable|101"), build(spec):
        pass
    leaked = {int(fd) for fd in os.listdir("/proc/self/fd")} - before
    assert not {fd for fd in leaked if fd_open(fd) and os.readlink(f"/proc/self/fd/{fd}").startswith("net:")}


def test_sysctls_reach_the_node_and_only_the_node():
    spec = Topology("s", nodes=(Node("a", sysctls={"net.ipv4.ip_forward": 1, "net.ipv4.conf.a0.rp_filter": 2}), Node("b")),
                    links=(Veth(End("a", "a0"), End("b", "b0")),))
    root_forward = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    with build(spec) as net:
        assert net.ns["a"].read_sysctl("net.ipv4.ip_forward") == "1"
        assert net.ns["a"].read_sysctl("net.ipv4.conf.a0.rp_filter") == "2"
        assert net.ns["b"].read_sysctl("net.ipv4.ip_forward") == "0"
        assert net.ns["b"].read_sysctl("net.ipv6.conf.b0.disable_ipv6") == "1", "links are IPv6-quiet by default"
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == root_forward


def test_an_unknown_sysctl_is_named():
    spec = Topology("s", nodes=(Node("a", sysctls={"net.ipv4.no_such_knob": 1}),))
    with pytest.raises(ValueError, match="node a: sysctl net.ipv4.no_such_knob does not exist"), build(spec):
        pass


def test_namespace_blocks_nest_and_return_to_the_outer_namespace():
    from conformance.netns import Namespace

    home = os.readlink("/proc/thread-self/ns/net")
    outer, inner = Namespace("outer"), Namespace("inner")
    try:
        with outer.entered():
            with inner.entered():
                assert os.readlink("/proc/thread-self/ns/net") == f"net:[{inner.inode}]"
            assert os.readlink("/proc/thread-self/ns/net") == f"net:[{outer.inode}]", "leaving the inner block must not go home"
            made = Namespace("made-inside")
            assert os.readlink("/proc/thread-self/ns/net") == f"net:[{outer.inode}]"
            made.close()
        assert os.readlink("/proc/thread-self/ns/net") == home
    finally:
        outer.close()
        inner.close()


def test_ipv6_is_on_exactly_where_the_topology_gives_an_address():
    spec = Topology(
        "v6",
        nodes=(Node("a"), Node("b")),
        links=(Veth(End("a", "a0", "02:00:00:00:06:01"), End("b", "b0", "02:00:00:00:06:02")),),
        addresses=(Address("a", "a0", "2001:db8:6::1/64"), Address("a", "a0", "198.18.6.1/24")),
        routes=(Route("a", "default", via="2001:db8:6::fe"),),
    )
    with build(spec) as net:
        assert net.ns["a"].read_sysctl("net.ipv6.conf.a0.disable_ipv6") == "0"
        assert net.ns["b"].read_sysctl("net.ipv6.conf.b0.disable_ipv6") == "1"
        addrs = {a["address"] for a in net.rtnl["a"].addresses() if a["index"] == net.ifindex("a", "a0")}
        assert {"2001:db8:6::1", "198.18.6.1"} <= addrs
        assert net.rtnl["a"].route_get("2001:db8:99::1")["gateway"] == "2001:db8:6::fe"
