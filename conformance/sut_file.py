"""External SUTs described in a file (`--sut-file dut.toml`): what the SUT is, how it is
started and reached, and which wire plays which role.

    description = "Linux 6.1 in a KVM virtual machine"
    kind = "tap"                 # tap: the suite makes the TAPs and starts `start` beside them
    start = "scripts/vm-sut --tap {tap:lan} --tap {tap:far} --agent-socket {agent_socket}"
    ready = "vm-sut: ready"      # optional: a line the start command prints once the SUT is up
    start_timeout = 60           # seconds for the SUT to answer (ARP, and its agent's hello)
    patience = 3                 # optional: a slow SUT (an emulated VM) gets 3 times the usual waits
    agent = "unix:{agent_socket}"    # or "tcp:HOST:PORT", or "cmd:ssh root@dut conformance-agent"
    configure = true             # the suite gives the SUT each role's addresses through the agent

    [links.lan]                  # the segment of the lan cases
    tap = "cfvm0"                # kind tap: the TAP; kind iface: iface = "eth1", an existing interface
    sut_ifname = "eth0"          # the SUT's own name for its end
    sut_ip = "198.18.0.1"
    tester_ip = "198.18.0.2"
    prefixlen = 24
    gateway = "198.18.0.254"     # the SUT's default gateway there (the tester answers for it)
    sut_ip6 = "2001:db8::1"      # optional, both or neither: IPv6 on the link (one /64), for the
    tester_ip6 = "2001:db8::2"   # IPv6 cases (lan6, routed6); without them those cases skip

    [links.near]                 # near and far: the two sides of a router (the routed cases)
    ...

Placeholders in `start` and `agent`: {tap:ROLE} (and {tap} for the lan link), {netns} (the
namespace the TAPs are in, as a path setns accepts), {agent_socket} (a fresh path for a unix
socket), {run_dir} (where the run writes its files), {here} (the SUT file's directory) and
{python} (the suite's Python). `start` runs in the current directory.

Mistakes name the file and line and stop the run before any case (exit status 2).
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

from conformance.sut import (
    AGENT_CAPABILITIES,
    ALLOW_OUTSIDE_FLAG,
    ROLES,
    TEST_RANGES,
    ExternalSut,
    Link,
    SutError,
)

TOP_KEYS = {"description", "kind", "start", "ready", "start_timeout", "patience", "agent", "configure", "capabilities", "tcp_listener",
            "udp_listener", "msl_s", "allow_addresses_outside_test_ranges", "allow_host_traffic_iface", "links"}
LINK_KEYS = {"tap", "iface", "sut_ip", "tester_ip", "prefixlen", "sut_mac", "sut_ifname", "gateway", "sut_ip6", "tester_ip6"}
PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([a-z]+))?\}")
PLACEHOLDERS = {"tap", "netns", "agent_socket", "run_dir", "here", "python"}


def load(path: Path) -> ExternalSut:
    try:
        text = path.read_text()
    except IsADirectoryError:
        raise SutError(f"{path}: is a directory, not a SUT file") from None
    except UnicodeDecodeError:
        raise SutError(f"{path}: not a text file; a SUT file is TOML") from None
    except OSError as exc:
        raise SutError(f"{path}: cannot read the SUT file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SutError(f"{path}: {exc}") from None
    return _parse(data, _Where(path, text))


class _Where:
    """File and line of a key, for messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def __call__(self, key: str, after: str | None = None) -> str:
        start = 0
        if after is not None:
            start = next((i for i, line in enumerate(self.lines) if line.strip() == after), 0)
        pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for i in range(start, len(self.lines)):
            if pattern.match(self.lines[i]) or self.lines[i].strip() == f"[{key}]":
                return f"{self.path}, line {i + 1}"
        return str(self.path)


def _parse(data: dict[str, Any], where: _Where) -> ExternalSut:
    unknown = set(data) - TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise SutError(f"{where(key)}: unknown key {key!r} (known: {', '.join(sorted(TOP_KEYS))})")
    kind = data.get("kind")
    if kind not in ("tap", "iface"):
        raise SutError(f"{where('kind')}: kind must be \"tap\" or \"iface\", not {kind!r}")
    start = _string(data, "start", where)
    if start is not None and kind != "tap":
        raise SutError(f"{where('start')}: a start command is for kind \"tap\" (the suite makes the TAPs)")
    ready = _string(data, "ready", where)
    if ready is not None and start is None:
        raise SutError(f"{where('ready')}: ready names a line the start command prints; there is no start command")
    agent = _string(data, "agent", where)
    if agent is not None and not re.match(r"^(unix:.+|tcp:.+:\d+|cmd:.+)$", agent):
        raise SutError(f"{where('agent')}: agent must be unix:PATH, tcp:HOST:PORT or cmd:COMMAND, not {agent!r}")
    configure = _bool(data, "configure", where)
    if configure and agent is None:
        raise SutError(f"{where('configure')}: configure = true needs an agent to configure the SUT through")
    timeout = data.get("start_timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
        raise SutError(f"{where('start_timeout')}: start_timeout is a number of seconds above 0 (at most 3600)")
    declared = data.get("capabilities")
    if declared is not None:
        if not isinstance(declared, list) or not set(declared) <= AGENT_CAPABILITIES:
            raise SutError(f"{where('capabilities')}: capabilities lists what the agent offers, from "
                           f"{', '.join(sorted(AGENT_CAPABILITIES))}")
        declared = frozenset(declared)
    ports = {}
    for key in ("tcp_listener", "udp_listener"):
        port = data.get(key)
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
            raise SutError(f"{where(key)}: {key} must be a port number")
        ports[key] = port
    patience = data.get("patience", 1)
    if isinstance(patience, bool) or not isinstance(patience, int | float) or not 1 <= patience <= 20:
        raise SutError(f"{where('patience')}: patience is how many times the usual waits the SUT needs, 1 to 20")
    msl = data.get("msl_s")
    if msl is not None and (isinstance(msl, bool) or not isinstance(msl, int | float) or msl <= 0):
        raise SutError(f"{where('msl_s')}: msl_s is the SUT's Maximum Segment Lifetime in seconds, above 0")
    outside = _bool(data, "allow_addresses_outside_test_ranges", where)
    links = _links(data.get("links"), kind, where, outside)
    _check_placeholders(start, "start", links, where)
    _check_placeholders(agent, "agent", links, where)
    if start is None and kind == "tap" and not all(link.interface for link in links):
        raise SutError(f"{where('links')}: a tap SUT without a start command attaches to existing TAPs: name them")
    return ExternalSut(kind, links, start, ports["tcp_listener"], ports["udp_listener"],
                       allow_host_traffic_iface=_bool(data, "allow_host_traffic_iface", where), agent=agent,
                       configure=configure, start_timeout=float(timeout), declared=declared,
                       title=str(data.get("description", "")), source=str(where.path), ready=ready,
                       patience=float(patience),
                       msl_s=float(msl) if msl is not None else None)


def _string(data: dict[str, Any], key: str, where: _Where) -> str | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise SutError(f"{where(key)}: {key} must be a non-empty string")
    return value


def _bool(data: dict[str, Any], key: str, where: _Where) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise SutError(f"{where(key)}: {key} must be true or false")
    return value


def _links(raw: Any, kind: str, where: _Where, outside: bool) -> tuple[Link, ...]:
    if not isinstance(raw, dict) or not raw:
        raise SutError(f"{where.path}: a SUT file needs at least one [links.ROLE] table (roles: {', '.join(ROLES)})")
    out = []
    for role, spec in raw.items():
        table = f"[links.{role}]"
        if role not in ROLES:
            raise SutError(f"{where('links.' + role)}: unknown role {role!r} (roles: {', '.join(ROLES)})")
        if not isinstance(spec, dict):
            raise SutError(f"{where('links')}: {table} must be a table")
        unknown = set(spec) - LINK_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise SutError(f"{where(key, table)}: unknown key {key!r} in {table} (known: {', '.join(sorted(LINK_KEYS))})")
        wire = "tap" if kind == "tap" else "iface"
        other = "iface" if wire == "tap" else "tap"
        if other in spec:
            raise SutError(f"{where(other, table)}: a {kind} SUT's link names its {wire}, not an {other}")
        interface = spec.get(wire, "cftap0" if role == "lan" and wire == "tap" else "")
        if not isinstance(interface, str) or not 0 < len(interface) < 16 or "/" in interface or " " in interface:
            raise SutError(f"{where(wire, table)}: {table} needs a valid {wire} name")
        prefixlen = spec.get("prefixlen", 24)
        if isinstance(prefixlen, bool) or not isinstance(prefixlen, int) or not 8 <= prefixlen <= 30:
            raise SutError(f"{where('prefixlen', table)}: prefixlen must be 8 to 30")
        addrs = {}
        for key in ("sut_ip", "tester_ip", "gateway"):
            value = spec.get(key)
            if value is None:
                if key != "gateway":
                    raise SutError(f"{where('links.' + role)}: {table} needs {key}")
                continue
            addrs[key] = _address(value, key, table, where, outside)
        net = ipaddress.ip_network(f"{addrs['sut_ip']}/{prefixlen}", strict=False)
        for key, value in addrs.items():
            if ipaddress.ip_address(value) not in net:
                raise SutError(f"{where(key, table)}: {key} {value} is not on the link's subnet {net}")
        if addrs["tester_ip"] == addrs["sut_ip"]:
            raise SutError(f"{where('tester_ip', table)}: tester_ip must differ from sut_ip")
        mac = spec.get("sut_mac")
        if mac is not None and not re.match(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$", str(mac)):
            raise SutError(f"{where('sut_mac', table)}: sut_mac {mac!r} is not a MAC address")
        ip6 = _ipv6_addresses(spec, table, where, outside)
        out.append(Link(role, interface, addrs["sut_ip"], addrs["tester_ip"], prefixlen, mac.lower() if mac else None,
                        spec.get("sut_ifname"), addrs.get("gateway"), ip6.get("sut_ip6"), ip6.get("tester_ip6")))
    roles = {link.role for link in out}
    if ("near" in roles) != ("far" in roles):
        raise SutError(f"{where('links')}: a router SUT needs both [links.near] and [links.far]")
    return tuple(out)


def _address(value: Any, key: str, table: str, where: _Where, outside: bool) -> str:
    try:
        addr = ipaddress.IPv4Address(str(value))
    except ValueError:
        raise SutError(f"{where(key, table)}: {key} {value!r} is not an IPv4 address") from None
    if addr.is_multicast or addr.is_unspecified or addr.is_loopback or str(addr) == "255.255.255.255":
        raise SutError(f"{where(key, table)}: {key} {value} is not a unicast host address")
    if not outside and not any(addr in net for net in TEST_RANGES):
        raise SutError(f"{where(key, table)}: {key} {value} is outside 198.18.0.0/15, the range the suite sends to; "
                       f"if the SUT really lives there, say so with allow_addresses_outside_test_ranges = true "
                       f"(or {ALLOW_OUTSIDE_FLAG})")
    return str(addr)


IPV6_TEST_RANGE = ipaddress.IPv6Network("2001:db8::/32")
IPV6_PREFIXLEN = 64  # the IPv6 cases put the SUT and the tester on one /64


def _ipv6_addresses(spec: dict[str, Any], table: str, where: _Where, outside: bool) -> dict[str, str]:
    """The link's optional IPv6 addresses (sut_ip6, tester_ip6): both or neither, unicast, on
    one /64, inside 2001:db8::/32 unless addresses outside the test ranges are allowed."""
    given = {key: spec[key] for key in ("sut_ip6", "tester_ip6") if key in spec}
    if not given:
        return {}
    if len(given) == 1:
        missing = "tester_ip6" if "sut_ip6" in given else "sut_ip6"
        raise SutError(f"{where(next(iter(given)), table)}: {table} gives one IPv6 address; the IPv6 cases need {missing} too")
    out: dict[str, str] = {}
    for key, value in given.items():
        try:
            addr = ipaddress.IPv6Address(str(value))
        except ValueError:
            raise SutError(f"{where(key, table)}: {key} {value!r} is not an IPv6 address") from None
        if addr.is_multicast or addr.is_unspecified or addr.is_loopback or addr.is_link_local:
            raise SutError(f"{where(key, table)}: {key} {value} is not a global unicast address")
        if not outside and addr not in IPV6_TEST_RANGE:
            raise SutError(f"{where(key, table)}: {key} {value} is outside 2001:db8::/32, the range the suite sends to; "
                           f"if the SUT really lives there, say so with allow_addresses_outside_test_ranges = true "
                           f"(or {ALLOW_OUTSIDE_FLAG})")
        out[key] = str(addr)
    net = ipaddress.IPv6Network(f"{out['sut_ip6']}/{IPV6_PREFIXLEN}", strict=False)
    if ipaddress.IPv6Address(out["tester_ip6"]) not in net:
        raise SutError(f"{where('tester_ip6', table)}: tester_ip6 {out['tester_ip6']} is not on the link's /64 {net}")
    if out["sut_ip6"] == out["tester_ip6"]:
        raise SutError(f"{where('tester_ip6', table)}: tester_ip6 must differ from sut_ip6")
    return out


def _check_placeholders(text: str | None, key: str, links: tuple[Link, ...], where: _Where) -> None:
    if text is None:
        return
    roles = {link.role for link in links}
    for name, role in PLACEHOLDER.findall(text):
        if name not in PLACEHOLDERS:
            raise SutError(f"{where(key)}: unknown placeholder {{{name}}} (known: {', '.join(sorted(PLACEHOLDERS))})")
        if name == "tap" and role and role not in roles:
            raise SutError(f"{where(key)}: {{tap:{role}}} names a role without a link")
    try:
        shlex.split(text.removeprefix("cmd:"))
    except ValueError as exc:
        raise SutError(f"{where(key)}: {key} cannot be split into words: {exc}") from None


def expand(text: str, values: dict[str, str], links: tuple[Link, ...]) -> str:
    """Fill the placeholders of a start or agent string."""
    by_role = {link.role: link.interface for link in links}

    def one(m: re.Match[str]) -> str:
        name, role = m.group(1), m.group(2)
        if name == "tap":
            return by_role[role or "lan"] if (role or "lan") in by_role else links[0].interface
        return values[name]

    return PLACEHOLDER.sub(one, text)
