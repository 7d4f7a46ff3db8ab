"""Everything a run leaves beside its results.json: index.html, junit.xml and run.pcapng."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.report import html, junit, merged_pcap

HTML_NAME, JUNIT_NAME, PCAP_NAME = "index.html", "junit.xml", "run.pcapng"


def write_all(results: dict[str, Any], run_dir: Path, *, html_path: Path | None = None,
              junit_path: Path | None = None, diff: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write the run's report files (into run_dir unless told otherwise); return them by kind.

    The merged pcap first and the page last: the JUnit XML attaches the page, and the page links
    the other two."""
    out = {"html": html_path or run_dir / HTML_NAME, "junit": junit_path or run_dir / JUNIT_NAME,
           "pcap": run_dir / PCAP_NAME}
    merged_pcap.write(results, run_dir, out["pcap"])
    junit.write(results, out["junit"], run_dir=run_dir, report=out["html"])
    html.write(results, out["html"], run_dir=run_dir, diff=diff)
    return out
