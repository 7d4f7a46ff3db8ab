"""SutControl: what a case reads and changes of the SUT, through the SUT's agent.

Every change is recorded as a precondition of the case, so the report says under which settings
the verdict holds. The SUT is judged as configured: where the topology (a router's forwarding)
or the case (set_sysctl) runs it with a value other than the one its profile gives, the
precondition says so ("overrides the profile's ...").

Settings are named by Linux's sysctl keys, the suite's lingua franca; each key that has a
portable knob (conformance_agent.knobs) travels as that knob, so an agent for another stack can
serve it, and a key without one is asked for as a raw sysctl, which only a Linux agent offers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.agent import Channel
from conformance_agent.knobs import knob_of_sysctl

# The Maximum Segment Lifetime the local Linux kernel works with. RFC 9293 3.4.2 calls the MSL
# "an engineering choice"; Linux fixes TIME-WAIT at TCP_TIMEWAIT_LEN = 60 s (include/net/tcp.h,
# no sysctl changes it), which is 2 x MSL with MSL = 30 s.
LINUX_MSL_S = 30.0


@dataclass(frozen=True)
class Neighbour:
    ip: str
    mac: str | None
    state: str  # REACHABLE, STALE, DELAY, PROBE, FAILED, INCOMPLETE, PERMANENT, NOARP
    router: bool = False  # IPv6: the entry's IsRouter flag (RFC 4861 7.3)


@dataclass(frozen=True)
class TcpConnection:
    """One TCP control block: endpoints as (ip, port), the state, and the pending timer (kind
    as Linux numbers it: 0 none, 1 retransmit, 2 keepalive, 3 TIME-WAIT, 4 probe) with the
    seconds left on it."""

    local: tuple[str, int]
    remote: tuple[str, int]
    state: str
    timer: int
    timer_left_s: float


def same_value(a: str | int, b: str | int) -> bool:
    """Sysctl values compare as the kernel prints them: fields split by any whitespace."""
    return str(a).split() == str(b).split()


def profile_overrides(node_sysctls: Mapping[str, str | int], profile: Mapping[str, str | int]) -> dict[str, str]:
    """The profile's keys that the SUT's topology node sets to another value: the node holds
    the pinned defaults, then the profile, then the topology's own settings, so only the
    topology can differ from the profile there."""
    return {key: str(value) for key, value in node_sysctls.items()
            if key in profile and not same_value(value, profile[key])}


class SutControl:
    """Reads and changes the SUT's state through its agent.

    `msl_s` is the Maximum Segment Lifetime the SUT declares (RFC 9293 3.4.2: an engineering
    choice, so a property of the SUT rather than a constant of the suite): what its agent says,
    or else what the caller gives."""

    def __init__(self, channel: Channel, preconditions: list[str], *, profile: Mapping[str, str | int] | None = None,
                 topology_overrides: Mapping[str, str] | None = None, msl_s: float | None = None) -> None:
        self.channel = channel
        self.preconditions = preconditions
        self.profile = {key: str(value) for key, value in (profile or {}).items()}
        declared = channel.hello.get("tcp_msl_s")
        self.msl_s = float(declared) if declared is not None else (msl_s if msl_s is not None else LINUX_MSL_S)
        for key, value in (topology_overrides or {}).items():
            preconditions.append(f"sysctl {key}={value} (set by the topology; overrides the profile's {key}={self.profile[key]})")

    def _call(self, verb: str, **args: Any) -> Any:
        return self.channel.call(verb, **args)

    # --- settings -------------------------------------------------------------------------

    def sysctl(self, key: str) -> str:
        knob = knob_of_sysctl(key)
        if knob is not None:
            return str(self._call("knob_get", name=knob[0], interface=knob[1])["value"])
        return str(self._call("sysctl_get", key=key)["value"])

    def set_sysctl(self, key: str, value: str | int) -> None:
        """Set a setting of the SUT for this case; recorded as a precondition, saying when it
        overrides the value the SUT's profile gives."""
        knob = knob_of_sysctl(key)
        if knob is not None:
            self._call("knob_set", name=knob[0], interface=knob[1], value=str(value))
        else:
            self._call("sysctl_set", key=key, value=str(value))
        wanted = self.profile.get(key)
        if wanted is not None and not same_value(value, wanted):
            self.preconditions.append(f"sysctl {key}={value} (overrides the profile's {key}={wanted})")
        else:
            self.preconditions.append(f"sysctl {key}={value}")

    # --- state ----------------------------------------------------------------------------

    def neighbours(self, ifname: str | None = None, family: int = 4) -> dict[str, Neighbour]:
        """The neighbour table of IPv4 (ARP, the default) or, with family=6, IPv6 (Neighbor
        Discovery), by address (IPv6 ones in their compressed form)."""
        if family not in (4, 6):
            raise ValueError(f"family is 4 or 6, not {family!r}")
        args: dict[str, Any] = {"interface": ifname}
        if family == 6:
            args["family"] = "ipv6"  # an agent that knows only IPv4 ignores it; its entries are filtered out
        out = {}
        for n in self._call("neighbours", **args):
            if (":" in n["ip"]) != (family == 6):
                continue
            ip = str(ipaddress.ip_address(n["ip"]))
            out[ip] = Neighbour(ip, n["mac"], n["state"], bool(n.get("router", False)))
        return out

    def route_get(self, dst: str) -> dict[str, Any]:
        """The SUT's route decision for `dst`: gateway, output interface, type (its number)."""
        r = self._call("route_get", dst=dst)
        return {"gateway": r["gateway"], "oif": r["interface"], "type": r["type"], "prefsrc": r["prefsrc"]}

    def counters(self, table: str = "snmp") -> dict[str, int]:
        """The SUT's protocol counters by their MIB names, 'Proto.Counter' -> value. Tables:
        snmp and netstat (IPv4, TCP, UDP), snmp6 (`Ip6.InReceives`, `Icmp6.OutErrors`,
        `Icmp6.InType128`, `Udp6.InErrors`, ...)."""
        return {k: int(v) for k, v in self._call("counters", table=table).items()}

    def tcp_connections(self) -> list[TcpConnection]:
        """The SUT's TCP control blocks (IPv4 and IPv6), TIME-WAIT ones included (which no socket shows once
        the application closed it), with the time left on each timer."""
        return [TcpConnection(tuple(c["local"]), tuple(c["remote"]), c["state"], c["timer"], c["timer_left_s"])  # type: ignore[arg-type]
                for c in self._call("tcp_connections")]

    # --- configuration --------------------------------------------------------------------

    def add_route(self, dst: str, **kw: Any) -> None:
        """A route: `gateway`, `type` (unreachable, prohibit, blackhole...), `table`, `priority`
        (the metric), `oif`/`dev` (an interface name), `multipath` ([{"gateway": ...}])."""
        self._call("route_add", **_route(dst, kw))
        self.preconditions.append(f"route {dst} {kw}")

    def del_route(self, dst: str, **kw: Any) -> None:
        self._call("route_del", **_route(dst, kw))
        self.preconditions.append(f"route {dst} {kw} removed")

    def add_rule(self, priority: int, table: int, **selectors: Any) -> None:
        """A policy routing rule; `selectors`: src, src_len, dst, dst_len, iifname, tos, fwmark."""
        self._call("rule_add", priority=priority, table=table, selectors=selectors)
        self.preconditions.append(f"rule priority {priority} {selectors} lookup table {table}")

    def add_address(self, cidr: str, ifname: str, *, dad: bool = False, preferred_s: int | None = None,
                    valid_s: int | None = None) -> None:
        """Give the SUT another address on `ifname` (e.g. to make it multihomed): an IPv6 one
        without Duplicate Address Detection unless `dad`, with finite lifetimes if given."""
        ipaddress.ip_interface(cidr)
        extra: dict[str, Any] = {"dad": True} if dad else {}
        if preferred_s is not None or valid_s is not None:
            extra |= {"preferred_s": preferred_s, "valid_s": valid_s}
        self._call("address_add", cidr=cidr, interface=ifname, **extra)
        lifetimes = f", preferred {preferred_s} s, valid {valid_s} s" if "valid_s" in extra else ""
        self.preconditions.append(f"address {cidr} on {ifname}{' (with DAD)' if dad else ''}{lifetimes}")

    def interfaces(self) -> list[dict[str, Any]]:
        """The SUT's interfaces: name, index, mac, mtu, up, operstate, addresses."""
        return list(self._call("interfaces"))

    def addresses(self, ifname: str | None = None) -> list[dict[str, Any]]:
        """The SUT's addresses (of `ifname`, or all), with flags and lifetimes (see docs/agent.md)."""
        return list(self._call("addresses", **({"interface": ifname} if ifname else {})))

    def del_address(self, cidr: str, ifname: str) -> None:
        self._call("address_del", cidr=cidr, interface=ifname)
        self.preconditions.append(f"address {cidr} removed from {ifname}")

    def set_link_down(self, ifname: str) -> None:
        self._call("link_set", interface=ifname, up=False)
        self.preconditions.append(f"link {ifname} set down")

    def set_mtu(self, ifname: str, mtu: int) -> None:
        """Change the MTU of one of the SUT's interfaces."""
        self._call("link_set", interface=ifname, mtu=mtu)
        self.preconditions.append(f"mtu {mtu} on {ifname}")

    def set_mac(self, ifname: str, mac: str) -> None:
        """Give one of the SUT's interfaces another MAC; OSError if the SUT refuses it."""
        self._call("link_set", interface=ifname, mac=mac)
        self.preconditions.append(f"{ifname} MAC set to {mac}")

    def add_neighbour(self, ip: str, mac: str, ifname: str, state: str = "PERMANENT") -> None:
        """A neighbour entry the SUT did not learn (a static ARP entry)."""
        self._call("neighbour_add", ip=ip, mac=mac, interface=ifname, state=state)
        self.preconditions.append(f"neighbour {ip} lladdr {mac} on {ifname} ({state})")


def _route(dst: str, kw: dict[str, Any]) -> dict[str, Any]:
    """The suite's (pyroute2-style) route arguments as the agent protocol names them."""
    ipaddress.ip_network(dst)
    names = {"gateway": "gateway", "type": "kind", "table": "table", "priority": "metric", "dev": "interface",
             "oif": "interface", "prefsrc": "prefsrc", "append": "append"}
    unknown = set(kw) - set(names) - {"multipath"}
    if unknown:
        raise ValueError(f"route arguments {sorted(unknown)} are not known (known: {sorted(names)}, multipath)")
    out: dict[str, Any] = {"dst": dst}
    for key, value in kw.items():
        if key == "multipath":
            out["nexthops"] = [{"gateway": hop.get("gateway"), "interface": hop.get("dev"), "weight": hop.get("weight", 1)}
                               for hop in value]
        else:
            out[names[key]] = value
    return out
