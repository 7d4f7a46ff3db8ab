"""The results model: what results.json holds, and the one place that writes and reads it.

The schema is documented in docs/results.md; bump SCHEMA_VERSION on any incompatible change.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

SCHEMA = "conformance-results"
SCHEMA_VERSION = 2
# Version 2 added the `not-implemented` verdict and the case's `optional` feature; a version 1
# file is a valid version 2 file without them.
READABLE_VERSIONS = (1, 2)
OUTCOMES = ("pass", "fail", "not-implemented", "skip", "inconclusive", "error")
LEVELS = ("MUST", "SHOULD", "MAY")


class ResultsError(ValueError):
    """A results file that cannot be read as this schema."""


def summarize(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by outcome, by level x outcome, and by protocol x outcome."""
    by_level = {lvl: dict.fromkeys(OUTCOMES, 0) for lvl in LEVELS}
    by_protocol: dict[str, dict[str, int]] = {}
    totals: Counter[str] = Counter()
    for c in cases:
        totals[c["outcome"]] += 1
        by_level.setdefault(c["level"], dict.fromkeys(OUTCOMES, 0))[c["outcome"]] += 1
        by_protocol.setdefault(c["protocol"], dict.fromkeys(OUTCOMES, 0))[c["outcome"]] += 1
    return {
        "total": len(cases),
        "outcomes": {o: totals.get(o, 0) for o in OUTCOMES},
        "by_level": by_level,
        "by_protocol": dict(sorted(by_protocol.items())),
    }


def make_results(run: dict[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(cases, key=lambda c: (c["id"], c["nodeid"]))
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "run": run,
        "summary": summarize(ordered),
        "cases": ordered,
    }


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a file, even if the run is killed mid-write."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def read_results(path: Path) -> dict[str, Any]:
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ResultsError(f"{path}: not a conformance results file (no schema {SCHEMA!r})")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ResultsError(f"{path}: schema version {version}, this suite reads versions "
                           f"{', '.join(map(str, READABLE_VERSIONS))}")
    return data


def point_latest(report_dir: Path, run_dir: Path) -> None:
    """Make report_dir/latest a relative symlink to run_dir, replacing it atomically."""
    link = report_dir / "latest"
    tmp = report_dir / f".latest.{os.getpid()}"
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, link)


def case_key(case: dict[str, Any]) -> str:
    """A case's identity across runs: its id, plus the parameter set of a parametrized case.

    The id, not the node id, so that a case moved to another file is still the same case.
    """
    nodeid = case.get("nodeid") or ""
    bracket = nodeid.find("[")
    return str(case["id"]) + (nodeid[bracket:] if bracket >= 0 and nodeid.endswith("]") else "")
