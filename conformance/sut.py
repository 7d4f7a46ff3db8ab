"""SUT targets: what the system under test is, what it lets the suite do, and its controls.

Only the `netns` kind exists so far: the local kernel in a fresh namespace per case. A kind
states its capabilities; a case that needs one the SUT lacks is skipped with the reason.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.netns import Namespace

# What a case may ask of a SUT.
CAPABILITIES = {
    "sysctl": "read and set the SUT's sysctls",
    "neighbours": "read the SUT's neighbour (ARP) table",
    "routes": "add and read routes on the SUT",
    "sockets": "open sockets on the SUT",
    "second_segment": "a second segment behind the SUT, for forwarding",
    "counters": "read the SUT's protocol counters",
    "addresses": "add addresses to the SUT's interfaces",
}

# IPv4 conf/all and conf/default of a new namespace are copied from the namespace that made it,
# so the host's settings would leak into the SUT. Pin them to the kernel's built-in defaults.
KERNEL_DEFAULT_SYSCTLS: dict[str, int] = {
    f"net.ipv4.conf.{scope}.{key}": value
    for scope in ("all", "default")
    for key, value in {
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
    }.items()
} | {"net.ipv4.conf.all.accept_source_route": 0, "net.ipv4.conf.default.accept_source_route": 1}


@dataclass(frozen=True)
class NetnsSut:
    """The local kernel, in a fresh namespace for every case."""

    kind: str = "netns"
    sysctls: Mapping[str, str | int] = field(default_factory=lambda: dict(KERNEL_DEFAULT_SYSCTLS))
    capabilities: frozenset[str] = frozenset(CAPABILITIES)

    def describe(self) -> str:
        return f"local Linux kernel {os.uname().release} in a fresh network namespace per case"

    def missing(self, needs: tuple[str, ...]) -> str | None:
        lacking = [n for n in needs if n not in self.capabilities]
        if not lacking:
            return None
        return f"the {self.kind} SUT cannot " + "; nor ".join(CAPABILITIES.get(n, n) for n in lacking)


@dataclass(frozen=True)
class Neighbour:
    ip: str
    mac: str | None
    state: str  # REACHABLE, STALE, DELAY, PROBE, FAILED, INCOMPLETE, PERMANENT, NOARP


NUD_STATES = {
    0x01: "INCOMPLETE", 0x02: "REACHABLE", 0x04: "STALE", 0x08: "DELAY", 0x10: "PROBE",
    0x20: "FAILED", 0x40: "NOARP", 0x80: "PERMANENT",
}


class SutControl:
    """Reads and changes the state of a namespace SUT. Every change is recorded as a
    precondition of the case, so the report says under which settings the verdict holds."""

    def __init__(self, ns: Namespace, ipr: Any, preconditions: list[str]) -> None:
        self.ns = ns
        self.ipr = ipr
        self.preconditions = preconditions

    def sysctl(self, key: str) -> str:
        return self.ns.read_sysctl(key)

    def set_sysctl(self, key: str, value: str | int) -> None:
        self.ns.write_sysctl(key, value)
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
