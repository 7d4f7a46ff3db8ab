"""Everything a run leaves beside its results.json: index.html, junit.xml and run.pcapng."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.report import html, junit, merged_pcap

HTML_NAME, JUNIT_NAME, PCAP_NAME = "index.html", "junit.xml", "run.pcapng"


def write_all(results: dict[str, Any], run_dir: Path) -> dict[str, Path]:
    """Write the run's report files into run_dir; return them by kind."""
    out = {"html": run_dir / HTML_NAME, "junit": run_dir / JUNIT_NAME, "pcap": run_dir / PCAP_NAME}
    junit.write(results, out["junit"])
    merged_pcap.write(results, run_dir, out["pcap"])
    html.write(results, out["html"], run_dir=run_dir)
    return out
