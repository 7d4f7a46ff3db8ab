"""N shards of a real selection, run one after another as N CI machines would, merged: the same
verdict for every case as the whole selection run at once, and the shards gate on the baseline."""

import subprocess
import sys
from pathlib import Path

import pytest

from conformance.report.model import case_key, read_results

REPO = Path(__file__).resolve().parents[2]
SELECTION = ["--protocol", "arp"]  # 41 cases, one parametrized: 44 results, four known deviations


def conformance(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)


def verdicts(run_dir: Path) -> dict[str, str]:
    return {case_key(c): c["outcome"] for c in read_results(run_dir / "results.json")["cases"]}


@pytest.mark.root
def test_shards_merged_equal_the_whole_run(tmp_path):
    reports = tmp_path / "reports"
    baseline = str(REPO / "cases" / "baselines" / "linux")
    whole = conformance("run", *SELECTION, "-n", "2", "--report-dir", str(reports), "--baseline", baseline, "--no-progress")
    assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-2000:]
    whole_dir = (reports / "latest").resolve()

    # Three CI machines: each its own report directory, the durations of the whole run handed to all.
    shard_dirs = []
    for k in (1, 2, 3):
        out = tmp_path / f"machine-{k}"
        proc = conformance("run", *SELECTION, "--shard", f"{k}/3", "--shard-durations", str(whole_dir),
                           "--report-dir", str(out), "--baseline", baseline, "--no-progress", *(["-n", "2"] if k == 2 else []))
        assert proc.returncode == 0, f"shard {k}/3 gates on the baseline alone:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        assert "PASS" not in proc.stdout, "--no-progress prints no line per case"
        shard_dirs.append((out / "latest").resolve())

    shards = [read_results(d / "results.json")["run"]["shard"] for d in shard_dirs]
    assert len({s["digest"] for s in shards}) == 1, "every machine computed the same partition"
    assert all(s["durations_from"] == [str(whole_dir / "results.json")] for s in shards)
    parts = [set(verdicts(d)) for d in shard_dirs]
    assert sum(map(len, parts)) == len(set().union(*parts)) == shards[0]["cases_in_all_shards"], "disjoint and complete"
    planned = [s["planned_ms"] for s in shards]
    longest = max(c["duration_ms"] for c in read_results(whole_dir / "results.json")["cases"])
    assert max(planned) - min(planned) <= longest, f"balanced by the recorded durations: {planned}"

    merged = conformance("merge", *map(str, shard_dirs), "--report-dir", str(tmp_path / "merged"), "--baseline", baseline)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    merged_dir = (tmp_path / "merged" / "latest").resolve()
    assert verdicts(merged_dir) == verdicts(whole_dir)
    results = read_results(merged_dir / "results.json")
    assert results["run"]["complete"] and len(results["run"]["shards"]) == 3
    assert results["run"]["baseline"]["differences"] == 0
    for name in ("index.html", "junit.xml", "run.pcapng"):
        assert (merged_dir / name).stat().st_size > 0, name
    assert all((merged_dir / c["pcap"]).exists() for c in results["cases"] if c["pcap"])

    # Shards of another selection are refused, not silently joined.
    odd = conformance("run", "--protocol", "ethernet", "--shard", "2/3", "--report-dir", str(tmp_path / "odd"), "--no-progress")
    assert odd.returncode in (0, 1), odd.stderr
    refused = conformance("merge", str(shard_dirs[0]), str((tmp_path / "odd" / "latest").resolve()),
                          "--report-dir", str(tmp_path / "refused"))
    assert refused.returncode == 2 and "partition digests differ" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
