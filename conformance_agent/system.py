"""The Linux implementation of the control verbs: what the SUT is and has, what it counts, and
the configuration the suite changes (with an undo log, so `reset` puts it back)."""

from __future__ import annotations

import ipaddress
import platform
import socket
import time
from collections.abc import Callable
from typing import Any

from conformance_agent import knobs
from conformance_agent.protocol import FAILED, INVALID, UNSUPPORTED, AgentError
from conformance_agent.rtnl import ROUTE_TYPES, Rtnl

TCP_STATES = {1: "ESTABLISHED", 2: "SYN-SENT", 3: "SYN-RECEIVED", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2", 6: "TIME-WAIT",
              7: "CLOSED", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING"}


def _sysctl_path(key: str) -> str:
    if not key or "/" in key or ".." in key or not all(part for part in key.split(".")):
        raise AgentError(INVALID, f"{key!r} is not a sysctl key")
    return "/proc/sys/" + key.replace(".", "/")


def _proc_net(name: str) -> str:
    # thread-self: the namespace of this thread, which the in-process agent enters per call
    with open(f"/proc/thread-self/net/{name}") as f:
        return f.read()


class System:
    """Control of the Linux system the agent runs in (its current network namespace)."""

    def __init__(self) -> None:
        self._rtnl: Rtnl | None = None
        self.undo: list[tuple[str, Callable[[], None]]] = []  # (what, how to take it back)
        self.original_sysctls: dict[str, str] = {}

    @property
    def rtnl(self) -> Rtnl:
        if self._rtnl is None:
            self._rtnl = Rtnl()
        return self._rtnl

    def close(self) -> None:
        if self._rtnl is not None:
            self._rtnl.close()
            self._rtnl = None

    def describe(self) -> dict[str, Any]:
        uname = platform.uname()
        # Linux's TIME-WAIT is TCP_TIMEWAIT_LEN, 60 s (include/net/tcp.h), i.e. 2 x MSL of 30 s.
        return {"system": uname.system, "release": uname.release, "machine": uname.machine, "node": uname.node,
                "tcp_msl_s": 30.0}

    # --- sysctls and knobs ----------------------------------------------------------------

    def sysctl_get(self, key: str) -> str:
        try:
            with open(_sysctl_path(key)) as f:
                return f.read().strip()
        except FileNotFoundError:
            raise AgentError(UNSUPPORTED, f"this SUT has no setting {key}") from None

    def sysctl_set(self, key: str, value: str) -> None:
        old = self.sysctl_get(key)
        with open(_sysctl_path(key), "w") as f:
            f.write(str(value))
        if key not in self.original_sysctls:
            self.original_sysctls[key] = old

    def knob_get(self, name: str, interface: str | None) -> str:
        return self.sysctl_get(self._knob_key(name, interface))

    def knob_set(self, name: str, value: str, interface: str | None) -> None:
        self.sysctl_set(self._knob_key(name, interface), value)

    @staticmethod
    def _knob_key(name: str, interface: str | None) -> str:
        if name not in knobs.KNOBS:
            raise AgentError(UNSUPPORTED, f"this SUT has no knob {name}")
        return knobs.sysctl_of(name, interface)

    # --- interfaces, addresses, routes, rules, neighbours ---------------------------------

    def interfaces(self) -> list[dict[str, Any]]:
        addrs = self.rtnl.addresses()
        out = []
        for link in self.rtnl.links():
            mine = [f"{a['address']}/{a['prefixlen']}" for a in addrs if a["index"] == link["index"]]
            out.append({**link, "addresses": mine})
        return out

    def ifindex(self, name: str) -> int:
        try:
            return self.rtnl.index(name)
        except OSError:
            raise AgentError(INVALID, f"the SUT has no interface {name}") from None

    def address(self, op: str, cidr: str, interface: str, dad: bool = False, preferred_s: int | None = None,
                valid_s: int | None = None) -> None:
        """Add or delete an address. An IPv6 one is added without Duplicate Address Detection
        (and answered once usable) unless `dad`; then it is answered at once, still tentative."""
        iface = ipaddress.ip_interface(cidr)
        index = self.ifindex(interface)
        nodad = iface.version == 6 and not dad
        self.rtnl.address(op, index, str(iface.ip), iface.network.prefixlen, nodad=nodad, preferred_s=preferred_s,
                          valid_s=valid_s)
        if op == "add" and nodad:
            self._await_usable(index, str(iface.ip))
        back = "del" if op == "add" else "add"
        self.undo.append((f"address {op} {cidr} {interface}",
                          lambda: self.rtnl.address(back, index, str(iface.ip), iface.network.prefixlen)))

    def addresses(self, interface: str | None) -> list[dict[str, Any]]:
        """The addresses of one interface (or all), with their flags and the seconds left of
        their preferred and valid lifetimes (None: infinite)."""
        names = {link["index"]: link["name"] for link in self.rtnl.links()}
        index = self.ifindex(interface) if interface is not None else None
        return [{"interface": names.get(a["index"], ""), "address": a["address"], "prefixlen": a["prefixlen"],
                 "family": a["family"], "flags": a["flags"], "preferred_s": a["preferred_s"], "valid_s": a["valid_s"]}
                for a in self.rtnl.addresses() if index is None or a["index"] == index]

    def _await_usable(self, index: int, address: str, timeout: float = 2.0) -> None:
        """An IPv6 address, even one added without Duplicate Address Detection, is not yet the
        node's own when the request returns: the kernel's address work installs its local route
        a moment later, and until then a packet to it is not delivered. Answer once it is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [a for a in self.rtnl.addresses() if a["index"] == index and a["address"] == address]
            if mine and not mine[0]["tentative"] and self.rtnl.route_get(address)["type"] == ROUTE_TYPES["local"]:
                return
            time.sleep(0.0002)
        raise AgentError(FAILED, f"the address {address} was not usable {timeout:g} s after it was added")

    def link_set(self, interface: str, up: bool | None, mtu: int | None, mac: str | None = None) -> None:
        index = self.ifindex(interface)
        before = next(link for link in self.rtnl.links() if link["index"] == index)
        self.rtnl.link_set(index, up=up, mtu=mtu, mac=mac)
        self.undo.append((f"link {interface}", lambda: self.rtnl.link_set(
            index, up=bool(before["up"]) if up is not None else None,
            mtu=int(str(before["mtu"])) if mtu is not None else None,
            mac=str(before["mac"]) if mac is not None else None)))

    def route(self, op: str, dst: str, gateway: str | None = None, interface: str | None = None, kind: str = "unicast",
              table: int | None = None, metric: int | None = None, prefsrc: str | None = None,
              nexthops: list[dict[str, Any]] | None = None, append: bool = False) -> None:
        if kind not in ROUTE_TYPES:
            raise AgentError(INVALID, f"unknown route type {kind!r}")
        if dst == "default":
            dst = "::/0" if gateway and ":" in gateway else "0.0.0.0/0"
        oif = self.ifindex(interface) if interface else None
        hops = [(h.get("gateway"), self.ifindex(h["interface"]) if h.get("interface") else None, int(h.get("weight", 1)))
                for h in nexthops or ()]
        kw: dict[str, Any] = {"gateway": gateway, "oif": oif, "kind": kind, "table": table, "metric": metric,
                              "prefsrc": prefsrc, "nexthops": hops or None}
        self.rtnl.route(op, dst, append=append, **kw)
        back = "del" if op == "add" else "add"
        self.undo.append((f"route {op} {dst}", lambda: self.rtnl.route(back, dst, **kw)))

    def route_get(self, dst: str) -> dict[str, Any]:
        answer = self.rtnl.route_get(dst)
        index = answer.pop("oif_index")
        answer["interface"] = next((link["name"] for link in self.rtnl.links() if link["index"] == index), None)
        return answer

    def rule(self, op: str, priority: int, table: int, selectors: dict[str, Any]) -> None:
        allowed = {"src", "src_len", "dst", "dst_len", "iifname", "tos", "fwmark"}
        unknown = set(selectors) - allowed
        if unknown:
            raise AgentError(UNSUPPORTED, f"rule selectors {sorted(unknown)} are not offered (known: {sorted(allowed)})")
        self.rtnl.rule(op, priority, table, **selectors)
        back = "del" if op == "add" else "add"
        self.undo.append((f"rule {op} {priority}", lambda: self.rtnl.rule(back, priority, table, **selectors)))

    def neighbours(self, interface: str | None, family: str = "ipv4") -> list[dict[str, Any]]:
        if family not in FAMILIES:
            raise AgentError(INVALID, f"family is ipv4 or ipv6, not {family!r}")
        names = {link["index"]: link["name"] for link in self.rtnl.links()}
        out = []
        for n in self.rtnl.neighbours(FAMILIES[family]):
            name = names.get(n["index"])
            if interface is None or name == interface:
                out.append({"ip": n["ip"], "mac": n["mac"], "state": n["state"], "interface": name,
                            "router": n["router"]})
        return out

    def neighbour(self, op: str, ip: str, interface: str, mac: str | None, state: str) -> None:
        index = self.ifindex(interface)
        self.rtnl.neighbour(op, index, ip, mac, state)
        if op == "add":
            self.undo.append((f"neighbour {ip}", lambda: self.rtnl.neighbour("del", index, ip)))

    # --- counters and the TCP table -------------------------------------------------------

    def counters(self, table: str) -> dict[str, int]:
        if table not in ("snmp", "netstat", "snmp6"):
            raise AgentError(UNSUPPORTED, f"no counter table {table!r} (known: snmp, netstat, snmp6)")
        if table == "snmp6":
            return parse_snmp6(_proc_net(table))
        lines = _proc_net(table).splitlines()
        out: dict[str, int] = {}
        for head, values in zip(lines[0::2], lines[1::2], strict=False):
            proto, names = head.split(":", 1)
            _, nums = values.split(":", 1)
            for name, num in zip(names.split(), nums.split(), strict=False):
                out[f"{proto}.{name}"] = int(num)
        return out

    def tcp_connections(self) -> list[dict[str, Any]]:
        out = []
        for table in ("tcp", "tcp6"):
            try:
                lines = _proc_net(table).splitlines()[1:]
            except FileNotFoundError:
                continue  # a kernel without IPv6
            for line in lines:
                f = line.split()
                timer, when = f[5].split(":")
                out.append({"local": _endpoint(f[1]), "remote": _endpoint(f[2]),
                            "state": TCP_STATES.get(int(f[3], 16), f[3]), "timer": int(timer, 16),
                            "timer_left_s": int(when, 16) / 100.0})
        return out

    # --- back to the start ----------------------------------------------------------------

    def reset(self) -> list[str]:
        """Undo what the suite changed, newest first; forget learned neighbours and route
        exceptions. Returns what could not be undone."""
        problems = []
        while self.undo:
            what, action = self.undo.pop()
            try:
                action()
            except OSError as exc:
                if exc.errno not in (2, 3, 19, 99):  # already gone: ENOENT, ESRCH, ENODEV, EADDRNOTAVAIL
                    problems.append(f"{what}: {exc.strerror}")
        for key, value in reversed(list(self.original_sysctls.items())):
            try:
                with open(_sysctl_path(key), "w") as f:
                    f.write(value)
            except OSError as exc:
                problems.append(f"sysctl {key}: {exc.strerror}")
        self.original_sysctls.clear()
        self.flush_neighbours()
        self.rtnl.flush_route_cache()
        return problems

    def flush_neighbours(self) -> None:
        for n in [*self.rtnl.neighbours(socket.AF_INET), *self.rtnl.neighbours(socket.AF_INET6)]:
            if n["state"] in ("NOARP", "PERMANENT"):
                continue
            try:
                self.rtnl.neighbour("del", int(n["index"]), str(n["ip"]))  # type: ignore[call-overload]
            except OSError:
                continue


FAMILIES = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
# /proc/net/snmp6 names its counters with the protocol glued on ("Ip6InReceives"); the agent
# protocol names them "Proto.Counter", as for snmp and netstat ("Ip6.InReceives").
SNMP6_PREFIXES = ("UdpLite6", "Icmp6", "Udp6", "Ip6")


def parse_snmp6(text: str) -> dict[str, int]:
    """/proc/net/snmp6 ("Name value" per line) as "Proto.Counter" -> value."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) != 2:
            continue
        name, value = words
        prefix = next((p for p in SNMP6_PREFIXES if name.startswith(p)), None)
        if prefix is None or not value.lstrip("-").isdigit():
            continue
        out[f"{prefix}.{name[len(prefix):]}"] = int(value)
    return out


def _endpoint(text: str) -> list[Any]:
    """An address:port of /proc/net/tcp or tcp6: the address in hex, in 32-bit words of host
    (little-endian) order."""
    addr, port = text.split(":")
    raw = bytes.fromhex(addr)
    packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return [str(ipaddress.ip_address(packed)), int(port, 16)]
