"""The mutation self-test's catalog of SUT faults (faults.toml) and how to run cases under one.

A fault is a way a real IP stack could be wrong, injected into the local kernel's SUT namespace
through a SUT profile (docs/sut.md, "Profiles"): an nftables ruleset that drops, mangles or
rewrites specific packets, and/or network-namespace sysctls. Each fault names the cases that
MUST turn FAIL under it; a fault no case turns FAIL is a case the catalog lacks.

    [[fault]]
    id = "ARP-REPLY-WRONG-SENDER-MAC"
    models = "one sentence: the real-world bug"
    area = "arp"
    nft = '''table arp mutation { ... }'''     # optional: loaded with `nft -f -` in the SUT
    commands = ["..."]                           # optional: further shell commands in the SUT
    sysctls = { "net.ipv4.conf.all.proxy_arp" = 1 }   # optional
    must_fail = ["ARP-REPLY-UNICAST"]            # case ids or globs; each must FAIL
    keep = ["ARP-REPLY-NOT-ANSWERED"]            # optional: must keep their verdict without the fault
    ci = true                                    # optional: in the fast CI subset (test_mutation.py)

A fault is *caught* when every case its must_fail names turns FAIL under it, while the same
cases PASS without it (the control: a case that fails on the unbroken kernel proves nothing).
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CATALOG = HERE / "faults.toml"
FAULT_KEYS = {"id", "models", "area", "nft", "needs_interface", "commands", "sysctls", "must_fail", "keep", "ci"}
REQUIRED = {"id", "models", "area", "must_fail"}


class CatalogError(ValueError):
    """faults.toml is malformed; the message names the fault."""


class RunError(RuntimeError):
    """`conformance run` did not produce a verdict for every case (bad usage, a profile that does
    not apply, a crash): the message carries its output."""


@dataclass(frozen=True)
class Fault:
    id: str
    models: str
    area: str
    must_fail: tuple[str, ...]
    keep: tuple[str, ...] = ()
    nft: str = ""
    needs_interface: str = ""  # load the ruleset only in SUTs with this interface (eth1: the routers)
    commands: tuple[str, ...] = ()
    sysctls: Mapping[str, int | str] = field(default_factory=dict)
    ci: bool = False

    @property
    def cases(self) -> tuple[str, ...]:
        """Every case id or glob the fault's runs select."""
        return self.must_fail + tuple(c for c in self.keep if c not in self.must_fail)

    def profile_toml(self) -> str:
        """The fault as a SUT profile: top-level keys first, then the [sysctls] table."""
        commands = list(self.commands)
        if self.nft:
            # One nft batch per SUT (a commit costs 6-19 ms); the quoted here-document keeps the
            # ruleset's own characters away from the shell.
            load = "nft -f - <<'NFT_RULESET'\n" + self.nft.strip() + "\nNFT_RULESET\n"
            if self.needs_interface:
                # A ruleset that names the interface (fwd to "eth1") cannot load where it is
                # absent; a host SUT then runs unbroken, which no case of the fault's expects.
                load = f"if ip link show {self.needs_interface} >/dev/null 2>&1; then\n{load}fi"
            commands.insert(0, load)
        lines = [f"description = {_toml_str('mutation fault ' + self.id + ': ' + self.models)}",
                 "commands = [" + ", ".join(_toml_str(c) for c in commands) + "]"]
        if self.sysctls:
            lines.append("")
            lines.append("[sysctls]")
            lines += [f"{_toml_str(k)} = {_toml_str(str(v))}" for k, v in self.sysctls.items()]
        return "\n".join(lines) + "\n"

    def write_profile(self, directory: Path) -> Path:
        path = directory / f"{self.id}.toml"
        path.write_text(self.profile_toml())
        return path


def _toml_str(text: str) -> str:
    # A JSON string is a TOML basic string: the same escapes (\n, \", \\, \uXXXX).
    return json.dumps(text)


def load(path: Path = CATALOG) -> list[Fault]:
    data = tomllib.loads(path.read_text())
    faults: list[Fault] = []
    seen: set[str] = set()
    for raw in data.get("fault", []):
        name = raw.get("id", "?")
        unknown = set(raw) - FAULT_KEYS
        if unknown:
            raise CatalogError(f"fault {name}: unknown key(s) {', '.join(sorted(unknown))}")
        missing = REQUIRED - set(raw)
        if missing:
            raise CatalogError(f"fault {name}: missing {', '.join(sorted(missing))}")
        if name in seen:
            raise CatalogError(f"fault {name}: the id is used twice")
        seen.add(name)
        if not raw["must_fail"]:
            raise CatalogError(f"fault {name}: must_fail names no case")
        if not raw.get("nft") and not raw.get("commands") and not raw.get("sysctls"):
            raise CatalogError(f"fault {name}: injects nothing (no nft, commands or sysctls)")
        faults.append(Fault(
            id=name, models=raw["models"].strip(), area=raw["area"], must_fail=tuple(raw["must_fail"]),
            keep=tuple(raw.get("keep", ())), nft=raw.get("nft", ""), needs_interface=raw.get("needs_interface", ""),
            commands=tuple(raw.get("commands", ())),
            sysctls=dict(raw.get("sysctls", {})), ci=bool(raw.get("ci", False)),
        ))
    return faults


@dataclass(frozen=True)
class Outcome:
    outcome: str
    message: str


def run_cases(cases: Iterable[str], report_dir: Path, *, profile: Path | None = None, workers: int | None = None,
              timeout: float = 900.0) -> dict[str, Outcome]:
    """Run the selected cases (ids or globs) with `conformance run` in a subprocess, against the
    local kernel configured by `profile` (None: unconfigured); each case's verdict by id."""
    argv = [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report_dir)]
    for selected in cases:
        argv += ["--case", selected]
    if profile is not None:
        argv += ["--sut-profile", str(profile)]
    if workers and workers > 1:
        argv += ["-n", str(workers)]
    proc = subprocess.run([*argv, "--", "-q"], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)
    results_path = report_dir / "latest" / "results.json"
    if proc.returncode not in (0, 1) or not results_path.exists():
        raise RunError(f"`{' '.join(argv)}` exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    results: dict[str, Any] = json.loads(results_path.read_text())
    return {c["id"]: Outcome(c["outcome"], (c.get("message") or "").strip()) for c in results["cases"]}


def matching(pattern: str, ids: Iterable[str]) -> list[str]:
    return sorted(i for i in ids if fnmatch.fnmatchcase(i, pattern))


@dataclass(frozen=True)
class Judgement:
    """What a fault's two runs showed."""

    fault: Fault
    caught: bool  # every must-fail case FAILed under the fault
    control_ok: bool  # ...and PASSed without it; every `keep` case kept its verdict
    problems: tuple[str, ...]  # why not, one line each
    catchers: tuple[str, ...]  # the must-fail cases that did FAIL

    @property
    def ok(self) -> bool:
        return self.caught and self.control_ok


def judge(fault: Fault, faulty: Mapping[str, Outcome], control: Mapping[str, Outcome]) -> Judgement:
    problems: list[str] = []
    catchers: list[str] = []
    caught = control_ok = True
    for pattern in fault.must_fail:
        ids = matching(pattern, faulty)
        if not ids:
            problems.append(f"{pattern}: no such case ran")
            caught = False
        for cid in ids:
            got = faulty[cid]
            if got.outcome == "fail":
                catchers.append(cid)
            else:
                caught = False
                problems.append(f"{cid}: {got.outcome.upper()} under the fault, must FAIL"
                                + (f" ({_first_line(got.message)})" if got.message else ""))
            base = control.get(cid)
            if base is None or base.outcome != "pass":
                control_ok = False
                problems.append(f"{cid}: {base.outcome.upper() if base else 'not run'} without the fault, "
                                "must PASS (a case that fails unbroken catches nothing)")
    for pattern in fault.keep:
        for cid in matching(pattern, faulty):
            base = control.get(cid)
            if base is None or base.outcome != faulty[cid].outcome:
                control_ok = False
                problems.append(f"{cid}: {faulty[cid].outcome.upper()} under the fault, "
                                f"{base.outcome.upper() if base else 'not run'} without it; must keep its verdict")
    return Judgement(fault, caught, control_ok, tuple(problems), tuple(catchers))


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= 160 else line[:157] + "..."


def selection(faults: Sequence[Fault]) -> list[str]:
    """Every case id or glob the faults name, once each, in order."""
    out: list[str] = []
    for fault in faults:
        out += [c for c in fault.cases if c not in out]
    return out
