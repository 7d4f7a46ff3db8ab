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
from collections.abc import Mapping
from dataclasses import dataclass

from conformance.netns import Namespace
from conformance.profile import Profile
from conformance.topology import Node

# What a case may ask of a SUT, worded to complete "the <kind> SUT does not offer ...".
CAPABILITIES = {
    "segment": "an Ethernet segment shared with the tester",
    "control": "its state to the suite (sysctls, neighbour table, routes, counters)",
    "sysctl": "sysctls the suite can read and set",
    "neighbours": "a neighbour (ARP) table the suite can read",
    "routes": "routes the suite can add and read",
    "sockets": "applications the suite can run on it (listen, accept, read, write)",
    "second_segment": "a second segment behind it, for forwarding (links `near` and `far`)",
    "counters": "protocol counters the suite can read",
    "addresses": "interfaces the suite can add addresses to",
    "tcp_listener": "a listening TCP port (--sut-tcp-port)",
    "udp_listener": "a bound UDP port (--sut-udp-port)",
    "netns": "to be the suite's own namespace (TUN/TAP devices of its own, several next hops)",
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
        sysctls (e.g. forwarding for a router), and the profile's commands. The node keeps the
        profile's own values, so that the SUT's control can report where the topology or a case
        overrides one of them."""
        return Node(name, sysctls={**self.sysctls, **(sysctls or {})}, commands=self.commands,
                    profile=dict(self.profile.sysctls) if self.profile else {})

    def missing(self, needs: tuple[str, ...]) -> str | None:
        return _missing(self.kind, self.capabilities, needs)


@dataclass(frozen=True)
class Link:
    """One wire between the tester and an external SUT, and the role it plays for the cases:
    `lan` (the segment the lan cases use), `near` and `far` (the two sides of a router)."""

    role: str
    interface: str  # the tester's end: a TAP (made by the suite, or existing) or an interface
    sut_ip: str
    tester_ip: str
    prefixlen: int = 24
    sut_mac: str | None = None  # learned by ARP when not given
    sut_ifname: str | None = None  # the SUT's own name for its end (for knobs, routes, configuration)
    gateway: str | None = None  # the SUT's default gateway on this link; the tester answers for it
    sut_ip6: str | None = None  # the SUT's IPv6 address on this link (a /64), for the IPv6 cases
    tester_ip6: str | None = None  # the tester's IPv6 address on this link (same /64)


ROLES = ("lan", "near", "far")
# What an agent lets the suite do; a SUT file may declare less (an agent offering only sockets).
AGENT_CAPABILITIES = frozenset({"control", "sysctl", "neighbours", "routes", "counters", "addresses", "sockets"})


@dataclass(frozen=True)
class ExternalSut:
    """A stack the suite does not build: behind TAP devices, or on real interfaces.

    For `tap` with a `command`, the suite makes one TAP per link (in a private namespace) and
    starts the command there; otherwise it attaches to the links' interfaces as it finds them
    and changes nothing on them. With an `agent` address, the SUT's state and applications are
    reached through its agent; with `configure`, the suite gives the SUT each role's addresses
    through the agent (a SUT that starts blank, like a VM), and takes them back after the case.
    """

    kind: str
    links: tuple[Link, ...]
    command: str | None = None
    tcp_port: int | None = None
    udp_port: int | None = None
    allow_host_traffic_iface: bool = False  # the user said the interface may carry the host's own traffic
    agent: str | None = None  # unix:PATH, tcp:HOST:PORT or cmd:COMMAND
    configure: bool = False
    start_timeout: float = 10.0
    declared: frozenset[str] | None = None  # capabilities the SUT file declares (None: derived)
    title: str = ""  # the SUT file's description
    source: str = ""  # the SUT file it came from
    msl_s: float | None = None  # the TCP MSL the SUT declares (RFC 9293 3.4.2)
    ready: str | None = None  # a line the start command prints on stdout once the SUT is up
    patience: float = 1.0  # how many times the usual waits the SUT needs (a slow SUT)

    def link(self, role: str) -> Link | None:
        return next((link for link in self.links if link.role == role), None)

    @property
    def lan(self) -> Link:
        """The link the single-segment options describe (and `lan` cases use)."""
        return self.link("lan") or self.links[0]

    # The single-link view that --sut tap/iface gives, kept for the code that needs one link.
    iface = property(lambda self: self.lan.interface)
    sut_ip = property(lambda self: self.lan.sut_ip)
    tester_ip = property(lambda self: self.lan.tester_ip)
    sut_mac = property(lambda self: self.lan.sut_mac)
    prefixlen = property(lambda self: self.lan.prefixlen)

    @property
    def capabilities(self) -> frozenset[str]:
        caps = set()
        if self.link("lan"):
            caps.add("segment")
        if self.link("near") and self.link("far"):
            caps.add("second_segment")
        if self.agent:
            caps |= AGENT_CAPABILITIES if self.declared is None else (self.declared & AGENT_CAPABILITIES)
        if "sockets" in caps:  # applications the suite opens itself listen wherever a case needs
            caps |= {"tcp_listener", "udp_listener"}
        if self.tcp_port:
            caps.add("tcp_listener")
        if self.udp_port:
            caps.add("udp_listener")
        return frozenset(caps)

    @property
    def sysctls(self) -> dict[str, str | int]:
        return {}

    def describe(self) -> str:
        if self.title:
            return f"{self.title} ({self.source})"
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
    link = Link("lan", iface, sut_ip, tester_ip, sut_mac=sut_mac.lower() if sut_mac else None)
    return ExternalSut(kind, (link,), command, tcp_port, udp_port, allow_host_traffic_iface=allow_host_traffic_iface)


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
