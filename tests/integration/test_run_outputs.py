"""A real run writes results.json, one pcapng per case, and reports/latest; under xdist too."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import pcap

DATA = Path(__file__).parent / "data" / "verdict_cases.py"
EXPECTED = {
    "ICMP-DATA-PASS": "pass",
    "ICMP-DATA-FAIL": "fail",
    "ICMP-DATA-INCONCLUSIVE": "inconclusive",
    "ICMP-DATA-MAY-ABSENT": "not-implemented",
    "ICMP-DATA-OPTIONAL-ABSENT": "not-implemented",
    "ICMP-DATA-UNDECLARED-ABSENT": "error",
    "ICMP-DATA-ERROR": "error",
    "ICMP-DATA-SKIP": "skip",
    "ARP-DATA-HANG": "error",
}
FIELDS = {"id", "nodeid", "title", "rfc", "section", "level", "layer", "outcome", "duration_ms", "message", "pcap"}


def run_suite(tmp_path, *extra):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(DATA), "--report-dir", str(tmp_path), "--case-timeout", "2", "-q", *extra],
        capture_output=True, text=True, timeout=120,
    )
    results = json.loads((tmp_path / "latest" / "results.json").read_text())
    return proc, results


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_results_carry_metadata_verdicts_and_pcaps(tmp_path, workers):
    proc, results = run_suite(tmp_path, *workers)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    got = {c["id"]: c["outcome"] for c in results["cases"]}
    assert got == EXPECTED
    run = results["run"]
    for key in ("started", "finished", "command_line", "suite_version", "sysctls"):
        assert run[key], key
    assert run["sut"]["kind"] == "netns" and run["sut"]["kernel"]
    assert run["sysctls"]["net.ipv4.conf.all.rp_filter"] == "0"
    for c in results["cases"]:
        assert c.keys() >= FIELDS
        assert c["duration_ms"] > 0
    by_id = {c["id"]: c for c in results["cases"]}
    assert "type=42" in by_id["ICMP-DATA-FAIL"]["message"]
    assert by_id["ICMP-DATA-INCONCLUSIVE"]["message"] == "the environment cannot establish this"
    assert by_id["ICMP-DATA-MAY-ABSENT"]["message"].startswith("the SUT does not implement this MAY: no frame like")
    assert by_id["ICMP-DATA-OPTIONAL-ABSENT"]["message"] == "the SUT does not offer the optional feature"
    assert "declares none" in by_id["ICMP-DATA-UNDECLARED-ABSENT"]["message"]
    assert results["summary"]["by_level"]["MAY"]["not-implemented"] == 1
    assert results["summary"]["by_level"]["MAY"]["fail"] == 0
    assert "Timeout" in by_id["ARP-DATA-HANG"]["message"]
    assert by_id["ARP-DATA-HANG"]["frames"], "a timed-out case still reports the frames it saw"
    passed = by_id["ICMP-DATA-PASS"]
    packets = pcap.read(tmp_path / "latest" / passed["pcap"])
    assert [p.direction for p in packets].count("out") >= 1 and [p.direction for p in packets].count("in") >= 1
    assert len(packets) == len(passed["frames"])
    assert "INCONCLUSIVE" in proc.stdout or "inconclusive" in proc.stdout
