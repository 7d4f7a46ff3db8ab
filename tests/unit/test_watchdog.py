"""The controller's watchdog kills a worker whose case ran past its timeout plus the grace, and
leaves alone workers that are within their time or idle."""

import json
import subprocess
import sys
import time
from types import SimpleNamespace

from conformance import watchdog


def beat(directory, worker, pid, started, timeout=1.0, nodeid="cases/x.py::test_x"):
    (directory / f"{worker}.json").write_text(json.dumps({"pid": pid, "nodeid": nodeid, "started": started,
                                                          "timeout": timeout}))


def test_an_overdue_worker_is_killed_and_the_reason_kept(tmp_path):
    stuck = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    busy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dog = watchdog.Watchdog(SimpleNamespace(stash={}), tmp_path)
        now = time.time()
        beat(tmp_path, "gw0", stuck.pid, now - 1.0 - watchdog.GRACE_S - 0.1, nodeid="cases/x.py::test_stuck")
        beat(tmp_path, "gw1", busy.pid, now - 1.0, nodeid="cases/x.py::test_busy")
        (tmp_path / "gw2.json").write_text("{}")  # idle between cases
        dog.check(now)
        assert stuck.wait(timeout=5) == -9
        assert busy.poll() is None, "a case within its timeout and grace is left alone"
        assert list(dog.killed) == ["cases/x.py::test_stuck"]
        assert "past its 1 s timeout" in dog.killed["cases/x.py::test_stuck"]
        assert f"pid {stuck.pid}" in dog.killed["cases/x.py::test_stuck"]
    finally:
        for proc in (stuck, busy):
            proc.kill()
            proc.wait()
