"""A run killed with SIGKILL mid-case leaves only what `conformance clean` (or the next run)
removes, and cleaning never touches a run that is still alive."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import runs
from conformance.netns import Namespace

DATA = Path(__file__).parent / "data"


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not alive(pid)


def kill_run_mid_case(tmp_path):
    """Start a run whose case leaves a child in the SUT namespace, and SIGKILL the run. Its
    reports go to tmp_path/reports."""
    pidfile = tmp_path / "child.pid"
    env = {k: v for k, v in os.environ.items() if k != runs.OWNER_VAR}
    env["KILLED_RUN_PIDFILE"] = str(pidfile)
    run = subprocess.Popen([sys.executable, "-m", "pytest", str(DATA / "killed_run_case.py"), "--report-dir",
                            str(tmp_path / "reports"), "-q"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, "the case never started its child"
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.wait()
    child = int(pidfile.read_text())
    assert alive(child), "the child outlives the killed run (that is the leftover)"
    assert os.readlink(f"/proc/{child}/ns/net") != os.readlink("/proc/self/ns/net"), "it holds the SUT namespace"
    return child


@pytest.fixture
def live_child():
    """A process started by this (alive) test run, inside a namespace of its own."""
    ns = Namespace("live")
    proc = runs.spawn(ns, ["sleep", "600"])
    ns.close()
    yield proc.pid
    proc.kill()
    proc.wait()


def test_clean_removes_the_leftovers_of_a_killed_run_only(tmp_path, live_child):
    child = kill_run_mid_case(tmp_path)
    found = [item.pid for item in runs.find_leftovers()]
    assert child in found and live_child not in found
    reports = tmp_path / "reports"
    unfinished = [d for d in reports.iterdir() if runs.RUN_ID.match(d.name)]
    assert len(unfinished) == 1 and not (unfinished[0] / "results.json").exists(), "the killed run left its directory"
    finished = reports / "20260101-000000-abcd"
    finished.mkdir()
    (finished / "results.json").write_text("{}")
    clean = [sys.executable, "-m", "conformance.cli", "clean", "--report-dir", str(reports)]
    done = subprocess.run(clean, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"killed pid {child}" in done.stdout
    assert f"removed {unfinished[0]}/" in done.stdout
    assert wait_gone(child)
    assert not unfinished[0].exists()
    assert finished.exists(), "a finished run's directory is never removed"
    assert alive(live_child), "a live run's process must be left alone"
    again = subprocess.run(clean, capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "nothing to clean"


def test_the_next_run_removes_them_before_its_first_case(tmp_path):
    child = kill_run_mid_case(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != runs.OWNER_VAR}
    subprocess.run([sys.executable, "-m", "pytest", str(DATA / "verdict_cases.py"), "-k", "test_passes", "--no-report", "-q"],
                   env=env, capture_output=True, timeout=60, check=True)
    assert wait_gone(child)
