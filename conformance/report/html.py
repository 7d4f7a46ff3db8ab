"""The HTML report: one self-contained file per run, rendered with Jinja2 (autoescape on).

Nothing is fetched when the file opens: the style and the small script are inlined, pcaps are
linked files beside it. Every text that came from the wire, the SUT or a case goes through
Jinja2's escaping; nothing is marked safe except the inlined style and script of the suite.
"""

from __future__ import annotations

import os
import re
import shlex
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from conformance.report import frames as framing
from conformance.report.model import LEVELS, OUTCOMES, case_key

TEMPLATES = Path(__file__).with_name("templates")
LAYER_NAMES = {2: "Layer 2 (link)", 3: "Layer 3 (network)", 4: "Layer 4 (transport)"}


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


def _pcap_href(pcap: str | None, run_dir: Path | None, out_dir: Path) -> str | None:
    if not pcap or run_dir is None:
        return None
    target = run_dir / pcap
    return quote(os.path.relpath(target, out_dir).replace(os.sep, "/"))


def _status(c: dict[str, Any]) -> str:
    """How a case stands against the baseline: 'known' deviation, 'new' difference, or ''."""
    b = c.get("baseline")
    if not b:
        return ""
    if b["match"]:
        return "known" if b["deviation"] and c["outcome"] != "pass" else ""
    return "new"


def case_view(c: dict[str, Any], run_dir: Path | None, out_dir: Path) -> dict[str, Any]:
    pcap_path = run_dir / c["pcap"] if run_dir is not None and c.get("pcap") else None
    key = case_key(c)
    return {
        "c": c,
        "key": key,
        "anchor": anchor(key),
        "status": _status(c),
        "search": " ".join((key, c["title"], f"rfc{c['rfc']}", f"rfc {c['rfc']}", c["section"],
                            c["protocol"])).lower(),
        "section_key": section_sort_key(c["section"]),
        "ladder": framing.ladder(c.get("frames") or [], pcap_path),
        "pcap_href": _pcap_href(c.get("pcap"), run_dir, out_dir),
    }


def _groups(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cases by layer, then protocol, then id: the default order of the page."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for v in sorted(views, key=lambda v: (v["c"]["layer"], v["c"]["protocol"], v["key"])):
        groups.setdefault((v["c"]["layer"], v["c"]["protocol"]), []).append(v)
    return [{"id": f"g-{layer}-{proto}", "title": f"{proto.upper()} · {LAYER_NAMES.get(layer, f'Layer {layer}')}",
             "cases": cs, "counts": Counter(v["c"]["outcome"] for v in cs)} for (layer, proto), cs in groups.items()]


def _rfc_index(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cases by RFC and section (document order): the second grouping, also a static index."""
    by_rfc: dict[int, list[dict[str, Any]]] = {}
    for v in views:
        by_rfc.setdefault(v["c"]["rfc"], []).append(v)
    return [{"rfc": rfc, "cases": sorted(cs, key=lambda v: (v["section_key"], v["key"]))}
            for rfc, cs in sorted(by_rfc.items())]


def render(results: dict[str, Any], *, run_dir: Path | None, out_path: Path,
           diff: dict[str, Any] | None = None) -> str:
    """The report page for `results`; pcaps are found under `run_dir` and linked from `out_path`."""
    out_dir = out_path.parent.resolve()
    rd = run_dir.resolve() if run_dir is not None else None
    views = [case_view(c, rd, out_dir) for c in results["cases"]]
    by_key = {v["key"]: v for v in views}
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    bad = [v for v in views if v["c"]["outcome"] in ("fail", "error")]
    bad.sort(key=lambda v: (order.get(v["c"]["level"], 9), v["status"] == "known", v["key"]))
    run = results["run"]
    env = environment()
    outputs = ((run.get("sut") or {}).get("attachment") or {}).get("outputs") or []
    sut_outputs = [(name, _pcap_href(name, rd, out_dir)) for name in outputs]
    return env.get_template("report.html.j2").render(
        results=results,
        run=run,
        command=shlex.join(str(a) for a in run.get("command_line", [])),
        summary=results["summary"],
        levels=LEVELS,
        outcomes=OUTCOMES,
        sut_outputs=sut_outputs,
        groups=_groups(views),
        rfcs=_rfc_index(views),
        must_failures=[v for v in bad if v["c"]["level"] == "MUST"],
        other_failures=[v for v in bad if v["c"]["level"] != "MUST"],
        baseline=run.get("baseline"),
        known=sum(1 for v in views if v["status"] == "known"),
        new=sum(1 for v in views if v["status"] == "new"),
        diff=diff,
        by_key=by_key,
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

    # The suite's own style and script, never data: the only text the page does not escape.
    return Markup(text)


def write(results: dict[str, Any], out_path: Path, *, run_dir: Path | None,
          diff: dict[str, Any] | None = None) -> None:
    text = render(results, run_dir=run_dir, out_path=out_path, diff=diff)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, out_path)
