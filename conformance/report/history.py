"""A run's history: each case's verdicts over the earlier runs in the same report directory.

The runs read are the run directories beside this one (reports/<run-id>/results.json) that
started before it and tested the same kind of SUT, newest last, at most MAX_RUNS of them. A
shard counts as a run of its own selection only; a merged run as the whole. From them:
- per case, its verdicts oldest to newest (a letter per run, '-' where it did not run), and
  whether its verdict flipped from the previous run it was in;
- per area (protocol), the pass share of each run and how many of its cases flipped, for the
  report's trend lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.report.model import case_key

MAX_RUNS = 20  # earlier runs shown beside this one
LETTER = {"pass": "P", "fail": "F", "not-implemented": "N", "skip": "S", "inconclusive": "I", "error": "E"}
OUTCOME = {v: k for k, v in LETTER.items()}


@dataclass
class RunPoint:
    id: str
    started: str
    href: str | None  # the run's page, relative to this page, when it has one
    verdicts: dict[str, str]  # case key -> outcome
    protocols: dict[str, str] = field(default_factory=dict)  # case key -> protocol


@dataclass
class History:
    runs: list[RunPoint]  # oldest first, this run last
    strips: dict[str, str]  # case key -> letters, one per run ('-' = not in that run)
    flipped: set[str]  # case keys whose verdict differs from their previous run's
    areas: dict[str, list[dict[str, Any]]]  # protocol -> per run: pass share, results, flips

    @property
    def earlier(self) -> int:
        return len(self.runs) - 1


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        if not isinstance(data, dict) or data.get("schema") != "conformance-results" or not isinstance(data.get("cases"), list):
            return None
        return data
    except (OSError, ValueError):
        return None


def earlier_runs(results: dict[str, Any], run_dir: Path | None, out_dir: Path) -> list[RunPoint]:
    """The runs beside run_dir that started before this one, of the same SUT kind, oldest first."""
    import os

    if run_dir is None or not run_dir.parent.is_dir():
        return []
    me = results["run"]
    kind = (me.get("sut") or {}).get("kind")
    found = []
    for d in run_dir.parent.iterdir():
        if d.is_symlink() or not d.is_dir() or d.resolve() == run_dir.resolve() or not (d / "results.json").is_file():
            continue
        found.append(d)
    points: list[RunPoint] = []
    # Newest first by name (run ids begin with their start time), read until MAX_RUNS qualify.
    for d in sorted(found, key=lambda p: p.name, reverse=True):
        if len(points) == MAX_RUNS:
            break
        data = _read(d / "results.json")
        if data is None:
            continue
        run = data.get("run") or {}
        if str(run.get("started", "")) >= str(me.get("started", "")) or (run.get("sut") or {}).get("kind") != kind:
            continue
        page = d / "index.html"
        href = os.path.relpath(page, out_dir).replace(os.sep, "/") if page.exists() else None
        points.append(RunPoint(str(run.get("id", d.name)), str(run.get("started", "")), href,
                               {case_key(c): c.get("outcome", "") for c in data["cases"] if isinstance(c, dict)},
                               {case_key(c): c.get("protocol", "") for c in data["cases"] if isinstance(c, dict)}))
    return sorted(points, key=lambda p: p.started)


def build(results: dict[str, Any], run_dir: Path | None, out_dir: Path) -> History:
    current = RunPoint(results["run"]["id"], str(results["run"].get("started", "")), None,
                       {case_key(c): c["outcome"] for c in results["cases"]},
                       {case_key(c): c["protocol"] for c in results["cases"]})
    runs = [*earlier_runs(results, run_dir, out_dir), current]
    strips: dict[str, str] = {}
    flipped: set[str] = set()
    for key in current.verdicts:
        letters = "".join(LETTER.get(r.verdicts.get(key, ""), "-") for r in runs)
        strips[key] = letters
        seen = letters[:-1].replace("-", "")
        if seen and seen[-1] != letters[-1]:
            flipped.add(key)
    areas: dict[str, list[dict[str, Any]]] = {}
    protocols = sorted(set(current.protocols.values()))
    last_seen: dict[str, str] = {}
    for r in runs:
        flips_by_area: dict[str, int] = {}
        for key, outcome in r.verdicts.items():
            before = last_seen.get(key)
            if before is not None and before != outcome:
                area = r.protocols.get(key, "")
                flips_by_area[area] = flips_by_area.get(area, 0) + 1
            last_seen[key] = outcome
        for proto in protocols:
            keys = [k for k, p in r.protocols.items() if p == proto]
            passed = sum(1 for k in keys if r.verdicts[k] in ("pass", "not-implemented"))
            areas.setdefault(proto, []).append({"run": r.id, "started": r.started, "results": len(keys),
                                                "passed": passed, "share": (passed / len(keys)) if keys else None,
                                                "flips": flips_by_area.get(proto, 0)})
    return History(runs, strips, flipped, areas)


def sparkline(points: list[dict[str, Any]], width: int = 140, height: int = 22) -> dict[str, Any]:
    """An area's trend as SVG coordinates: the pass share per run, and the runs with flips."""
    n = len(points)
    pad = 4  # room for a flip's dot at either end
    step = (width - 2 * pad) / max(n - 1, 1)
    coords = []
    for i, p in enumerate(points):
        if p["share"] is None:
            continue
        x = round(pad + i * step if n > 1 else width / 2, 1)
        y = round(pad + (height - 2 * pad) * (1 - p["share"]), 1)
        coords.append({"x": x, "y": y, "flips": p["flips"], "title": (
            f"{p['run']}: {p['passed']}/{p['results']} passed" + (f", {p['flips']} flipped" if p["flips"] else ""))})
    return {"width": width, "height": height, "points": coords,
            "polyline": " ".join(f"{c['x']},{c['y']}" for c in coords)}
