"""Runs' report directories: a killed run's unfinished directory is found and removed, and
nothing else is; hanging commands are killed with everything they started."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import runs


def make_dir(report_dir, name, owner=None, results=False):
    d = report_dir / name
    (d / "pcap").mkdir(parents=True)
    (d / "pcap" / "X.pcapng").write_bytes(b"\0")
    if owner is not None:
        (d / runs.OWNER_FILE).write_text(owner + "\n")
    if results:
        (d / "results.json").write_text("{}")
    return d


def dead_owner():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{proc.pid}:0"  # a pid that has exited (and a start time no process has)


def test_only_unfinished_directories_of_dead_runs_are_stale(tmp_path):
    killed = make_dir(tmp_path, "20260101-000000-aaaa", owner=dead_owner())
    old_suite = make_dir(tmp_path, "20260101-000001-bbbb")
    alive = make_dir(tmp_path, "20260101-000002-cccc", owner=runs.owner_token(os.getpid()))
    finished = make_dir(tmp_path, "20260101-000003-dddd", owner=dead_owner(), results=True)
    interrupted = make_dir(tmp_path, "20260101-000004-eeee", results=True)
    not_a_run = make_dir(tmp_path, "my-notes")
    assert runs.stale_run_dirs(tmp_path) == [killed, old_suite]
    assert runs.clean_run_dirs(tmp_path) == [killed, old_suite]
    assert not killed.exists() and not old_suite.exists()
    for kept in (alive, finished, interrupted, not_a_run):
        assert kept.exists()


def test_claiming_refuses_a_file_and_an_unwritable_place(tmp_path):
    afile = tmp_path / "f"
    afile.write_text("x")
    with pytest.raises(runs.RunDirError, match="is a file, not a directory"):
        runs.claim_run_dir(afile, afile / "20260101-000000-aaaa")
    with pytest.raises(runs.RunDirError, match="cannot write reports under /proc/foo"):
        runs.claim_run_dir(Path("/proc/foo"), Path("/proc/foo/20260101-000000-aaaa"))
    run_dir = tmp_path / "reports" / "20260101-000000-aaaa"
    runs.claim_run_dir(tmp_path / "reports", run_dir)
    assert runs.stale_run_dirs(tmp_path / "reports") == [], "a live run's directory is its own"
    runs.release_run_dir(run_dir)
    runs.drop_unused_run_dir(run_dir)
    assert not run_dir.exists(), "a run that wrote nothing leaves nothing"


def test_last_lines_keep_a_caret_with_the_lines_above_it():
    out = "nft: syntax error, unexpected junk\nadd rule inet t c junk\n                    ^^^^\n\n"
    assert runs.last_lines(out, 2) == "add rule inet t c junk\n                    ^^^^"


def test_a_command_that_hangs_is_killed_with_its_background_children(monkeypatch):
    """run_command's timeout kills the whole process group, so a child holding the pipe cannot
    keep the run waiting (the namespace is irrelevant here: this thread's own is used)."""

    class Here:
        def entered(self):
            import contextlib

            return contextlib.nullcontext()

    marker = f"conformance-test-{os.getpid()}-{time.monotonic_ns()}"
    start = time.monotonic()
    sleeper = f"{sys.executable} -c 'import time; time.sleep(60)' {marker}"
    code, out = runs.run_command(Here(), f"echo started; {sleeper} & echo more", timeout=0.5)
    assert time.monotonic() - start < 5
    assert code == -9 and "started" in out and "kept its output open" in out
    time.sleep(0.1)
    leftover = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    assert leftover == "", "the background child was killed too"
