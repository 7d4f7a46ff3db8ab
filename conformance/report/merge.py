"""`conformance merge`: the runs of several machines (the shards of one selection, or disjoint
selections) joined into one run: one results.json, report, JUnit XML and merged pcap.

The merge refuses what would not be one run: shards of different partitions (their digests
differ: another selection, other durations), a case in two runs, runs of different SUT kinds.
Shards that are missing are named; the merged run is then incomplete (`complete: false`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from conformance.report.model import case_key, make_results, read_results


class MergeError(ValueError):
    """Runs that cannot be joined; one sentence saying why."""


def _results_path(path: Path) -> Path:
    return path if path.name.endswith(".json") else path / "results.json"


def load_runs(paths: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Each given run directory (or results.json) with its results, in shard order."""
    from conformance.report.model import ResultsError

    runs = []
    for path in paths:
        try:
            results = read_results(_results_path(path))
        except ResultsError as exc:
            raise MergeError(str(exc)) from None
        runs.append((_results_path(path).resolve().parent, results))
    if len(runs) < 1:
        raise MergeError("give the run directories to merge")
    return sorted(runs, key=lambda r: ((r[1]["run"].get("shard") or {}).get("index", 0), r[1]["run"]["id"]))


def check(runs: list[tuple[Path, dict[str, Any]]]) -> tuple[bool, str]:
    """Raise MergeError unless the runs make one run; return (complete, what is missing)."""
    shards = [r["run"].get("shard") for _, r in runs]
    kinds = {r["run"].get("sut", {}).get("kind") for _, r in runs}
    if len(kinds) > 1:
        raise MergeError(f"these runs are of different SUT kinds ({', '.join(sorted(map(str, kinds)))}); "
                         "merge the runs of one SUT")
    owner: dict[str, str] = {}
    for run_dir, r in runs:
        for c in r["cases"]:
            key = case_key(c)
            if key in owner:
                raise MergeError(f"case {key} is in both {owner[key]} and {run_dir}; a case may be in one run only")
            owner[key] = str(run_dir)
    if any(shards) and not all(shards):
        unsharded = next(str(d) for (d, _), s in zip(runs, shards, strict=True) if not s)
        raise MergeError(f"{unsharded} is not a shard but the other runs are; merge the shards of one selection")
    missing = ""
    complete = all(r["run"].get("complete", True) for _, r in runs)
    if all(shards):
        digests = {s["digest"] for s in shards if s}
        if len(digests) > 1:
            raise MergeError("these shards split different selections or read different durations (their partition "
                             "digests differ); run every shard with the same options and --shard-durations")
        first = shards[0]
        assert first is not None
        indices = [s["index"] for s in shards if s]
        twice = sorted({i for i in indices if indices.count(i) > 1})
        if twice:
            raise MergeError(f"shard {twice[0]}/{first['count']} is given twice")
        if len(owner) < first["cases_in_all_shards"]:
            count = first["count"]
            absent = ", ".join(f"{i}/{count}" for i in sorted(set(range(1, count + 1)) - set(indices)))
            missing = (f"{first['cases_in_all_shards'] - len(owner)} of the {first['cases_in_all_shards']} selected "
                       f"results are missing (shards not given: {absent})")
            complete = False
    return complete, missing


def merged_results(runs: list[tuple[Path, dict[str, Any]]], run_id: str, command: list[str]) -> dict[str, Any]:
    complete, missing = check(runs)
    first = runs[0][1]["run"]
    parts = []
    for run_dir, r in runs:
        run = r["run"]
        parts.append({"id": run["id"], "dir": str(run_dir), "shard": run.get("shard"), "started": run.get("started"),
                      "duration_s": run.get("duration_s"), "complete": run.get("complete", True),
                      "host": (run.get("host") or {}).get("hostname"), "cases": len(r["cases"])})
    run = {
        **{k: v for k, v in first.items() if k not in ("shard", "baseline", "shards")},
        "id": run_id,
        "started": min(str(r["run"].get("started", "")) for _, r in runs),
        "finished": max(str(r["run"].get("finished", "")) for _, r in runs),
        # Shards run side by side: the merged run took as long as its longest part.
        "duration_s": max(float(r["run"].get("duration_s") or 0) for _, r in runs),
        "complete": complete,
        "command_line": command,
        "workers": sum(int(r["run"].get("workers") or 1) for _, r in runs),
        "shards": parts,
    }
    if missing:
        run["incomplete_because"] = missing
    cases = [dict(c) for _, r in runs for c in r["cases"]]
    baselines = [r["run"].get("baseline") for _, r in runs]
    if all(baselines) and len({b["source"] for b in baselines if b}) == 1:
        b0 = baselines[0]
        assert b0 is not None
        run["baseline"] = {**b0, "differences": sum(b["differences"] for b in baselines if b),
                           "decides": all(b.get("decides") for b in baselines if b),
                           "unused": sorted(set.intersection(*(set(b["unused"]) for b in baselines if b)))}
    else:
        for c in cases:
            c.pop("baseline", None)  # marks of different baselines (or of none) are no one run's marks
    return make_results(run, cases)


def copy_files(runs: list[tuple[Path, dict[str, Any]]], out_dir: Path) -> None:
    """Each case's pcap (and an external SUT's output files) into the merged run's directory."""
    (out_dir / "pcap").mkdir(parents=True, exist_ok=True)
    for run_dir, r in runs:
        names = [c["pcap"] for c in r["cases"] if c.get("pcap")]
        names += ((r["run"].get("sut") or {}).get("attachment") or {}).get("outputs") or []
        for name in names:
            source, target = run_dir / name, out_dir / name
            if not source.is_file() or target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)  # the same bytes; no copy when both are on one file system
            except OSError:
                shutil.copy2(source, target)
