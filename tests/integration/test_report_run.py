"""A real run under xdist renders its report files, and --baseline decides its exit status."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance import pcap
from conformance.report.model import read_results

DATA = Path(__file__).parent / "data" / "verdict_cases.py"
DEVIATIONS = {"ICMP-DATA-FAIL": "fail", "ICMP-DATA-INCONCLUSIVE": "inconclusive", "ICMP-DATA-ERROR": "error",
              "ICMP-DATA-SKIP": "skip", "ARP-DATA-HANG": "error", "ICMP-DATA-UNDECLARED-ABSENT": "error"}


def baseline(path, entries):
    path.write_text("".join(f'[[deviation]]\nid = "{i}"\nverdict = "{v}"\nrfc = "RFC 792 Echo"\nreason = "made to {v}"\n\n'
                            for i, v in entries.items()))
    return path


def run(tmp_path, *extra):
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(DATA), "--report-dir", str(tmp_path / "reports"), "--case-timeout", "2",
         "-q", "-p", "no:cacheprovider", *extra],
        capture_output=True, text=True, timeout=180, check=False,
    )


@pytest.mark.root
def test_run_writes_report_files_and_matches_its_baseline(tmp_path):
    proc = run(tmp_path, "-n", "2", "--baseline", str(baseline(tmp_path / "b.toml", DEVIATIONS)))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "every verdict matches" in proc.stdout
    run_dir = (tmp_path / "reports" / "latest").resolve()
    results = read_results(run_dir / "results.json")
    assert results["run"]["baseline"]["differences"] == 0
    assert all(c["baseline"]["match"] for c in results["cases"])

    page = (run_dir / "index.html").read_text()
    data = json.loads(page[page.index('id="report-data">') + len('id="report-data">'):].split("</script>", 1)[0])
    assert len(data["cases"]) == len(results["cases"]) == 9
    assert sum(1 for c in data["cases"] if c.get("st") == "known") >= 3
    assert page.count('class="kd">known deviation<') >= 3
    suites = ET.parse(run_dir / "junit.xml").getroot()
    assert sorted(tc.get("name").split()[0] for tc in suites.iter("testcase")) == sorted(c["id"] for c in results["cases"])
    assert suites.get("failures") == "0" and suites.get("errors") == "0", "a run that matches its baseline is green in CI"
    assert len(suites.findall(".//skipped[@type='known deviation']")) == sum(
        1 for c in results["cases"] if c["baseline"]["deviation"] and c["outcome"] != "pass")
    merged = pcap.read(run_dir / "run.pcapng")
    per_case = sum(len(pcap.read(run_dir / c["pcap"])) for c in results["cases"] if c["pcap"])
    assert len(merged) == per_case > 0


@pytest.mark.root
def test_each_difference_from_the_baseline_is_printed_and_fails_the_run(tmp_path):
    entries = dict(DEVIATIONS)
    del entries["ICMP-DATA-SKIP"]  # a skip the SUT's capabilities do not explain
    entries["ICMP-DATA-PASS"] = "fail"  # a deviation that is fixed
    proc = run(tmp_path, "--baseline", str(baseline(tmp_path / "b.toml", entries)))
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "2 difference(s)" in proc.stdout
    assert "ICMP-DATA-PASS: expected fail, got pass" in proc.stdout
    assert "ICMP-DATA-SKIP: expected pass, got skip" in proc.stdout


@pytest.mark.root
def test_a_bad_baseline_stops_the_run_before_it_starts(tmp_path):
    bad = tmp_path / "b.toml"
    bad.write_text('[[deviation]]\nid = "ICMP-DATA-FAIL"\nverdict = "failed"\nrfc = "x"\nreason = "y"\n')
    proc = run(tmp_path, "--baseline", str(bad))
    assert proc.returncode == 2
    assert f"{bad} line 3: verdict 'failed' is not one of pass, fail, skip, inconclusive, error" in proc.stderr + proc.stdout
    assert not (tmp_path / "reports").exists()
