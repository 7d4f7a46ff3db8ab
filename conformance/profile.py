"""SUT profiles: sysctls to set on a namespace SUT and commands to run inside it once built.

    description = "A host hardened as commonly recommended"

    [sysctls]
    "net.ipv4.conf.all.rp_filter" = 1

    commands = ["nft -f /etc/conformance/ruleset.nft"]   # optional; run with /bin/sh -c

Errors (a TOML syntax error, an unknown key, a sysctl the kernel does not have in a namespace,
a command that fails) name the file and line and are raised before any case runs.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.netns import Namespace

PROFILE_KEYS = {"description", "sysctls", "commands"}
COMMAND_TIMEOUT = 10.0


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
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile ({exc.strerror})") from None
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
        if isinstance(value, dict):
            raise ProfileError(f"{src}, line {_line_of(text, key)}: sysctl keys are written whole and quoted: \"{key}.…\" = value")
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ProfileError(f"{src}, line {_line_of(text, key)}: the value of {key} must be a number or a string")
        clean[key] = str(value)
        lines[key] = _line_of(text, key)
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


def check_sysctls(profile: Profile, ns: Namespace) -> None:
    """Every sysctl must exist in a network namespace and accept the value."""
    for key, value in profile.sysctls.items():
        try:
            ns.write_sysctl(key, value)
        except FileNotFoundError:
            raise ProfileError(f"{profile.where(key)}: sysctl {key} does not exist in a network namespace") from None
        except ValueError:
            raise ProfileError(f"{profile.where(key)}: {key!r} is not a sysctl key") from None
        except OSError as exc:
            raise ProfileError(f"{profile.where(key)}: the kernel refused {key} = {value} ({exc.strerror})") from None


def run_commands(profile: Profile, ns: Namespace) -> None:
    """Run the profile's commands inside `ns`, in order; the first failure is an error."""
    from conformance.runs import run_command

    for command in profile.commands:
        code, out = run_command(ns, command, COMMAND_TIMEOUT)
        if code != 0:
            said = out.strip().splitlines()
            detail = f": {said[-1]}" if said else ""
            raise ProfileError(f"{profile.where(command)}: command failed with status {code}{detail}: {command}")
