"""JUnit XML for CI systems: one testsuite per protocol, one testcase per case.

The testcase name starts with the case id and the classname carries the RFC, so a CI page
shows both; the properties hold the rest of the case's metadata. A known deviation (a verdict
the baseline expects) stays a failure here, with the baseline's reason in its message.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.report.model import case_key

# XML 1.0 cannot carry most control characters; bytes off the wire can contain any of them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str | None) -> str:
    return _INVALID_XML.sub("\N{REPLACEMENT CHARACTER}", text or "")


def build(results: dict[str, Any]) -> ET.Element:
    run = results["run"]
    root = ET.Element("testsuites", name=f"conformance {run['id']}", tests=str(results["summary"]["total"]),
                      time=f"{run.get('duration_s', 0):.3f}")
    suites: dict[str, list[dict[str, Any]]] = {}
    for c in results["cases"]:
        suites.setdefault(c["protocol"], []).append(c)
    for n, (proto, cases) in enumerate(sorted(suites.items())):
        counts = {o: sum(1 for c in cases if c["outcome"] == o) for o in ("fail", "error", "skip", "inconclusive", "not-implemented")}
        suite = ET.SubElement(root, "testsuite", name=f"conformance.{proto}", tests=str(len(cases)),
                              failures=str(counts["fail"]), errors=str(counts["error"]),
                              skipped=str(counts["skip"] + counts["inconclusive"] + counts["not-implemented"]),
                              time=f"{sum(c['duration_ms'] for c in cases) / 1000:.3f}",
                              timestamp=str(run.get("started", "")))
        if n == 0:  # the run's facts once, on the first suite
            _suite_properties(suite, run)
        for c in cases:
            _testcase(suite, c)
    return root


def _suite_properties(suite: ET.Element, run: dict[str, Any]) -> None:
    props = ET.SubElement(suite, "properties")
    sut = run.get("sut", {})
    for name, value in (("sut.kind", sut.get("kind")), ("sut.description", sut.get("description")),
                        ("sut.kernel", sut.get("kernel")), ("suite_version", run.get("suite_version")),
                        ("run_id", run.get("id"))):
        ET.SubElement(props, "property", name=name, value=_clean(str(value)))


def _testcase(suite: ET.Element, c: dict[str, Any]) -> None:
    key = case_key(c)
    tc = ET.SubElement(suite, "testcase", name=_clean(f"{key} {c['title']}"),
                       classname=f"conformance.{c['protocol']}.RFC{c['rfc']}",
                       time=f"{c['duration_ms'] / 1000:.3f}", file=c["nodeid"].split("::", 1)[0])
    props = ET.SubElement(tc, "properties")
    for name, value in (("id", c["id"]), ("rfc", f"RFC {c['rfc']} section {c['section']}"), ("rfc_url", c["rfc_url"]),
                        ("level", c["level"]), ("requirement", c["requirement"]), ("verdict", c["outcome"])):
        ET.SubElement(props, "property", name=name, value=_clean(str(value)))
    b = c.get("baseline")
    if b and b.get("deviation"):
        ET.SubElement(props, "property", name="baseline", value=_clean(
            ("known deviation: " if b["match"] else f"baseline expects {b['expected']}: ") + b.get("reason", "")))
    head = f"{c['level']} RFC {c['rfc']} {c['section']}: "
    message = _clean(head + (c.get("message") or "").strip().split("\n", 1)[0])[:1000]
    body = _clean("\n\n".join(p for p in (c["requirement"], c.get("message"), c.get("longrepr")) if p))
    if c["outcome"] == "fail":
        ET.SubElement(tc, "failure", message=message, type=f"{c['level']} requirement not met").text = body
    elif c["outcome"] == "error":
        ET.SubElement(tc, "error", message=message, type="suite error").text = body
    elif c["outcome"] in ("skip", "inconclusive", "not-implemented"):
        ET.SubElement(tc, "skipped", message=_clean(f"{c['outcome']}: {c.get('message') or ''}")[:1000])


def write(results: dict[str, Any], path: Path) -> None:
    tree = ET.ElementTree(build(results))
    ET.indent(tree, space=" ")
    tmp = path.with_name(path.name + ".tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
