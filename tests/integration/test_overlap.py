"""Cases that declare a wait run in a fork of their xdist worker while the worker goes on
(conformance.overlap): every verdict reaches the report as if the worker had run the case, a
child that dies or hangs makes its case an ERROR that says so, and an interrupted run leaves
the case INCONCLUSIVE and no process behind."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conformance import runs

DATA = Path(__file__).parent / "data" / "overlap_cases.py"


def start(tmp_path, *options):
    env = {**os.environ, "OVERLAP_DIR": str(tmp_path)}
    env.pop(runs.OWNER_VAR, None)
    return subprocess.Popen([sys.executable, "-m", "pytest", str(DATA), "--report-dir", str(tmp_path / "reports"), "-q",
                             "-p", "no:cacheprovider", *options],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run(tmp_path, *options):
    proc = start(tmp_path, *options)
    out, _ = proc.communicate(timeout=120)
    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    return out, {c["id"]: c for c in results["cases"]}


def pids(tmp_path, name):
    pid, parent = (tmp_path / name).read_text().split()
    return int(pid), int(parent)


def test_timer_bound_cases_run_in_forks_of_the_worker_and_report_as_usual(tmp_path):
    out, cases = run(tmp_path, "-n", "1", "-k", "not hangs")
    # One worker, and each of the two cases waits until the other has started: only overlapping
    # lets both pass.
    assert cases["UDP-OVERLAP-FIRST"]["outcome"] == "pass", out
    assert cases["UDP-OVERLAP-SECOND"]["outcome"] == "pass", out
    worker, _ = pids(tmp_path, "plain")
    assert pids(tmp_path, "first")[1] == worker, "a timer-bound case runs in a child of its worker"
    assert cases["UDP-OVERLAP-FAILS"]["outcome"] == "fail"
    assert cases["UDP-OVERLAP-FAILS"]["message"] == "AssertionError: the requirement was not met"
    assert cases["UDP-OVERLAP-INCONCLUSIVE"]["outcome"] == "inconclusive"
    assert cases["UDP-OVERLAP-INCONCLUSIVE"]["message"] == "the conditions could not be established"
    assert cases["UDP-OVERLAP-DIES"]["outcome"] == "error"
    assert "its process ended (exit status 3) before the case finished" in cases["UDP-OVERLAP-DIES"]["message"]
    assert cases["UDP-OVERLAP-PLAIN"]["outcome"] == "pass"
    assert {c["worker"] for c in cases.values()} == {"gw0"}
    # A session fixture is finalized by the process that set it up, once: the worker for its own
    # cases, the fork of the first case for the copy it set up itself.
    assert sorted((tmp_path / "finalized").read_text().split()) == sorted([str(worker), str(pids(tmp_path, "first")[0])])


def test_no_overlap_runs_them_in_the_worker(tmp_path):
    _, cases = run(tmp_path, "-n", "1", "--no-overlap", "-k", "fails or plain")
    assert cases["UDP-OVERLAP-FAILS"]["outcome"] == "fail"
    assert pids(tmp_path, "fails")[0] == pids(tmp_path, "plain")[0]


def test_a_child_that_outlives_its_timeout_is_killed_and_its_case_is_an_error(tmp_path):
    started = time.monotonic()
    out, cases = run(tmp_path, "-n", "1", "-k", "hangs or plain", "--case-timeout", "1")
    hung = cases["UDP-OVERLAP-HANGS"]
    assert hung["outcome"] == "error", out
    assert "past its 1 s timeout" in hung["message"] and "it was killed" in hung["message"]
    assert time.monotonic() - started < 60, "the run did not stall"
    assert not Path(f"/proc/{pids(tmp_path, 'hangs')[0]}").exists()


def test_an_interrupted_run_leaves_the_case_inconclusive_and_no_child_behind(tmp_path):
    proc = start(tmp_path, "-n", "1", "-k", "hangs or plain", "--case-timeout", "120")
    deadline = time.monotonic() + 60
    while not (tmp_path / "hangs").exists():
        assert time.monotonic() < deadline, "the case never started"
        time.sleep(0.02)
    child, _ = pids(tmp_path, "hangs")
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out
    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    cases = {c["id"]: c for c in results["cases"]}
    assert results["run"]["complete"] is False
    assert cases["UDP-OVERLAP-HANGS"]["outcome"] == "inconclusive", cases["UDP-OVERLAP-HANGS"]
    assert "interrupted" in cases["UDP-OVERLAP-HANGS"]["message"]
    deadline = time.monotonic() + 15
    while Path(f"/proc/{child}").exists():
        assert time.monotonic() < deadline, "the case's process outlived the run"
        time.sleep(0.05)
