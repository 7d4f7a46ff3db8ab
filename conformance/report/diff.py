"""Two runs compared: what regressed, what was fixed, what appeared, disappeared or got slower.

Cases are matched by their key (the id, plus the parameter set of a parametrized case), so a
case moved to another file is still the same case.
- regressed: now FAIL or ERROR and was not; or was PASS and is now INCONCLUSIVE;
- fixed: was FAIL or ERROR, now PASS;
- changed: any other change of verdict (e.g. PASS -> SKIP, FAIL -> ERROR);
- appeared / disappeared: in one run only;
- slower / faster: the same verdict, and the duration moved by more than the noise allowance:
  at least `min_ms` milliseconds and at least `ratio` times (or 1/ratio of) the old duration.
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


def compare(old: dict[str, Any], new: dict[str, Any], noise: Noise | None = None) -> dict[str, Any]:
    """The differences between two results documents, as a dict the text and HTML views share."""
    noise = noise or Noise()
    olds = {case_key(c): c for c in old["cases"]}
    news = {case_key(c): c for c in new["cases"]}
    out: dict[str, Any] = {k: [] for k in CATEGORIES}
    unchanged = 0
    for key in sorted(olds.keys() | news.keys()):
        o, n = olds.get(key), news.get(key)
        if o is None:
            out["appeared"].append(_entry(key, None, n))
            continue
        if n is None:
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
    return "\n".join(lines)


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
