"""`--shard K/N`: the selected cases split across N CI machines, each running one part.

Every shard computes the same partition on its own, so the partition may depend only on what
all of them see alike: the selected cases and the durations they read. Durations come from an
earlier run's results.json (`--shard-durations FILE_OR_DIR`, or else the newest complete,
unsharded runs in the report directory); a case with no recorded duration gets an estimate from
its declared waits. Cases are dealt longest first to the shard with the least work so far
(ties go to the lower shard, equal durations by case key): deterministic, and no shard is
longer than the ideal by more than its longest case.

Each shard records the partition's digest; `conformance merge` refuses shards whose digests
differ (different selections, or different durations read), so a case can never be run twice
or lost between shards without the merge saying so.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ESTIMATE_BASE_MS = 60.0  # a case without a deliberate wait: namespace, exchange, teardown
MAX_ESTIMATE_MS = 10_000.0
RUNS_READ = 5  # the newest unsharded runs durations are read from
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s)\b")
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(ValueError):
    """A --shard value or durations source that cannot be used; one sentence."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse(text: str) -> Shard:
    m = _SHARD.match(text)
    if not m:
        raise ShardError(f"{text!r}: give K/N, this machine's part K of N parts (e.g. 2/4)")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"{text}: K must be between 1 and N, and N at least 1")
    return Shard(index, count)


def estimate_ms(waits: str) -> float:
    """A case's cost from its declared waits ("two SYN retransmission timeouts (1 s + 2 s)")."""
    total = 0.0
    for number, unit in _DURATION.findall(waits or ""):
        total += float(number) * (1000.0 if unit == "s" else 1.0)
    return min(ESTIMATE_BASE_MS + total, MAX_ESTIMATE_MS)


def _results_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    if (source / "results.json").is_file():
        return [source / "results.json"]
    runs = sorted((p for p in source.iterdir() if p.is_dir() and not p.is_symlink() and (p / "results.json").is_file()),
                  key=lambda p: p.name, reverse=True) if source.is_dir() else []
    return [p / "results.json" for p in runs]


def recorded_durations(source: Path) -> tuple[dict[str, float], list[str]]:
    """Case key -> duration in ms from the newest complete, unsharded runs under `source` (a
    results.json, a run directory or a report directory); and the files they came from."""
    from conformance.report.model import case_key

    durations: dict[str, float] = {}
    used: list[str] = []
    for path in _results_files(source):
        if len(used) == RUNS_READ:
            break
        try:
            data = json.loads(path.read_text())
            run, cases = data["run"], data["cases"]
            if not run.get("complete", True) or run.get("shard"):
                continue  # a part of a run: its durations would change between the shards of one round
            found = {case_key(c): float(c["duration_ms"]) for c in cases}
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an unreadable run is no source of durations
        used.append(str(path))
        for key, ms in found.items():
            durations.setdefault(key, ms)  # the newest run's figure wins
    return durations, used


def partition(costs: Sequence[tuple[str, float]], count: int) -> dict[str, int]:
    """Case key -> its shard (1-based): longest first, each to the least loaded shard."""
    order = sorted(costs, key=lambda kc: (-kc[1], kc[0]))
    heap = [(0.0, index) for index in range(1, count + 1)]
    heapq.heapify(heap)
    out: dict[str, int] = {}
    for key, cost in order:
        load, index = heapq.heappop(heap)
        out[key] = index
        heapq.heappush(heap, (load + cost, index))
    return out


def digest(assignment: dict[str, int], count: int) -> str:
    """The partition's fingerprint: equal exactly when two shards split the same cases the same way."""
    text = f"{count}\n" + "\n".join(f"{key}\t{assignment[key]}" for key in sorted(assignment))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Plan:
    shard: Shard
    assignment: dict[str, int]
    costs: dict[str, float]
    durations_from: list[str]

    def mine(self, key: str) -> bool:
        return self.assignment[key] == self.shard.index

    def describe(self) -> dict[str, object]:
        """What results.json records of this shard (docs/results.md, `run.shard`)."""
        load = sum(ms for k, ms in self.costs.items() if self.mine(k))
        return {"index": self.shard.index, "count": self.shard.count, "digest": digest(self.assignment, self.shard.count),
                "cases_in_all_shards": len(self.assignment),
                "cases": sum(1 for k in self.assignment if self.mine(k)),
                "planned_ms": round(load, 1), "durations_from": self.durations_from or "estimates from the cases' waits"}


def plan(shard: Shard, cases: Iterable[tuple[str, str]], durations: dict[str, float], used: list[str]) -> Plan:
    """The partition of `cases` ((key, waits) pairs) for `shard`, with the durations read."""
    costs = {key: durations.get(key, estimate_ms(waits)) for key, waits in cases}
    return Plan(shard, partition(list(costs.items()), shard.count), costs, used if durations else [])
