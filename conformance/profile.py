"""SUT profiles: sysctls to set on a namespace SUT and commands to run inside it once built.

    description = "A host hardened as commonly recommended"
    commands = ["nft -f /etc/conformance/ruleset.nft"]   # optional; run with /bin/sh -c

    [sysctls]
    "net.ipv4.conf.all.rp_filter" = 1
    "net.ipv4.conf.eth0.arp_ignore" = 1                  # the SUT's eth0, in every topology

Top-level keys come before the [sysctls] table: TOML puts every key written after a table
header inside that table.

Only network-namespace sysctls (`net.*` keys that exist inside a fresh namespace) are
accepted: anything else would change the machine the suite runs on. A key that names an
interface (net.ipv4.conf.eth1.*, net.ipv4.neigh.eth0.*) applies to the SUT's interface of that
name in every topology that gives the SUT one.

Errors (a TOML syntax error, an unknown key, a key outside the SUT's namespace, a sysctl the
kernel does not have in a namespace, a command that fails or hangs) name the file and line and
are raised before any case runs.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.netns import Namespace
from conformance.topology import interface_of

PROFILE_KEYS = {"description", "sysctls", "commands"}
COMMAND_TIMEOUT = 10.0
_KEY_PART = re.compile(r"^[A-Za-z0-9_-]+$")


class ProfileError(ValueError):
    """A profile that cannot be applied; the message names the file and line."""


@dataclass(frozen=True)
class Profile:
    name: str
    description: str = ""
    sysctls: Mapping[str, str] = field(default_factory=dict)
    commands: tuple[str, ...] = ()
    source: str = ""  # the file it came from, or "--sut-sysctl"
    lines: Mapping[str, int] = field(default_factory=dict)  # sysctl key or command -> line

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "description": self.description,
                "sysctls": dict(self.sysctls), "commands": list(self.commands)}

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        return f"{self.source}, line {line}" if line else self.source


def load(path: Path) -> Profile:
    try:
        text = path.read_text()
    except IsADirectoryError:
        raise ProfileError(f"{path}: is a directory, not a profile file") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not a text file; a profile is TOML") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: {exc}") from None
    src = str(path)
    unknown = set(data) - PROFILE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ProfileError(f"{src}, line {_line_of(text, key)}: unknown key {key!r} (known: {', '.join(sorted(PROFILE_KEYS))})")
    sysctls = data.get("sysctls", {})
    if not isinstance(sysctls, dict):
        raise ProfileError(f"{src}, line {_line_of(text, 'sysctls')}: 'sysctls' must be a table of key = value")
    commands = data.get("commands", [])
    if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
        raise ProfileError(f"{src}, line {_line_of(text, 'commands')}: 'commands' must be a list of strings")
    lines: dict[str, int] = {}
    clean: dict[str, str] = {}
    for key, value in sysctls.items():
        if key in PROFILE_KEYS - {"sysctls"}:
            raise ProfileError(f"{src}, line {_line_of(text, key)}: '{key}' is inside the [sysctls] table; write it "
                               "before the [sysctls] header (TOML puts keys after a header into that table)")
        if isinstance(value, dict):
            raise ProfileError(f"{src}, line {_line_of(text, key)}: sysctl keys are written whole and quoted: \"{key}.…\" = value")
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ProfileError(f"{src}, line {_line_of(text, key)}: the value of {key} must be a number or a string")
        lines[key] = _line_of(text, key)
        problem = key_problem(key)
        if problem:
            raise ProfileError(f"{src}, line {lines[key]}: {problem}")
        clean[key] = str(value)
    for command in commands:
        lines[command] = _line_of(text, command)
    return Profile(path.stem, str(data.get("description", "")), clean, tuple(commands), src, lines)


def from_assignments(assignments: Sequence[str]) -> Profile:
    """`--sut-sysctl key=value` options as a profile of their own."""
    out: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ProfileError(f"--sut-sysctl {item!r}: write it as key=value, e.g. net.ipv4.ip_forward=1")
        problem = key_problem(key.strip())
        if problem:
            raise ProfileError(f"--sut-sysctl {item!r}: {problem}")
        out[key.strip()] = value.strip()
    return Profile("command line", "", out, (), "--sut-sysctl")


def merge(*profiles: Profile) -> Profile:
    """Later profiles win, key by key; commands run in order."""
    sysctls: dict[str, str] = {}
    commands: list[str] = []
    lines: dict[str, int] = {}
    for p in profiles:
        sysctls.update(p.sysctls)
        commands += p.commands
        lines.update(p.lines)
    names = [p.name for p in profiles]
    return Profile(" + ".join(names), "; ".join(p.description for p in profiles if p.description),
                   sysctls, tuple(commands), ", ".join(p.source for p in profiles), lines)


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if re.search(r"(^|[\s\"'\[,])" + re.escape(needle) + r"([\s\"'=,\]]|$)", line):
            return number
    return 0


def key_problem(key: str) -> str | None:
    """Why `key` may not be set on the SUT, or None. Only network-namespace keys are allowed:
    any other (kernel.*, vm.*, fs.*) is global and would change the machine itself."""
    parts = key.split(".")
    if not all(_KEY_PART.match(p) for p in parts):
        return f"{key!r} is not a sysctl key (dotted words, e.g. net.ipv4.ip_forward)"
    if parts[0] != "net" or len(parts) < 3:
        return (f"{key} is not a network-namespace sysctl: only net.* keys are private to the SUT's namespace, "
                "and setting it would change this machine")
    return None


def check_sysctls(profile: Profile, ns: Namespace) -> None:
    """Every sysctl must exist in a fresh network namespace (keys that the kernel keeps only in
    the initial namespace, i.e. global ones, do not) and accept the value. A per-interface key is
    checked on the namespace's `default` entry, as the interface exists only in a topology."""
    for key, value in profile.sysctls.items():
        iface = interface_of(key)
        # conf/ has a `default` entry in every namespace; neigh/ has none there, but has `lo`.
        scope = "lo" if key.split(".")[2:3] == ["neigh"] else "default"
        probe = key.replace(f".{iface}.", f".{scope}.", 1) if iface else key
        try:
            ns.write_sysctl(probe, value)
        except FileNotFoundError:
            raise ProfileError(f"{profile.where(key)}: sysctl {key} does not exist in a network namespace") from None
        except ValueError:
            raise ProfileError(f"{profile.where(key)}: {key!r} is not a sysctl key") from None
        except OSError as exc:
            raise ProfileError(f"{profile.where(key)}: the kernel refused {key} = {value} ({exc.strerror})") from None


def run_commands(profile: Profile, ns: Namespace) -> None:
    """Run the profile's commands inside `ns`, in order; the first failure is an error."""
    from conformance.runs import last_lines, run_command

    for command in profile.commands:
        code, out = run_command(ns, command, COMMAND_TIMEOUT)
        if code == -9:
            raise ProfileError(f"{profile.where(command)}: command timed out after {COMMAND_TIMEOUT:g} s and was "
                               f"killed with its children: {command}" + _indented(last_lines(out)))
        if code != 0:
            raise ProfileError(f"{profile.where(command)}: command failed with status {code}: {command}"
                               + _indented(last_lines(out)))


def _indented(text: str) -> str:
    return "".join(f"\n    {line}" for line in text.splitlines())
