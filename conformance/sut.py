"""SUT targets: what the system under test is, what it lets the suite do, and its controls.

- `netns` (default): the local kernel in a fresh namespace per case; the suite builds any
  topology around it and may read and change its state.
- `tap`: a stack on the far side of a TAP device (a user-space stack, a VM's NIC).
- `iface`: a device on an existing interface of this machine.

A kind states its capabilities; a case that needs one the SUT lacks is skipped with the reason.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.app import TCP_STATES
from conformance.netns import Namespace
from conformance.profile import Profile
from conformance.topology import Node

# What a case may ask of a SUT, worded to complete "the <kind> SUT does not offer ...".
CAPABILITIES = {
    "segment": "an Ethernet segment shared with the tester",
    "build": "to be rebuilt by the suite inside a topology of its own (routers, TUN/TAP, extra links)",
    "control": "its state to the suite (sysctls, neighbour table, routes, counters)",
    "sysctl": "sysctls the suite can read and set",
    "neighbours": "a neighbour (ARP) table the suite can read",
    "routes": "routes the suite can add and read",
    "sockets": "applications the suite can run on it (listen, accept, read, write)",
    "second_segment": "a second segment behind it, for forwarding",
    "counters": "protocol counters the suite can read",
    "addresses": "interfaces the suite can add addresses to",
    "tcp_listener": "a listening TCP port (--sut-tcp-port)",
    "udp_listener": "a bound UDP port (--sut-udp-port)",
}
KINDS = ("netns", "tap", "iface")

# IPv4 conf/all and conf/default of a new namespace are copied from the initial namespace
# (net.core.devconf_inherit_init_net=0), forwarding included: on a host that routes, every SUT
# would be a router. Pin them to the kernel's built-in defaults.
KERNEL_DEFAULT_SYSCTLS: dict[str, int] = {
    f"net.ipv4.conf.{scope}.{key}": value
    for scope in ("all", "default")
    for key, value in {
        "forwarding": 0,
        "bc_forwarding": 0,
        "rp_filter": 0,
        "arp_ignore": 0,
        "arp_announce": 0,
        "arp_filter": 0,
        "arp_accept": 0,
        "arp_notify": 0,
        "proxy_arp": 0,
        "accept_redirects": 1,
        "secure_redirects": 1,
        "send_redirects": 1,
        "accept_local": 0,
        "route_localnet": 0,
        "log_martians": 0,
        "drop_gratuitous_arp": 0,
        "drop_unicast_in_l2_multicast": 0,
        "shared_media": 1,
        "src_valid_mark": 0,
        "bootp_relay": 0,
        "promote_secondaries": 0,
        "ignore_routes_with_linkdown": 0,
        "arp_evict_nocarrier": 1,
        "proxy_arp_pvlan": 0,
        "force_igmp_version": 0,
        "disable_policy": 0,
        "disable_xfrm": 0,
    }.items()
} | {"net.ipv4.conf.all.accept_source_route": 0, "net.ipv4.conf.default.accept_source_route": 1}


class SutError(ValueError):
    """A SUT that cannot be used as described; one sentence for the user."""


def _missing(kind: str, capabilities: frozenset[str], needs: tuple[str, ...]) -> str | None:
    lacking = [n for n in needs if n not in capabilities]
    if not lacking:
        return None
    return f"the {kind} SUT does not offer " + "; nor ".join(CAPABILITIES.get(n, n) for n in lacking)


@dataclass(frozen=True)
class NetnsSut:
    """The local kernel, in a fresh namespace for every case."""

    kind: str = "netns"
    profile: Profile | None = None
    capabilities: frozenset[str] = frozenset(CAPABILITIES)

    @property
    def sysctls(self) -> dict[str, str | int]:
        """What every SUT namespace gets before its interfaces exist: pinned defaults + profile."""
        return {**KERNEL_DEFAULT_SYSCTLS, **(self.profile.sysctls if self.profile else {})}

    @property
    def commands(self) -> tuple[str, ...]:
        return self.profile.commands if self.profile else ()

    def describe(self) -> str:
        return f"local Linux kernel {os.uname().release} in a fresh network namespace per case"

    def node(self, name: str = "sut", sysctls: Mapping[str, str | int] | None = None) -> Node:
        """The topology node of the SUT: the pinned defaults, the profile, then the topology's own
        sysctls (e.g. forwarding for a router), and the profile's commands.

        It also makes this SUT's profile the one that the SutControl of the namespace built from
        the node compares against, so that a topology's or a case's override of a profile value
        shows in the case's preconditions."""
        _remember_profile(self.profile, sysctls or {})
        return Node(name, sysctls={**self.sysctls, **(sysctls or {})}, commands=self.commands)

    def missing(self, needs: tuple[str, ...]) -> str | None:
        return _missing(self.kind, self.capabilities, needs)


@dataclass(frozen=True)
class ExternalSut:
    """A stack the suite does not build: behind a TAP device, or on a real interface.

    `iface` is the TAP's or the interface's name. For `tap` with a `command`, the suite makes
    the TAP (in a private namespace) and starts the command; otherwise it attaches to `iface`
    as it finds it and changes nothing on it.
    """

    kind: str
    iface: str
    sut_ip: str
    tester_ip: str
    sut_mac: str | None = None
    command: str | None = None
    tcp_port: int | None = None
    udp_port: int | None = None
    prefixlen: int = 24
    allow_host_traffic_iface: bool = False  # the user said the interface may carry the host's own traffic

    @property
    def capabilities(self) -> frozenset[str]:
        caps = {"segment"}
        if self.tcp_port:
            caps.add("tcp_listener")
        if self.udp_port:
            caps.add("udp_listener")
        return frozenset(caps)

    @property
    def sysctls(self) -> dict[str, str | int]:
        return {}

    def describe(self) -> str:
        if self.kind == "tap" and self.command:
            return f"a stack started by the suite on TAP {self.iface}: {self.command}"
        if self.kind == "tap":
            return f"a stack attached to the existing TAP {self.iface}"
        return f"a device on interface {self.iface}"

    def missing(self, needs: tuple[str, ...]) -> str | None:
        return _missing(self.kind, self.capabilities, needs)


SutTarget = NetnsSut | ExternalSut


TEST_RANGES = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32"))
ALLOW_OUTSIDE_FLAG = "--allow-addresses-outside-test-ranges"
ALLOW_HOST_IFACE_FLAG = "--allow-host-traffic-iface"


def external_target(kind: str, *, iface: str | None, sut_ip: str | None, tester_ip: str | None,
                    sut_mac: str | None = None, command: str | None = None, tcp_port: int | None = None,
                    udp_port: int | None = None, allow_outside_ranges: bool = False,
                    allow_host_traffic_iface: bool = False) -> ExternalSut:
    """Check the user's description of an external SUT; SutError names the first problem.

    The suite sends crafted frames only to addresses in its own ranges (198.18.0.0/15,
    2001:db8::/32) unless the user says otherwise with ALLOW_OUTSIDE_FLAG: a typo must not aim
    them at a real gateway."""
    if kind == "tap" and not iface:
        iface = "cftap0"
    if not iface:
        raise SutError(f"--sut {kind} needs --iface NAME, the interface that leads to the device")
    if not 0 < len(iface) < 16 or "/" in iface or " " in iface:
        raise SutError(f"{iface!r} is not a valid interface name")
    if not sut_ip:
        raise SutError(f"--sut {kind} needs --sut-ip, the SUT's IPv4 address")
    for flag, value in (("--sut-ip", sut_ip), ("--tester-ip", tester_ip)):
        if value is None:
            continue
        try:
            addr = ipaddress.IPv4Address(value)
        except ValueError:
            raise SutError(f"{flag} {value!r} is not an IPv4 address") from None
        if addr.is_multicast or addr.is_unspecified or addr.is_loopback or str(addr) == "255.255.255.255":
            raise SutError(f"{flag} {value} is not a unicast host address")
    if tester_ip is None:
        if kind != "tap" or not command:
            raise SutError(f"--sut {kind} needs --tester-ip, a free address on the SUT's segment for the tester to use")
        tester_ip = str(ipaddress.IPv4Address(sut_ip) + (1 if not sut_ip.endswith(".254") else -1))
    if tester_ip == sut_ip:
        raise SutError("--tester-ip must differ from --sut-ip")
    for flag, value in (("--sut-ip", sut_ip), ("--tester-ip", tester_ip)):
        if not allow_outside_ranges and not any(ipaddress.ip_address(value) in net for net in TEST_RANGES):
            raise SutError(f"{flag} {value} is outside 198.18.0.0/15, the range the suite sends to; if the {kind} "
                           f"SUT really lives there, say so with {ALLOW_OUTSIDE_FLAG}")
    if sut_mac is not None:
        try:
            raw = bytes.fromhex(sut_mac.replace(":", ""))
        except ValueError:
            raw = b""
        if len(raw) != 6 or raw[0] & 1:
            raise SutError(f"--sut-mac {sut_mac!r} is not a unicast MAC address")
    if command and kind != "tap":
        raise SutError("--sut-command is for --sut tap only")
    if command is not None:
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise SutError(f"--sut-command {command!r} cannot be split into words: {exc}") from None
        if not words:
            raise SutError("--sut-command is empty")
    if allow_host_traffic_iface and kind != "iface":
        raise SutError(f"{ALLOW_HOST_IFACE_FLAG} is for --sut iface only")
    for flag, port in (("--sut-tcp-port", tcp_port), ("--sut-udp-port", udp_port)):
        if port is not None and not 0 < port < 65536:
            raise SutError(f"{flag} {port} is not a port number")
    return ExternalSut(kind, iface, sut_ip, tester_ip, sut_mac.lower() if sut_mac else None, command, tcp_port, udp_port,
                       allow_host_traffic_iface=allow_host_traffic_iface)


@dataclass(frozen=True)
class Neighbour:
    ip: str
    mac: str | None
    state: str  # REACHABLE, STALE, DELAY, PROBE, FAILED, INCOMPLETE, PERMANENT, NOARP


NUD_STATES = {
    0x01: "INCOMPLETE", 0x02: "REACHABLE", 0x04: "STALE", 0x08: "DELAY", 0x10: "PROBE",
    0x20: "FAILED", 0x40: "NOARP", 0x80: "PERMANENT",
}


# The profile of the netns SUT this process builds (its sysctls, as written in the profile) and
# the values the last topology built around it set over them, remembered by NetnsSut.node(): the
# SutControl made for that topology's namespace reports them and compares its own changes with
# the profile. One SUT per process, and a fixture builds its topology just before its control.
_active_profile: dict[str, str] = {}
_topology_overrides: dict[str, str] = {}


def _remember_profile(profile: Profile | None, topology_sysctls: Mapping[str, str | int]) -> None:
    _active_profile.clear()
    _topology_overrides.clear()
    if profile is None:
        return
    _active_profile.update({key: str(value) for key, value in profile.sysctls.items()})
    _topology_overrides.update({key: str(value) for key, value in topology_sysctls.items()
                                if key in _active_profile and not _same_value(value, _active_profile[key])})


def _same_value(a: str | int, b: str | int) -> bool:
    """Sysctl values compare as the kernel prints them: fields split by any whitespace."""
    return str(a).split() == str(b).split()


# The Maximum Segment Lifetime the local Linux kernel works with. RFC 9293 3.4.2 calls the MSL
# "an engineering choice"; Linux fixes TIME-WAIT at TCP_TIMEWAIT_LEN = 60 s (include/net/tcp.h,
# no sysctl changes it), which is 2 x MSL with MSL = 30 s.
LINUX_MSL_S = 30.0


class SutControl:
    """Reads and changes the state of a namespace SUT. Every change is recorded as a
    precondition of the case, so the report says under which settings the verdict holds.

    The SUT is judged as configured: where the topology (e.g. a router's forwarding) or the case
    (set_sysctl) runs it with a value other than the one its profile gives, the precondition
    says so ("overrides the profile's ..."). `profile` and `topology_sysctls` (the topology's
    own sysctls for the SUT node) default to those of the netns SUT node the topology was last
    built from (NetnsSut.node).

    `msl_s` is the Maximum Segment Lifetime the SUT declares (RFC 9293 3.4.2: an engineering
    choice, so a property of the SUT rather than a constant of the suite); for the local Linux
    kernel it is LINUX_MSL_S.
    """

    def __init__(self, ns: Namespace, ipr: Any, preconditions: list[str],
                 profile: Mapping[str, str | int] | None = None, topology_sysctls: Mapping[str, str | int] | None = None,
                 msl_s: float = LINUX_MSL_S) -> None:
        self.ns = ns
        self.ipr = ipr
        self.preconditions = preconditions
        if profile is None:
            self.profile = dict(_active_profile)
            overridden = dict(_topology_overrides)
        else:
            self.profile = {key: str(value) for key, value in profile.items()}
            overridden = {key: str(value) for key, value in (topology_sysctls or {}).items()
                          if key in self.profile and not _same_value(value, self.profile[key])}
        self.msl_s = msl_s
        for key, value in overridden.items():
            preconditions.append(f"sysctl {key}={value} (set by the topology; overrides the profile's {key}={self.profile[key]})")

    def sysctl(self, key: str) -> str:
        return self.ns.read_sysctl(key)

    def set_sysctl(self, key: str, value: str | int) -> None:
        """Set a sysctl of the SUT for this case; recorded as a precondition, saying when it
        overrides the value the SUT's profile gives."""
        self.ns.write_sysctl(key, value)
        wanted = self.profile.get(key)
        if wanted is not None and not _same_value(value, wanted):
            self.preconditions.append(f"sysctl {key}={value} (overrides the profile's {key}={wanted})")
        else:
            self.preconditions.append(f"sysctl {key}={value}")

    def neighbours(self, ifname: str | None = None) -> dict[str, Neighbour]:
        """The IPv4 neighbour table, by address."""
        index = self.ipr.link_lookup(ifname=ifname)[0] if ifname else None
        out: dict[str, Neighbour] = {}
        for msg in self.ipr.get_neighbours(family=socket.AF_INET):
            if index is not None and msg["ifindex"] != index:
                continue
            ip = msg.get_attr("NDA_DST")
            state = NUD_STATES.get(msg["state"], hex(msg["state"]))
            out[ip] = Neighbour(ip, msg.get_attr("NDA_LLADDR"), state)
        return out

    def route_get(self, dst: str) -> dict[str, Any]:
        """The kernel's route decision for `dst`: gateway, output interface, type."""
        msg = self.ipr.route("get", dst=dst)[0]
        oif = msg.get_attr("RTA_OIF")
        name = None
        if oif:
            name = self.ipr.get_links(oif)[0].get_attr("IFLA_IFNAME")
        return {"gateway": msg.get_attr("RTA_GATEWAY"), "oif": name, "type": msg["type"],
                "prefsrc": msg.get_attr("RTA_PREFSRC")}

    def add_route(self, dst: str, **kw: Any) -> None:
        ipaddress.ip_network(dst)
        self.ipr.route("add", dst=dst, **kw)
        self.preconditions.append(f"route {dst} {kw}")

    def counters(self, table: str = "snmp") -> dict[str, int]:
        """/proc/net/snmp (or netstat) as 'Proto.Counter' -> value, read inside the SUT."""
        lines = self.ns.read_proc_net(table).splitlines()
        out: dict[str, int] = {}
        for head, values in zip(lines[0::2], lines[1::2], strict=False):
            proto, names = head.split(":", 1)
            _, nums = values.split(":", 1)
            for name, num in zip(names.split(), nums.split(), strict=False):
                out[f"{proto}.{name}"] = int(num)
        return out

    def add_address(self, cidr: str, ifname: str) -> None:
        """Give the SUT another address on `ifname` (e.g. to make it multihomed)."""
        iface = ipaddress.ip_interface(cidr)
        self.ipr.addr("add", index=self.ipr.link_lookup(ifname=ifname)[0], address=str(iface.ip),
                      prefixlen=iface.network.prefixlen)
        self.preconditions.append(f"address {cidr} on {ifname}")

    def ifindex(self, ifname: str) -> int:
        found = self.ipr.link_lookup(ifname=ifname)
        if not found:
            raise ValueError(f"the SUT has no interface {ifname}")
        return int(found[0])

    def del_address(self, cidr: str, ifname: str) -> None:
        iface = ipaddress.ip_interface(cidr)
        self.ipr.addr("del", index=self.ifindex(ifname), address=str(iface.ip), prefixlen=iface.network.prefixlen)
        self.preconditions.append(f"address {cidr} removed from {ifname}")

    def set_link_down(self, ifname: str) -> None:
        self.ipr.link("set", index=self.ifindex(ifname), state="down")
        self.preconditions.append(f"link {ifname} set down")

    def del_route(self, dst: str, **kw: Any) -> None:
        ipaddress.ip_network(dst)
        self.ipr.route("del", dst=dst, **kw)
        self.preconditions.append(f"route {dst} {kw} removed")

    def add_rule(self, priority: int, table: int, **selectors: Any) -> None:
        """A policy routing rule: `selectors` are pyroute2's (src, src_len, dst, dst_len,
        iifname, tos, fwmark...)."""
        self.ipr.rule("add", priority=priority, table=table, **selectors)
        self.preconditions.append(f"rule priority {priority} {selectors} lookup table {table}")

    def set_mtu(self, ifname: str, mtu: int) -> None:
        """Change the MTU of one of the SUT's interfaces."""
        self.ipr.link("set", index=self.ipr.link_lookup(ifname=ifname)[0], mtu=mtu)
        self.preconditions.append(f"mtu {mtu} on {ifname}")

    def tcp_connections(self) -> list[TcpConnection]:
        """The SUT's IPv4 TCP control blocks from /proc/net/tcp, TIME-WAIT ones included (which
        no socket shows once the application closed it), with the time left on each timer."""
        out: list[TcpConnection] = []
        for line in self.ns.read_proc_net("tcp").splitlines()[1:]:
            f = line.split()
            local, remote, state = f[1], f[2], int(f[3], 16)
            timer, when = f[5].split(":")
            out.append(TcpConnection(_proc_endpoint(local), _proc_endpoint(remote), TCP_STATES.get(state, str(state)),
                                     int(timer, 16), int(when, 16) / 100.0))
        return out


SNAPSHOT_PREFIXES = ("net/core", "net/ipv4", "net/ipv6", "net/netfilter", "net/unix")


def sysctl_snapshot(ns: Namespace) -> dict[str, str]:
    """Every readable net.* sysctl of a namespace except per-interface copies (conf/<if>,
    neigh/<if>) of interfaces other than all, default and lo."""
    out: dict[str, str] = {}
    with ns.entered():
        for prefix in SNAPSHOT_PREFIXES:
            top = "/proc/sys/" + prefix
            for root, dirs, files in os.walk(top):
                parts = root.split("/")
                # /proc/sys/net/<proto>/{conf,neigh}/<ifname>
                if len(parts) >= 7 and parts[5] in ("conf", "neigh") and parts[6] not in ("all", "default", "lo"):
                    dirs[:] = []
                    continue
                for name in files:
                    path = f"{root}/{name}"
                    try:
                        with open(path) as f:
                            out[path[len("/proc/sys/") :].replace("/", ".")] = " ".join(f.read().split())
                    except OSError:
                        continue  # write-only or refusing entries (e.g. route/flush)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class TcpConnection:
    """One line of /proc/net/tcp: endpoints as (ip, port), the state, and the pending timer
    (kind as the kernel numbers it: 0 none, 1 retransmit, 2 keepalive, 3 TIME-WAIT, 4 probe)
    with the seconds left on it."""

    local: tuple[str, int]
    remote: tuple[str, int]
    state: str
    timer: int
    timer_left_s: float


def _proc_endpoint(text: str) -> tuple[str, int]:
    addr, port = text.split(":")
    return socket.inet_ntoa(int(addr, 16).to_bytes(4, "little")), int(port, 16)
