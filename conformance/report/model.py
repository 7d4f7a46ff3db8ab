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
    """Read and check a results file; ResultsError says in one sentence what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file") from None
    except IsADirectoryError:
        raise ResultsError(f"{path}: is a directory; give the results.json inside a run's directory") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{path}: not a text file, so not a results.json") from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ResultsError(f"{path}: not a conformance results file (no schema {SCHEMA!r})")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ResultsError(f"{path}: schema version {version}, this suite reads versions "
                           f"{', '.join(map(str, READABLE_VERSIONS))}")
    _check_shape(path, data)
    return data


# What every case of a results file must carry (name -> type), and what the rest defaults to.
CASE_FIELDS: dict[str, type | tuple[type, ...]] = {"id": str, "level": str, "outcome": str}
CASE_DEFAULTS: dict[str, Any] = {
    "rfc": 0, "section": "", "protocol": "unknown", "layer": 0, "requirement": "", "nodeid": "", "duration_ms": 0.0, "message": None, "longrepr": None, "pcap": None, "frames": [],
    "preconditions": [], "worker": None, "doc": "", "tags": [], "needs": [], "waits": "", "extra_rfcs": [],
    "optional": "", "rfc_url": "",
}


def _fits(value: Any, default: Any) -> bool:
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, type(default))


def _check_shape(path: Path, data: dict[str, Any]) -> None:
    """Refuse a file whose run or cases lack what the readers use; fill the optional fields
    (in memory only) so that older or hand-trimmed files still render."""
    run, cases = data.get("run"), data.get("cases")
    if not isinstance(run, dict) or not isinstance(run.get("id"), str):
        raise ResultsError(f"{path}: has no 'run' object with an 'id', so it is not a complete results file")
    if not isinstance(cases, list):
        raise ResultsError(f"{path}: has no 'cases' list, so it is not a complete results file")
    for n, case in enumerate(cases):
        if not isinstance(case, dict):
            raise ResultsError(f"{path}: case #{n + 1} is not an object")
        name = case.get("id") if isinstance(case.get("id"), str) else f"#{n + 1}"
        for field, kind in CASE_FIELDS.items():
            if not isinstance(case.get(field), kind) or isinstance(case.get(field), bool):
                raise ResultsError(f"{path}: case {name} has no valid {field!r}")
        if case["outcome"] not in OUTCOMES:
            raise ResultsError(f"{path}: case {name} has the unknown verdict {case['outcome']!r}")
        if case["level"] not in LEVELS:
            raise ResultsError(f"{path}: case {name} has the unknown level {case['level']!r}")
        for field, default in CASE_DEFAULTS.items():
            value = case.get(field)
            if value is not None and default is not None and not _fits(value, default):
                raise ResultsError(f"{path}: case {name} has an invalid {field!r}")
            case.setdefault(field, default if not isinstance(default, list) else [])
        if not isinstance(case.get("title"), str) or not case["title"]:
            case["title"] = case["id"]
    data["summary"] = summarize(cases)


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
