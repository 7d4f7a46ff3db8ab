"""JUnit XML for CI systems: one testsuite per protocol, one testcase per case.

It tells the same story as the run's exit status:
- When a baseline decides the exit status (`--baseline`), a verdict the baseline expects is no
  failure: a known deviation is a `<skipped>` whose message starts "known deviation:" and gives
  the baseline's reason, so CI stays green and the deviation stays visible in the skipped list.
  Every difference from the baseline is a `<failure>` (or an `<error>`), even a case that now
  passes where the baseline expects a failure (the baseline is out of date: the run exits 1).
- Without one, a failure is a `<failure>` and an error an `<error>`, as pytest's exit status
  counts them; a shipped baseline's known deviation says so in its message but stays a failure.
- skip, inconclusive and not-implemented are `<skipped>` with their reason.

Valid against the schemas CI systems read (docs/ci.md): Jenkins' junit-10.xsd (no per-testcase
properties, no testcase `file` attribute, children in schema order) and GitLab's parser (unique
testcase names, attachments in the testcase's system-out). Each failing case attaches its pcap
and the report with `[[ATTACHMENT|path]]` lines; paths are relative to the directory the
command ran in (where CI jobs run and collect artifacts), absolute when outside it.
"""

from __future__ import annotations

import os
import re
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.report.model import case_key

# XML 1.0 cannot carry most control characters; bytes off the wire can contain any of them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_MESSAGE = 1000  # the message attribute is one line a CI page shows; the element text has it all
SKIPPED_OUTCOMES = ("skip", "inconclusive", "not-implemented")
KNOWN_DEVIATION = "known deviation"


def _clean(text: str | None) -> str:
    return _INVALID_XML.sub("\N{REPLACEMENT CHARACTER}", text or "")


def _one_line(text: str) -> str:
    first = text.strip().split("\n", 1)[0] if text.strip() else ""
    return _clean(first)[:MAX_MESSAGE]


def attachment_path(path: Path, cwd: Path | None = None) -> str:
    """How an attachment names a file: relative to the working directory when it is inside it
    (GitLab resolves attachments from the project directory, Jenkins from the workspace), else
    absolute."""
    where = (cwd or Path.cwd()).resolve()
    target = path.resolve()
    try:
        return target.relative_to(where).as_posix()
    except ValueError:
        return target.as_posix()


def _timestamp(started: str) -> str:
    """ISO 8601 without fraction or zone (UTC), the form the strictest JUnit schemas accept."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})", started or "")
    return m.group(1) if m else "1970-01-01T00:00:00"


def _gating(results: dict[str, Any]) -> bool:
    return bool((results["run"].get("baseline") or {}).get("decides"))


def judgement(c: dict[str, Any], gating: bool) -> tuple[str, str, str]:
    """(element, type, message) for a case: element is '', 'failure', 'error' or 'skipped'."""
    outcome = c["outcome"]
    b = c.get("baseline") or {}
    head = f"{c['level']} RFC {c['rfc']} {c['section']}: "
    first = _one_line(c.get("message") or "")
    if gating and b and b.get("match"):
        if b.get("deviation") and outcome != "pass":
            return "skipped", KNOWN_DEVIATION, f"{KNOWN_DEVIATION}: {_one_line(b.get('reason') or '')}"
        if outcome in SKIPPED_OUTCOMES:
            return "skipped", outcome, f"{outcome}: {first}"
        return "", "", ""
    if gating and b and outcome not in ("fail", "error"):
        # The verdict differs from the baseline although the case did not fail: the run exits 1.
        return "failure", "baseline difference", f"the baseline expects {b.get('expected')}, got {outcome}" + (
            f": {first}" if first else "")
    if outcome == "fail":
        known = f"{KNOWN_DEVIATION} ({_one_line(b.get('reason') or '')}): " if b.get("deviation") and b.get("match") else ""
        return "failure", f"{c['level']} requirement not met", (head + known + first)[:MAX_MESSAGE]
    if outcome == "error":
        return "error", "suite error", (head + first)[:MAX_MESSAGE]
    if outcome in SKIPPED_OUTCOMES:
        return "skipped", outcome, f"{outcome}: {first}"[:MAX_MESSAGE]
    return "", "", ""


def _body(c: dict[str, Any], element: str, kind: str) -> str:
    """The element's text: the requirement, the baseline's word, the message once, where it is."""
    parts = [c.get("requirement") or ""]
    b = c.get("baseline") or {}
    if b.get("deviation"):
        where = f" ({Path(b['file']).name} line {b['line']})" if b.get("file") else ""
        parts.append(f"Baseline{where} expects {b.get('expected')}: {b.get('rfc', '')}\n{b.get('reason', '')}".strip())
    elif b and not b.get("match"):
        parts.append(f"Not in the baseline, so expected to {b.get('expected')}.")
    message = (c.get("message") or "").strip()
    if message:
        parts.append(("What the case saw:\n" if kind == KNOWN_DEVIATION else "") + message)
    longrepr = (c.get("longrepr") or "").strip()
    if element == "error" and longrepr and (not message or message.splitlines()[0] not in longrepr):
        parts.append(longrepr)  # a traceback that adds to the message (a crash, not an assertion)
    parts.append(f"Case: {c.get('nodeid') or c['id']}")
    return _clean("\n\n".join(p for p in parts if p))


def build(results: dict[str, Any], *, run_dir: Path | None = None, report: Path | None = None,
          cwd: Path | None = None) -> ET.Element:
    run = results["run"]
    gating = _gating(results)
    judged = [(c, *judgement(c, gating)) for c in results["cases"]]
    totals = {k: sum(1 for _, e, _, _ in judged if e == k) for k in ("failure", "error", "skipped")}
    root = ET.Element("testsuites", name=f"conformance {run['id']}", tests=str(len(judged)),
                      failures=str(totals["failure"]), errors=str(totals["error"]),
                      time=f"{float(run.get('duration_s') or 0):.3f}")
    suites: dict[str, list[tuple[dict[str, Any], str, str, str]]] = {}
    for row in judged:
        suites.setdefault(row[0]["protocol"], []).append(row)
    host = _clean(str((run.get("host") or {}).get("hostname") or socket.gethostname() or "localhost"))
    for n, (proto, rows) in enumerate(sorted(suites.items())):
        counts = {k: sum(1 for _, e, _, _ in rows if e == k) for k in ("failure", "error", "skipped")}
        suite = ET.SubElement(root, "testsuite", name=f"conformance.{proto}", tests=str(len(rows)),
                              failures=str(counts["failure"]), errors=str(counts["error"]),
                              skipped=str(counts["skipped"]),
                              time=f"{sum(c['duration_ms'] for c, *_ in rows) / 1000:.3f}",
                              timestamp=_timestamp(str(run.get("started", ""))), hostname=host, id=str(n))
        if n == 0:  # the run's facts once, on the first suite (testcases carry no properties)
            _suite_properties(suite, run)
        for c, element, kind, message in rows:
            _testcase(suite, c, element, kind, message, run_dir, report, cwd)
        if n == 0 and report is not None:
            # The run's files once, for Jenkins' suite-level attachments (GitLab reads testcases only).
            files = [report] + [f for f in (report.parent / "results.json", report.parent / "run.pcapng") if f.exists()]
            ET.SubElement(suite, "system-out").text = "\n".join(f"[[ATTACHMENT|{attachment_path(f, cwd)}]]" for f in files)
    return root


def _suite_properties(suite: ET.Element, run: dict[str, Any]) -> None:
    props = ET.SubElement(suite, "properties")
    sut = run.get("sut", {})
    baseline = run.get("baseline") or {}
    for name, value in (("sut.kind", sut.get("kind")), ("sut.description", sut.get("description")),
                        ("sut.kernel", sut.get("kernel")), ("suite_version", run.get("suite_version")),
                        ("run_id", run.get("id")), ("baseline", baseline.get("source")),
                        ("baseline.decides_exit_status", baseline.get("decides") if baseline else None),
                        ("shard", "{index}/{count}".format(**run["shard"]) if run.get("shard") else None)):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=_clean(str(value)))


def _testcase(suite: ET.Element, c: dict[str, Any], element: str, kind: str, message: str,
              run_dir: Path | None, report: Path | None, cwd: Path | None) -> None:
    key = case_key(c)
    tc = ET.SubElement(suite, "testcase", name=_clean(f"{key} {c['title']}"),
                       classname=f"conformance.{c['protocol']}.RFC{c['rfc']}",
                       time=f"{c['duration_ms'] / 1000:.3f}")
    if element:
        ET.SubElement(tc, element, message=_clean(message), type=kind).text = _body(c, element, kind)
    attachments = []
    if element in ("failure", "error") or kind == KNOWN_DEVIATION:
        if run_dir is not None and c.get("pcap") and (run_dir / c["pcap"]).exists():
            attachments.append(run_dir / c["pcap"])
        if report is not None and element in ("failure", "error"):
            attachments.append(report)  # the report once per failing case, not per known deviation
    if attachments:
        from conformance.report.html import anchor

        lines = [f"[[ATTACHMENT|{attachment_path(p, cwd)}]]" for p in attachments]
        if report is not None:
            lines.append(f"report: {attachment_path(report, cwd)}#{anchor(key)}")
        ET.SubElement(tc, "system-out").text = "\n".join(lines)


def write(results: dict[str, Any], path: Path, *, run_dir: Path | None = None, report: Path | None = None) -> None:
    tree = ET.ElementTree(build(results, run_dir=run_dir, report=report))
    ET.indent(tree, space=" ")
    tmp = path.with_name(path.name + ".tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
