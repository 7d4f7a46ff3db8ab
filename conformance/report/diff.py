"""Two runs compared: what regressed, what was fixed, what appeared, disappeared or got slower.

Cases are matched by their key (the id, plus the parameter set of a parametrized case), so a
case moved to another file is still the same case.
- regressed: now FAIL or ERROR and was not; or was PASS and is now INCONCLUSIVE;
- fixed: was FAIL or ERROR, now PASS;
- changed: any other change of verdict (e.g. PASS -> SKIP, FAIL -> ERROR);
- appeared / disappeared: in one run only;
- slower / faster: the same verdict, and the duration moved by more than the noise allowance:
  at least `min_ms` milliseconds and at least `ratio` times (or 1/ratio of) the old duration.

A run of a selection (`--case`, `--protocol`, ..., or one shard of `--shard`) did not run the
cases outside it: those are counted as outside the selection, not as appeared or disappeared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.report.model import case_key

BAD = ("fail", "error")
DEFAULT_MIN_MS = 20.0
DEFAULT_RATIO = 2.0
CATEGORIES = ("regressed", "fixed", "changed", "appeared", "disappeared", "slower", "faster")


@dataclass(frozen=True)
class Noise:
    min_ms: float = DEFAULT_MIN_MS
    ratio: float = DEFAULT_RATIO


def _entry(key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    c = new or old
    assert c is not None
    return {
        "key": key, "id": c["id"], "title": c["title"], "level": c["level"], "rfc": c["rfc"], "section": c["section"],
        "old": old["outcome"] if old else None, "new": new["outcome"] if new else None,
        "old_ms": old["duration_ms"] if old else None, "new_ms": new["duration_ms"] if new else None,
        "message": (new or {}).get("message") or "",
    }


def classify(old: str, new: str) -> str | None:
    if old == new:
        return None
    if new in BAD and old not in BAD:
        return "regressed"
    if old == "pass" and new == "inconclusive":
        return "regressed"
    if old in BAD and new == "pass":
        return "fixed"
    return "changed"


SELECTION_FLAGS = ("case", "exclude", "protocol", "rfc", "level", "tag", "text")


def selection_of(results: dict[str, Any]) -> dict[str, Any]:
    """The selection a run was given: run.selection, or for older files its command line."""
    run = results["run"]
    if "selection" in run or "shard" in run:
        return {**(run.get("selection") or {}), **({"shard": run["shard"]} if run.get("shard") else {})}
    import argparse

    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for flag in SELECTION_FLAGS:
        if flag == "text":
            p.add_argument("--text", "-t", default="")
        else:
            p.add_argument(f"--{flag}", action="append", default=[])
    p.add_argument("-c", dest="case", action="append")
    p.add_argument("-p", dest="protocol", action="append")
    p.add_argument("-l", dest="level", action="append")
    try:
        known, _ = p.parse_known_args([str(a) for a in run.get("command_line") or []])
    except SystemExit:  # a command line argparse cannot read is no selection it can tell
        return {}
    return {k: v for k, v in vars(known).items() if v}


def _selects(selection: dict[str, Any], case: dict[str, Any]) -> bool:
    """Whether a case of another run falls inside this run's selection."""
    from conformance.catalog import CaseInfo, Filter, Level

    if "shard" in selection:
        return False  # one shard ran its part only; a case it lacks is another shard's
    try:
        info = CaseInfo.from_dict(case)
        f = Filter(protocol=tuple(selection.get("protocol") or ()), rfc=tuple(int(r) for r in selection.get("rfc") or ()),
                   level=tuple(Level(str(x).upper()) for x in selection.get("level") or ()),
                   text=selection.get("text") or "", ids=tuple(selection.get("case") or ()),
                   tags=tuple(selection.get("tag") or ()), exclude=tuple(selection.get("exclude") or ()))
    except (TypeError, ValueError, KeyError):
        return True  # a case or selection we cannot read: count it as a real difference
    return f(info)


def describe_selection(selection: dict[str, Any]) -> str:
    parts = []
    for key, value in selection.items():
        if key == "shard":
            parts.append(f"--shard {value['index']}/{value['count']}")
        else:
            parts += [f"--{key} {v}" for v in (value if isinstance(value, list) else [value])]
    return " ".join(parts)


def compare(old: dict[str, Any], new: dict[str, Any], noise: Noise | None = None) -> dict[str, Any]:
    """The differences between two results documents, as a dict the text and HTML views share."""
    noise = noise or Noise()
    olds = {case_key(c): c for c in old["cases"]}
    news = {case_key(c): c for c in new["cases"]}
    out: dict[str, Any] = {k: [] for k in CATEGORIES}
    old_sel, new_sel = selection_of(old), selection_of(new)
    outside = {"old": 0, "new": 0}  # cases of one run that the other run's selection left out
    unchanged = 0
    for key in sorted(olds.keys() | news.keys()):
        o, n = olds.get(key), news.get(key)
        if o is None:
            assert n is not None
            if old_sel and not _selects(old_sel, n):
                outside["new"] += 1
            else:
                out["appeared"].append(_entry(key, None, n))
            continue
        if n is None:
            if new_sel and not _selects(new_sel, o):
                outside["old"] += 1
            else:
                out["disappeared"].append(_entry(key, o, None))
            continue
        kind = classify(o["outcome"], n["outcome"])
        if kind is None:
            kind = _timing(o["duration_ms"], n["duration_ms"], noise)
        if kind is None:
            unchanged += 1
        else:
            out[kind].append(_entry(key, o, n))
    out["unchanged"] = unchanged
    out["outside_selection"] = {"old": outside["old"], "new": outside["new"],
                                "old_selection": describe_selection(old_sel), "new_selection": describe_selection(new_sel)}
    out["noise"] = {"min_ms": noise.min_ms, "ratio": noise.ratio}
    out["old_run"] = _run_info(old)
    out["new_run"] = _run_info(new)
    return out


def _timing(old_ms: float, new_ms: float, noise: Noise) -> str | None:
    if abs(new_ms - old_ms) < noise.min_ms:
        return None
    if new_ms >= old_ms * noise.ratio:
        return "slower"
    if new_ms * noise.ratio <= old_ms:
        return "faster"
    return None


def _run_info(results: dict[str, Any]) -> dict[str, Any]:
    run = results["run"]
    sut = run.get("sut", {})
    return {"id": run.get("id"), "started": run.get("started"), "kernel": sut.get("kernel"),
            "description": sut.get("description"), "total": results["summary"]["total"]}


def has_regressions(diff: dict[str, Any]) -> bool:
    return bool(diff["regressed"])


def text(diff: dict[str, Any]) -> str:
    """The diff for a terminal: one heading per non-empty category, one line per case."""
    o, n = diff["old_run"], diff["new_run"]
    lines = [f"old: {o['id']} ({o['started']}, {o['total']} cases, kernel {o['kernel']})",
             f"new: {n['id']} ({n['started']}, {n['total']} cases, kernel {n['kernel']})"]
    for kind in CATEGORIES:
        entries = diff[kind]
        if not entries:
            continue
        lines.append("")
        lines.append(f"{kind} ({len(entries)}):")
        width = max(len(e["key"]) for e in entries)
        for e in entries:
            lines.append("  " + _line(kind, e, width))
    counts = ", ".join(f"{len(diff[k])} {k}" for k in CATEGORIES)
    lines.append("")
    lines.append(f"{counts}, {diff['unchanged']} unchanged")
    lines += selection_notes(diff)
    return "\n".join(lines)


def selection_notes(diff: dict[str, Any]) -> list[str]:
    """One sentence for each run whose selection left out cases the other run has."""
    sel = diff.get("outside_selection") or {}
    notes = []
    if sel.get("old"):
        notes.append(f"{sel['old']} case(s) of the old run are outside the new run's selection "
                     f"({sel['new_selection']}): not compared")
    if sel.get("new"):
        notes.append(f"{sel['new']} case(s) of the new run are outside the old run's selection "
                     f"({sel['old_selection']}): not compared")
    return notes


def _line(kind: str, e: dict[str, Any], width: int) -> str:
    head = f"{e['key']:<{width}}  {e['level']:<6}"
    if kind in ("slower", "faster"):
        return f"{head} {e['old_ms']:.1f} ms -> {e['new_ms']:.1f} ms"
    if kind == "appeared":
        return f"{head} {e['new']}"
    if kind == "disappeared":
        return f"{head} was {e['old']}"
    first = e["message"].strip().splitlines()[0] if e["message"].strip() else ""
    return f"{head} {e['old']} -> {e['new']}" + (f"  {first[:120]}" if first and e["new"] != "pass" else "")
