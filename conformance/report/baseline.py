"""Baselines of expected verdicts: reading them strictly, and holding a run against them.

A baseline is a directory of TOML files (one per area, all read together) or a single file:

    [[deviation]]
    id = "ICMP-EXAMPLE"          # or "ICMP-EXAMPLE[param]" for one parameter set of a case
    verdict = "fail"
    rfc = "RFC 1122 3.2.2.6: the data received in the echo request MUST be returned entirely"
    reason = "Linux truncates ... (seen on 6.18: the reply carried 0 bytes of data)"

What a case is expected to give:
- its baseline verdict when it has an entry;
- otherwise `skip` when it needs a SUT capability that the run's SUT lacks (the suite itself
  decided it does not apply), and `pass` for everything else. Any other skip, and every
  inconclusive or error, is a difference unless the baseline names it.
- `not-implemented` (the SUT lacks an optional feature) violates nothing: it meets an
  expected `pass`, and a baseline may not list it as a deviation.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.report.model import OUTCOMES

KEYS = ("id", "verdict", "rfc", "reason")
NOT_IMPLEMENTED = "not-implemented"
NOT_APPLICABLE = "not applicable: "  # conformance.verdict.NotApplicable's prefix
# The directory of shipped baselines for each SUT kind: the netns SUT is the local Linux kernel.
BASELINE_DIR_OF_KIND = {"netns": "linux"}


class BaselineError(ValueError):
    """A baseline that cannot be used; the message is one sentence naming file and line."""


@dataclass(frozen=True)
class Deviation:
    id: str
    verdict: str
    rfc: str
    reason: str
    file: str
    line: int


@dataclass(frozen=True)
class Baseline:
    source: str  # the file or directory it was read from
    files: tuple[str, ...]
    deviations: dict[str, Deviation]

    def entry(self, case: dict[str, Any]) -> Deviation | None:
        """The case's entry: one for its parameter set (`ID[param]`) first, else one for its id."""
        from conformance.report.model import case_key

        return self.deviations.get(case_key(case)) or self.deviations.get(case["id"])

    def expected(self, case: dict[str, Any], capabilities: list[str] | None = None) -> str:
        dev = self.entry(case)
        if dev is not None:
            return dev.verdict
        return default_expectation(case, capabilities)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "files": list(self.files), "entries": len(self.deviations)}


def default_expectation(case: dict[str, Any], capabilities: list[str] | None) -> str:
    if capabilities is not None and set(case.get("needs") or ()) - set(capabilities):
        return "skip"
    return "pass"


def load(path: Path, _seen: tuple[Path, ...] = ()) -> Baseline:
    """Read a baseline file, or every *.toml file of a directory; raise BaselineError.

    A file may say `extends = "../linux"`: that baseline is read first, and this one records
    only where its SUT differs, with [[deviation]] entries (added or changed) and [[resolved]]
    entries (the parent's deviation does not happen here; `reason` says why)."""
    if path.is_dir():
        files = sorted(path.glob("*.toml"))
    elif path.is_file():
        files = [path]
    else:
        raise BaselineError(f"{path}: no such baseline file or directory")
    if path.resolve() in _seen:
        raise BaselineError(f"{path}: extends itself (through {' -> '.join(map(str, _seen))})")
    read = [(f, *_read_file(f)) for f in files]
    deviations: dict[str, Deviation] = {}
    inherited: list[str] = []
    for f, _, parent, _ in read:
        if parent is not None:
            base = load((f.parent / parent).resolve(), (*_seen, path.resolve()))
            deviations.update(base.deviations)
            inherited += base.files
    own: dict[str, Deviation] = {}
    for _f, devs, _, resolved in read:
        for dev in devs:
            first = own.get(dev.id)
            if first is not None:
                raise BaselineError(f"{dev.file} line {dev.line}: case {dev.id} is already in the baseline "
                                    f"at {first.file} line {first.line}; give each case one entry")
            own[dev.id] = dev
        for rid, where in resolved:
            if rid not in deviations:
                raise BaselineError(f"{where}: case {rid} is marked resolved but the baseline it extends has no "
                                    "deviation for it")
            del deviations[rid]
    deviations.update(own)
    return Baseline(str(path), tuple(inherited) + tuple(str(f) for f in files), deviations)


_TABLE = re.compile(r"^\s*\[\[\s*deviation\s*\]\]")
_RESOLVED = re.compile(r"^\s*\[\[\s*resolved\s*\]\]")


def _read_file(path: Path) -> tuple[list[Deviation], str | None, list[tuple[str, str]]]:
    """A file's deviations, the baseline it extends (if any) and the cases it marks resolved."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        where = f" line {m.group(1)}" if m else ""
        why = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise BaselineError(f"{path}{where}: TOML syntax error: {why}") from None
    lines = text.splitlines()
    for key in data:
        if key not in ("deviation", "extends", "resolved"):
            raise BaselineError(f"{path} line {_key_line(lines, 0, key)}: unknown top-level key {key!r}; "
                                "a baseline holds [[deviation]] tables (and may extend another, with [[resolved]])")
    parent = data.get("extends")
    if parent is not None and (not isinstance(parent, str) or not parent.strip()):
        raise BaselineError(f"{path} line {_key_line(lines, 0, 'extends')}: extends names a baseline file or "
                            "directory, relative to this file")
    resolved = []
    rstarts = [i + 1 for i, line in enumerate(lines) if _RESOLVED.match(line)]
    raw_resolved = data.get("resolved", [])
    if not isinstance(raw_resolved, list):
        raise BaselineError(f"{path}: 'resolved' must be written as [[resolved]] tables")
    for n, entry in enumerate(raw_resolved):
        start = rstarts[n] if n < len(rstarts) else 1
        if parent is None:
            raise BaselineError(f"{path} line {start}: [[resolved]] needs extends = \"...\" (what is resolved?)")
        if not isinstance(entry, dict) or set(entry) != {"id", "reason"} or not all(
                isinstance(v, str) and v.strip() for v in entry.values()):
            raise BaselineError(f"{path} line {start}: a [[resolved]] entry has exactly an id and a reason")
        resolved.append((entry["id"].strip(), f"{path} line {start}"))
    entries = data.get("deviation", [])
    if not isinstance(entries, list):
        raise BaselineError(f"{path} line {_key_line(lines, 0, 'deviation')}: 'deviation' must be written "
                            "as [[deviation]] tables")
    starts = [i + 1 for i, line in enumerate(lines) if _TABLE.match(line)]
    out = []
    for n, entry in enumerate(entries):
        start = starts[n] if n < len(starts) else 1
        out.append(_deviation(path, lines, start, entry))
    return out, parent, resolved


def _deviation(path: Path, lines: list[str], start: int, entry: Any) -> Deviation:
    if not isinstance(entry, dict):
        raise BaselineError(f"{path} line {start}: a deviation must be a [[deviation]] table")
    for key, value in entry.items():
        line = _key_line(lines, start, key)
        if key not in KEYS:
            raise BaselineError(f"{path} line {line}: unknown key {key!r} in [[deviation]]; "
                                f"the keys are {', '.join(KEYS)}")
        if not isinstance(value, str) or not value.strip():
            raise BaselineError(f"{path} line {line}: {key} must be a non-empty string")
    for key in KEYS:
        if key not in entry:
            raise BaselineError(f"{path} line {start}: this [[deviation]] has no {key}; each needs "
                                f"{', '.join(KEYS)}")
    if entry["verdict"] == NOT_IMPLEMENTED:
        raise BaselineError(f"{path} line {_key_line(lines, start, 'verdict')}: case {entry['id']}: an optional "
                            "feature the SUT does not implement is not a deviation; remove the entry")
    if entry["verdict"] not in OUTCOMES:
        raise BaselineError(f"{path} line {_key_line(lines, start, 'verdict')}: verdict {entry['verdict']!r} "
                            f"is not one of {', '.join(o for o in OUTCOMES if o != NOT_IMPLEMENTED)}")
    return Deviation(entry["id"].strip(), entry["verdict"], entry["rfc"].strip(), entry["reason"].strip(),
                     str(path), start)


def _key_line(lines: list[str], start: int, key: str) -> int:
    """The 1-based line where `key =` is first written at or after line `start` (best effort)."""
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for i in range(max(start - 1, 0), len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    return max(start, 1)


@dataclass(frozen=True)
class Difference:
    key: str
    id: str
    expected: str
    got: str
    reason: str  # the baseline's reason, or what the default expectation means

    def line(self) -> str:
        return f"{self.key}: expected {self.expected}, got {self.got} ({self.reason})"


def annotate(results: dict[str, Any], baseline: Baseline, *, decides: bool = False) -> list[Difference]:
    """Mark each case with what the baseline expects; return the cases that differ.

    Adds to each case a `baseline` object (expected verdict, match, and the entry's rfc/reason
    when the case has one) and to the run a `baseline` summary; see docs/results.md. `decides`
    says whether the baseline decides the exit status (--baseline) or only marks the report (the
    SUT kind's shipped baseline): the JUnit XML tells the same story as the exit status.
    """
    from conformance.report.model import case_key

    caps = results["run"].get("sut", {}).get("capabilities")
    diffs = []
    used = set()
    for c in results["cases"]:
        dev = baseline.entry(c)
        expected = baseline.expected(c, caps)
        # Not doing an optional feature violates nothing; a case this SUT cannot be asked is no
        # difference of the SUT either (its reason says what it lacks).
        match = (expected == c["outcome"] or (expected == "pass" and c["outcome"] == NOT_IMPLEMENTED)
                 or (c["outcome"] == "skip" and (c.get("message") or "").startswith(NOT_APPLICABLE)))
        entry: dict[str, Any] = {"expected": expected, "match": match, "deviation": dev is not None}
        if dev is not None:
            used.add(dev.id)
            entry.update(rfc=dev.rfc, reason=dev.reason, file=dev.file, line=dev.line)
        c["baseline"] = entry
        if not entry["match"]:
            if dev is not None:
                why = f"baseline {Path(dev.file).name} line {dev.line}: {dev.reason}"
            elif expected == "skip":
                why = "not in the baseline; the SUT lacks a capability the case needs"
            else:
                why = "not in the baseline, so expected to pass"
            diffs.append(Difference(case_key(c), c["id"], expected, c["outcome"], why))
    results["run"]["baseline"] = {
        **baseline.as_dict(),
        "differences": len(diffs),
        "decides": decides,
        "unused": sorted(set(baseline.deviations) - used),
    }
    return diffs
