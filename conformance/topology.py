"""Topologies as data, and the one builder that turns them into namespaces and tears them down.

A Topology names nodes (one namespace each), links between them (veth pairs, or a TAP device
whose user-space side the suite holds), addresses, routes and per-node sysctls. `build()` makes
it, registering each resource's teardown the moment the resource exists, so a
half-built network is still removed.

It talks to the kernel through conformance_agent.rtnl (one rtnetlink socket per namespace,
request and acknowledgement, no event loop): a veth pair is one request, with its peer made
directly in the other namespace.

Every address must lie in 198.18.0.0/15 or 2001:db8::/32 and every MAC must be locally
administered unicast: nothing a case sends can be mistaken for, or leak to, a real network.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import select
import socket
import struct
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from conformance.netns import Namespace
from conformance.runs import last_lines, run_command
from conformance.verdict import Inconclusive
from conformance_agent import rtnl as netlink

ALLOWED_NETS = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32"))
IFNAMSIZ = 16


class TopologyError(ValueError):
    """A topology spec that cannot be built as written."""


@dataclass(frozen=True)
class Node:
    """One namespace. `sysctls` are applied before links exist, except keys that name an
    interface (net.ipv4.conf.<if>.*, net.ipv4.neigh.<if>.*): those are applied once the node's
    interface of that name exists, and left out where the node has none (a profile's
    net.ipv4.conf.eth1.* concerns topologies where the SUT has an eth1)."""

    name: str
    sysctls: Mapping[str, str | int] = field(default_factory=dict)
    commands: tuple[str, ...] = ()  # shell commands run inside the node once it is built
    profile: Mapping[str, str] = field(default_factory=dict)  # the part of `sysctls` a SUT profile gave


@dataclass(frozen=True)
class End:
    """One end of a link: the interface `ifname` in `node`, with a fixed MAC and MTU."""

    node: str
    ifname: str
    mac: str | None = None
    mtu: int | None = None


@dataclass(frozen=True)
class Veth:
    a: End
    b: End

    def ends(self) -> tuple[End, ...]:
        return (self.a, self.b)


@dataclass(frozen=True)
class Tap:
    """A TAP device in `end.node`; its frames are read and written by the suite through an fd."""

    end: End
    tun: bool = False  # True: a TUN device (bare IP packets, no Ethernet header)

    def ends(self) -> tuple[End, ...]:
        return (self.end,)


Link = Veth | Tap


@dataclass(frozen=True)
class Address:
    node: str
    ifname: str
    cidr: str


@dataclass(frozen=True)
class Route:
    """`dst` is a prefix or 'default'; `kind` is unicast, blackhole, unreachable or prohibit."""

    node: str
    dst: str
    via: str | None = None
    dev: str | None = None
    metric: int | None = None
    table: int | None = None
    kind: str = "unicast"


@dataclass(frozen=True)
class Topology:
    name: str
    nodes: tuple[Node, ...]
    links: tuple[Link, ...] = ()
    addresses: tuple[Address, ...] = ()
    routes: tuple[Route, ...] = ()

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise TopologyError(f"topology {self.name!r} has no node {name!r}")

    def interfaces(self) -> set[tuple[str, str]]:
        return {(e.node, e.ifname) for link in self.links for e in link.ends()}

    def validate(self) -> None:
        """Raise TopologyError naming the first thing that is wrong with the spec."""
        names = [n.name for n in self.nodes]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise TopologyError(f"topology {self.name!r}: node names repeat: {sorted(dup)}")
        seen: set[tuple[str, str]] = set()
        for link in self.links:
            for end in link.ends():
                if end.node not in names:
                    raise TopologyError(f"link end {end.ifname!r} names unknown node {end.node!r}")
                if not 0 < len(end.ifname) < IFNAMSIZ or "/" in end.ifname:
                    raise TopologyError(f"interface name {end.ifname!r} is not a valid name")
                if (end.node, end.ifname) in seen:
                    raise TopologyError(f"interface {end.node}/{end.ifname} is declared twice")
                seen.add((end.node, end.ifname))
                if end.mac is not None:
                    check_mac(end.mac)
        for addr in self.addresses:
            if (addr.node, addr.ifname) not in seen:
                raise TopologyError(f"address {addr.cidr} on unknown interface {addr.node}/{addr.ifname}")
            check_allowed(ipaddress.ip_interface(addr.cidr).ip, f"address {addr.cidr}")
        for route in self.routes:
            if route.node not in names:
                raise TopologyError(f"route {route.dst} names unknown node {route.node!r}")
            if route.dst != "default":
                check_allowed(ipaddress.ip_network(route.dst, strict=True), f"route {route.dst}")
            if route.via is not None:
                check_allowed(ipaddress.ip_address(route.via), f"gateway {route.via}")
            if route.dev is not None and (route.node, route.dev) not in seen:
                raise TopologyError(f"route {route.dst} via unknown interface {route.node}/{route.dev}")
            if route.kind not in ROUTE_TYPES:
                raise TopologyError(f"route {route.dst}: unknown kind {route.kind!r}")


ROUTE_TYPES = {"unicast": 1, "blackhole": 6, "unreachable": 7, "prohibit": 8}


def check_allowed(addr: Any, what: str) -> None:
    if not any(addr.version == net.version and _within(addr, net) for net in ALLOWED_NETS):
        raise TopologyError(f"{what} is outside 198.18.0.0/15 and 2001:db8::/32, the only ranges the suite may use")


def _within(addr: Any, net: Any) -> bool:
    if isinstance(addr, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return bool(addr.subnet_of(net))
    return addr in net


def check_mac(mac: str) -> None:
    try:
        first = int(mac.split(":")[0], 16)
        ok = len(bytes.fromhex(mac.replace(":", ""))) == 6
    except ValueError:
        ok = False
    if not ok:
        raise TopologyError(f"{mac!r} is not a MAC address")
    if first & 0x01 or not first & 0x02:
        raise TopologyError(f"MAC {mac} must be locally administered unicast (02:...)")


# --- building -------------------------------------------------------------------------------

TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000
SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17
LOOPBACK_IFINDEX = 1  # the kernel gives every namespace's loopback this index

# Before any interface exists: IPv6 off unless a link asks for it (no MLD/RS/DAD chatter),
# and no DAD delay where it is on.
QUIET_DEFAULTS = {
    "net.ipv6.conf.default.disable_ipv6": 1,
    "net.ipv6.conf.default.accept_dad": 0,
    "net.ipv6.conf.all.accept_dad": 0,
}


class PyrouteHandles(dict[str, Any]):
    """pyroute2 IPRoute handles by node name, each opened in its node's namespace on first use
    (`net.ipr[node]`): for fixtures that read what the builder does not (IPv6 address states,
    route lookups). The builder itself does without them; they cost an import and a helper only
    where a fixture asks."""

    def __init__(self, ns: dict[str, Namespace]) -> None:
        super().__init__()
        self._ns = ns

    def __missing__(self, node: str) -> Any:
        from pyroute2 import IPRoute  # imported late: most runs never need it

        with self._ns[node].entered():
            handle = IPRoute()
        self[node] = handle
        return handle

    def close(self) -> None:
        for handle in self.values():
            handle.close()
        self.clear()


@dataclass
class Network:
    """A built topology: namespaces, one rtnetlink socket per namespace, and TAP fds, by node name."""

    spec: Topology
    ns: dict[str, Namespace]
    rtnl: dict[str, netlink.Rtnl]
    taps: dict[tuple[str, str], int]
    indexes: dict[tuple[str, str], int] = field(default_factory=dict)  # (node, ifname) -> ifindex
    ipr: PyrouteHandles = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.ipr = PyrouteHandles(self.ns)

    def ifindex(self, node: str, ifname: str) -> int:
        index = self.indexes.get((node, ifname))
        if index is None:
            try:
                index = int(str(netlink.link_get(self.rtnl[node], name=ifname)["index"]))
            except OSError:
                raise TopologyError(f"no interface {ifname} in {node}") from None
            self.indexes[(node, ifname)] = index
        return index

    def link(self, node: str, ifname: str) -> dict[str, object]:
        """The link as the kernel reports it now: index, name, mac, mtu, up, operstate."""
        return netlink.link_get(self.rtnl[node], index=self.ifindex(node, ifname))

    def mac(self, node: str, ifname: str) -> str:
        return str(self.link(node, ifname)["mac"])


@contextmanager
def build(spec: Topology) -> Iterator[Network]:
    """Build `spec`, yield the Network, and remove everything again whatever happens.

    Teardown closes the namespaces' fds: the kernel then removes each namespace with everything
    in it (links, addresses, routes) in one go, off this thread."""
    spec.validate()
    with ExitStack() as stack:
        net = Network(spec, {}, {}, {})
        for node in spec.nodes:
            ns = Namespace(node.name)
            stack.callback(ns.close)
            net.ns[node.name] = ns
            early = {k: v for k, v in {**QUIET_DEFAULTS, **node.sysctls}.items() if interface_of(k) is None}
            with ns.entered():
                for key, value in early.items():
                    _write_sysctl(key, value, node.name)
                sock = netlink.Rtnl()
            stack.callback(sock.close)
            net.rtnl[node.name] = sock
            sock.link_set(LOOPBACK_IFINDEX, up=True)
        stack.callback(net.ipr.close)  # before the namespaces go
        for link in spec.links:
            if isinstance(link, Veth):
                _add_veth(net, link)
            else:
                fd = _add_tap(net, link)
                stack.callback(os.close, fd)
                net.taps[(link.end.node, link.end.ifname)] = fd
        for node in spec.nodes:
            ifnames = {e.ifname for link in spec.links for e in link.ends() if e.node == node.name}
            late = {k: v for k, v in node.sysctls.items() if interface_of(k) in ifnames}
            if late:
                with net.ns[node.name].entered():
                    for key, value in late.items():
                        _write_sysctl(key, value, node.name)
        for addr in spec.addresses:
            iface = ipaddress.ip_interface(addr.cidr)
            if iface.version == 6:  # IPv6 is off on every link until the topology gives it an address
                with net.ns[addr.node].entered():
                    _write_sysctl(f"net.ipv6.conf.{addr.ifname}.disable_ipv6", 0, addr.node)
            netlink.address_add(net.rtnl[addr.node], net.ifindex(addr.node, addr.ifname), str(iface.ip),
                             iface.network.prefixlen, nodad=iface.version == 6)
        for link in spec.links:
            for end in link.ends():
                net.rtnl[end.node].link_set(net.ifindex(end.node, end.ifname), up=True)
        for route in spec.routes:
            _add_route(net, route)
        _wait_carrier(net)
        for node in spec.nodes:
            for command in node.commands:
                code, output = run_command(net.ns[node.name], command)
                if code != 0:
                    raise TopologyError(f"node {node.name}: command failed with status {code}: {command}\n"
                                        + last_lines(output))
        yield net


# Scopes under net.<proto>.{conf,neigh} that are not interface names.
NON_INTERFACE_SCOPES = {"all", "default", "lo"}


def interface_of(key: str) -> str | None:
    """The interface a per-interface sysctl names (net.ipv4.conf.eth0.x -> eth0), or None."""
    parts = key.split(".")
    if len(parts) > 4 and parts[2] in ("conf", "neigh") and parts[3] not in NON_INTERFACE_SCOPES:
        return parts[3]
    return None


def _write_sysctl(key: str, value: str | int, node: str) -> None:
    path = "/proc/sys/" + key.replace(".", "/")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)  # unbuffered: one write per setting
    except FileNotFoundError:
        raise TopologyError(f"node {node}: sysctl {key} does not exist in a network namespace") from None
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def _add_veth(net: Network, link: Veth) -> None:
    a, b = link.a, link.b
    try:
        netlink.veth_add(net.rtnl[a.node], a.ifname, b.ifname, net.ns[b.node].fd, mac=a.mac or None, mtu=a.mtu or None,
                      peer_mac=b.mac or None, peer_mtu=b.mtu or None)
    except OSError as exc:
        if exc.errno == errno.EOPNOTSUPP:
            raise Inconclusive("this kernel has no veth support, which the topology needs") from exc
        raise
    # Partial checksums on the wire would make every checksum case lie.
    for end in link.ends():
        with net.ns[end.node].entered():
            _ethtool_set(end.ifname, ETHTOOL_STXCSUM, 0)


def _ethtool_set(ifname: str, cmd: int, value: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        data = struct.pack("II", cmd, value)
        buf = bytearray(data)
        addr = struct.pack("16sP16x", ifname.encode(), _buffer_address(buf))  # struct ifreq
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, addr)


def _buffer_address(buf: bytearray) -> int:
    import ctypes

    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


def _add_tap(net: Network, link: Tap) -> int:
    end = link.end
    with net.ns[end.node].entered():
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            raise Inconclusive(f"cannot open /dev/net/tun ({exc.strerror}): this kernel offers no TUN/TAP") from exc
        try:
            flags = (IFF_TUN if link.tun else IFF_TAP) | IFF_NO_PI
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", end.ifname.encode(), flags))
            # Persistent: closing the fd is then cheap, and the namespace's teardown removes it.
            fcntl.ioctl(fd, TUNSETPERSIST, 1)
        except BaseException:
            os.close(fd)
            raise
    os.set_blocking(fd, False)
    sock = net.rtnl[end.node]
    index = net.ifindex(end.node, end.ifname)
    if end.mac and not link.tun:
        sock.link_set(index, mac=end.mac)
    if end.mtu:
        sock.link_set(index, mtu=end.mtu)
    return fd


def _add_route(net: Network, route: Route) -> None:
    if route.dst == "default":
        dst = "0.0.0.0/0" if route.via is None or ":" not in route.via else "::/0"
    else:
        dst = route.dst
    netlink.route_add(net.rtnl[route.node], dst, gateway=route.via or None,
                   oif=net.ifindex(route.node, route.dev) if route.dev else None, kind=route.kind, table=route.table,
                   metric=route.metric)


def _wait_carrier(net: Network, timeout: float = 2.0) -> None:
    """The first frame after a veth comes up can be lost: wait until every end is UP. The
    kernel sets operstate from a worker shortly after `link up`; the wait sleeps on each
    namespace's link notifications rather than polling."""
    pending: dict[str, set[int]] = {}
    for link in net.spec.links:
        if isinstance(link, Veth):
            for e in link.ends():
                pending.setdefault(e.node, set()).add(net.ifindex(e.node, e.ifname))
    if not pending:
        return
    watches: dict[str, netlink.LinkWatch] = {}
    try:
        for node in pending:  # subscribe first, then read: no transition falls in between
            with net.ns[node].entered():
                watches[node] = netlink.LinkWatch()
        for node, indexes in pending.items():
            for index in list(indexes):
                if netlink.link_get(net.rtnl[node], index=index)["operstate"] == "UP":
                    indexes.discard(index)
        deadline = time.monotonic() + timeout
        while any(pending.values()):
            left = deadline - time.monotonic()
            if left <= 0:
                down = sorted((node, i) for node, indexes in pending.items() for i in indexes)
                raise Inconclusive(f"links did not come up within {timeout} s: {down}")
            socks = {watches[node].sock: node for node, indexes in pending.items() if indexes}
            ready, _, _ = select.select(list(socks), [], [], left)
            for sock in ready:
                node = socks[sock]
                pending[node] -= watches[node].up_among(pending[node])
    finally:
        for watch in watches.values():
            watch.close()
