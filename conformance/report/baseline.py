"""Baselines of expected verdicts: reading them strictly, and holding a run against them.

A baseline is a directory of TOML files (one per area, all read together) or a single file:

    [[deviation]]
    id = "ICMP-EXAMPLE"
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

    def expected(self, case: dict[str, Any], capabilities: list[str] | None = None) -> str:
        dev = self.deviations.get(case["id"])
        if dev is not None:
            return dev.verdict
        return default_expectation(case, capabilities)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "files": list(self.files), "entries": len(self.deviations)}


def default_expectation(case: dict[str, Any], capabilities: list[str] | None) -> str:
    if capabilities is not None and set(case.get("needs") or ()) - set(capabilities):
        return "skip"
    return "pass"


def load(path: Path) -> Baseline:
    """Read a baseline file, or every *.toml file of a directory; raise BaselineError."""
    if path.is_dir():
        files = sorted(path.glob("*.toml"))
    elif path.is_file():
        files = [path]
    else:
        raise BaselineError(f"{path}: no such baseline file or directory")
    deviations: dict[str, Deviation] = {}
    for f in files:
        for dev in _read_file(f):
            first = deviations.get(dev.id)
            if first is not None:
                raise BaselineError(f"{dev.file} line {dev.line}: case {dev.id} is already in the baseline "
                                    f"at {first.file} line {first.line}; give each case one entry")
            deviations[dev.id] = dev
    return Baseline(str(path), tuple(str(f) for f in files), deviations)


_TABLE = re.compile(r"^\s*\[\[\s*deviation\s*\]\]")


def _read_file(path: Path) -> list[Deviation]:
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
        if key != "deviation":
            raise BaselineError(f"{path} line {_key_line(lines, 0, key)}: unknown top-level key {key!r}; "
                                "a baseline holds only [[deviation]] tables")
    entries = data.get("deviation", [])
    if not isinstance(entries, list):
        raise BaselineError(f"{path} line {_key_line(lines, 0, 'deviation')}: 'deviation' must be written "
                            "as [[deviation]] tables")
    starts = [i + 1 for i, line in enumerate(lines) if _TABLE.match(line)]
    out = []
    for n, entry in enumerate(entries):
        start = starts[n] if n < len(starts) else 1
        out.append(_deviation(path, lines, start, entry))
    return out


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


def annotate(results: dict[str, Any], baseline: Baseline) -> list[Difference]:
    """Mark each case with what the baseline expects; return the cases that differ.

    Adds to each case a `baseline` object (expected verdict, match, and the entry's rfc/reason
    when the case has one) and to the run a `baseline` summary; see docs/results.md.
    """
    from conformance.report.model import case_key

    caps = results["run"].get("sut", {}).get("capabilities")
    diffs = []
    used = set()
    for c in results["cases"]:
        dev = baseline.deviations.get(c["id"])
        expected = baseline.expected(c, caps)
        match = expected == c["outcome"] or (expected == "pass" and c["outcome"] == NOT_IMPLEMENTED)
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
        "unused": sorted(set(baseline.deviations) - used),
    }
    return diffs
