"""The HTML report: one self-contained file per run, rendered with Jinja2 (autoescape on).

Nothing is fetched when the file opens: the style and the script are inlined, pcaps and the
run's other files are linked beside it. The page scales to tens of thousands of cases:
- the header, the summary, the failure lists (capped, the rest behind "more") and every
  failing case in full are HTML, readable with JavaScript off (the failing cases' details sit in
  a <noscript>, which costs a browser with JavaScript nothing but bytes);
- the case list is drawn by the script from one JSON document in the page, a page of rows per
  group at a time ("show more"), and a case's details (decode, ladder, hex) only when opened.
Every text that came from the wire, the SUT or a case goes through Jinja2's escaping or, in the
JSON, has `<`, `>` and `&` written as \\u escapes, and the script puts it on the page as text
only (textContent, never innerHTML); nothing is marked safe but the suite's own style and script.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from conformance.report import frames as framing
from conformance.report import history as histories
from conformance.report import rfcs
from conformance.report.model import LEVELS, OUTCOMES, case_key

TEMPLATES = Path(__file__).with_name("templates")
LAYER_NAMES = {2: "Layer 2 (link)", 3: "Layer 3 (network)", 4: "Layer 4 (transport)"}
FAILURE_LIST_CAP = 30  # failures listed in the summary before the rest go behind "more"
BAD = ("fail", "error")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # for every template, whatever its name: nothing reaches the page unescaped
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ms"] = _ms
    env.filters["seconds"] = _seconds
    env.filters["first_line"] = lambda s: (s or "").strip().splitlines()[0] if (s or "").strip() else ""
    return env


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    m, s = divmod(round(value), 60)
    return f"{m} min {s:02d} s"


def anchor(key: str) -> str:
    """An HTML id for a case: its key with everything but letters, digits, '-' and '_' replaced."""
    return "case-" + re.sub(r"[^A-Za-z0-9_-]", "_", key)


def section_sort_key(section: str) -> str:
    """Sections in document order: '3.2.10' after '3.2.9'; named sections after numbered ones."""
    m = re.match(r"^\d+(\.\d+)*", section.strip())
    if not m:
        return "~" + section.lower()
    return ".".join(f"{int(p):04d}" for p in m.group(0).split("."))


def _href(path: str | None, run_dir: Path | None, out_dir: Path) -> str | None:
    if not path or run_dir is None:
        return None
    return quote(os.path.relpath(run_dir / path, out_dir).replace(os.sep, "/"))


def status(c: dict[str, Any]) -> str:
    """How a case stands against the baseline: 'known' deviation, 'new' difference, or ''."""
    b = c.get("baseline")
    if not b:
        return ""
    if b["match"]:
        return "known" if b["deviation"] and c["outcome"] != "pass" else ""
    return "new"


def case_view(c: dict[str, Any], run_dir: Path | None, out_dir: Path, *, decode: bool = True) -> dict[str, Any]:
    """What the page knows of a case: for the templates, and (compacted) for the script."""
    pcap_path = run_dir / c["pcap"] if run_dir is not None and c.get("pcap") and decode else None
    key = case_key(c)
    return {
        "c": c,
        "key": key,
        "anchor": anchor(key),
        "status": status(c),
        "section_key": section_sort_key(c["section"]),
        "ladder": framing.ladder(c.get("frames") or [], pcap_path, outcome=c["outcome"], message=c.get("message") or ""),
        "pcap_href": _href(c.get("pcap"), run_dir, out_dir),
    }


def _frame_data(f: framing.Frame) -> dict[str, Any]:
    out: dict[str, Any] = {"n": f.n, "t": f.t_ms, "pt": f.port, "dr": f.direction, "ln": f.length, "lb": f.label,
                           "sl": f.src_lane, "dl": f.dst_lane}
    if f.summary != f.label:
        out["sm"] = f.summary
    if f.note:
        out["no"] = f.note
    if f.auxiliary:
        out["a"] = 1
    if f.focus:
        out["fo"] = f.focus
    if f.layers:
        # A layer as its name and its fields written "name=value", tab-separated: a third of the bytes of lists.
        out["L"] = [[layer.name, "\t".join(f"{k}={v}" for k, v in layer.fields)] for layer in f.layers]
        out["x"] = f.b64
    return out


def case_data(v: dict[str, Any], strip: str, flipped: bool) -> dict[str, Any]:
    """A case for the script, with short keys: the page holds thousands of them."""
    c = v["c"]
    out: dict[str, Any] = {
        "k": v["key"], "a": v["anchor"], "i": c["id"], "t": c["title"], "o": c["outcome"], "l": c["level"],
        "r": c["rfc"], "s": c["section"], "sk": v["section_key"], "p": c["protocol"], "y": c["layer"],
        "d": c["duration_ms"], "q": c["requirement"], "u": c["rfc_url"], "nd": c.get("nodeid") or "",
    }
    optional = {"st": v["status"], "m": c.get("message") or "", "x": c.get("extra_rfcs") or [], "w": c.get("waits") or "",
                "n": c.get("needs") or [], "g": c.get("tags") or [], "wk": c.get("worker") or "",
                "pre": c.get("preconditions") or [], "pc": v["pcap_href"] or "", "h": strip if len(strip) > 1 else "",
                "fl": 1 if flipped else 0}
    if c.get("longrepr") and c["longrepr"] != c.get("message"):
        optional["lr"] = c["longrepr"]
    b = c.get("baseline")
    if b:
        optional["b"] = {"e": b["expected"], "m": b["match"], "dv": b["deviation"], "rf": b.get("rfc", ""),
                         "re": b.get("reason", "")}
    lad = v["ladder"]
    if lad.frames:
        optional["ln"] = lad.lanes
        optional["f"] = [_frame_data(f) for f in lad.frames]
        optional["dc"] = 1 if lad.decoded else 0
    out.update({k: val for k, val in optional.items() if val not in ("", [], 0, None)})
    return out


def page_json(data: Any) -> str:
    """JSON that can sit inside <script type="application/json">: no '<', '>' or '&' in it."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _matrix(views: list[dict[str, Any]], baseline: bool) -> dict[str, Any]:
    """Level x verdict; with a baseline, fail and error split into new failures and known deviations."""
    columns: list[tuple[str, str, str]] = []  # (key, outcome, label)
    for o in OUTCOMES:
        if baseline and o in BAD:
            columns += [(f"{o}:new", o, f"{o} · new"), (f"{o}:known", o, f"{o} · known deviation")]
        else:
            columns.append((o, o, o))
    rows = []
    for lvl in LEVELS:
        counts: Counter[str] = Counter()
        for v in views:
            c = v["c"]
            if c["level"] != lvl:
                continue
            o = c["outcome"]
            counts[f"{o}:{'known' if v['status'] == 'known' else 'new'}" if baseline and o in BAD else o] += 1
        rows.append({"level": lvl, "cells": [counts.get(k, 0) for k, _, _ in columns], "total": sum(counts.values())})
    return {"columns": columns, "rows": rows}


def _files(run_dir: Path | None, out_dir: Path) -> list[tuple[str, str, str]]:
    """The run's other files, linked from the page: (name, href, what it is for)."""
    if run_dir is None:
        return []
    wanted = (("results.json", "everything, for machines"), ("junit.xml", "for CI"),
              ("run.pcapng", "every frame, for Wireshark"))
    return [(name, _href(name, run_dir, out_dir) or name, what) for name, what in wanted if (run_dir / name).exists()]


def render(results: dict[str, Any], *, run_dir: Path | None, out_path: Path,
           diff: dict[str, Any] | None = None) -> str:
    """The report page for `results`; pcaps are found under `run_dir` and linked from `out_path`."""
    out_dir = out_path.parent.resolve()
    rd = run_dir.resolve() if run_dir is not None else None
    views = [case_view(c, rd, out_dir) for c in results["cases"]]
    history = histories.build(results, rd, out_dir)
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    bad = [v for v in views if v["c"]["outcome"] in BAD]
    bad.sort(key=lambda v: (order.get(v["c"]["level"], 9), v["status"] == "known", v["key"]))
    run = results["run"]
    baseline = run.get("baseline")
    outputs = ((run.get("sut") or {}).get("attachment") or {}).get("outputs") or []
    per_id = Counter(c["id"] for c in results["cases"])
    failing = [v for v in views if v["c"]["outcome"] in BAD or v["status"] == "new"]
    data = {
        "run": run["id"], "baseline": bool(baseline), "history": history.earlier > 0,
        "runs": [r.id for r in history.runs],
        "rfcs": {str(r): rfcs.title(r) for r in sorted({v["c"]["rfc"] for v in views})},
        "layers": {str(k): n for k, n in LAYER_NAMES.items()},
        "cases": [case_data(v, history.strips.get(v["key"], ""), v["key"] in history.flipped)
                  for v in sorted(views, key=lambda v: (v["c"]["layer"], v["c"]["protocol"], v["key"]))],
    }
    env = environment()
    return env.get_template("report.html.j2").render(
        results=results,
        run=run,
        command=shlex.join(str(a) for a in run.get("command_line", [])),
        summary=results["summary"],
        levels=LEVELS,
        outcomes=OUTCOMES,
        sut_outputs=[(name, _href(name, rd, out_dir)) for name in outputs],
        files=_files(rd, out_dir),
        cases_count=len(per_id),
        parametrized=sum(1 for n in per_id.values() if n > 1),
        matrix=_matrix(views, bool(baseline)),
        must_new=[v for v in bad if v["c"]["level"] == "MUST" and v["status"] != "known"],
        must_known=[v for v in bad if v["c"]["level"] == "MUST" and v["status"] == "known"],
        other_failures=[v for v in bad if v["c"]["level"] != "MUST"],
        cap=FAILURE_LIST_CAP,
        failing=failing,
        index=sorted(views, key=lambda v: (v["c"]["rfc"], v["section_key"], v["key"])),
        rfc_titles=rfcs.TITLES,
        baseline=baseline,
        known=sum(1 for v in views if v["status"] == "known"),
        new=sum(1 for v in views if v["status"] == "new"),
        history=history,
        trends={proto: histories.sparkline(points) for proto, points in history.areas.items()},
        diff=diff,
        data=_markup(page_json(data)),
        style=_markup(_asset("report.css")),
        script=_markup(_asset("report.js")),
    )


def render_diff_page(diff: dict[str, Any]) -> str:
    """A page with the diff section alone (`conformance diff --html FILE`)."""
    return environment().get_template("diff_page.html.j2").render(diff=diff, style=_markup(_asset("report.css")))


def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text()


def _markup(text: str) -> Any:
    from markupsafe import Markup

    # The suite's own style and script, and the JSON made safe by page_json: the only text the
    # page does not escape.
    return Markup(text)


def write(results: dict[str, Any], out_path: Path, *, run_dir: Path | None,
          diff: dict[str, Any] | None = None) -> None:
    text = render(results, run_dir=run_dir, out_path=out_path, diff=diff)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, out_path)
