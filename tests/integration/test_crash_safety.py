"""Runs killed with SIGKILL at random moments leave nothing that `conformance clean` does not
remove, and a second run started right after is not disturbed by the first's leftovers."""

import os
import random
import signal
import subprocess
import sys
import time

from conformance import runs
from tests.integration import rootns

TRIALS = int(os.environ.get("CONFORMANCE_CRASH_TRIALS", "20"))


def test_random_sigkills_leave_only_what_clean_removes(tmp_path):
    profile = tmp_path / "slow-command.toml"
    # A profile command makes every case start a process in its SUT namespace: the one kind of
    # resource that can outlive the run. It is short, so kills land before, during and after it.
    profile.write_text('description = "a command per case"\ncommands = ["sleep 0.02"]\n')
    before = rootns.snapshot()
    rng = random.Random(int(os.environ.get("CONFORMANCE_CRASH_SEED", "4")))
    env = {k: v for k, v in os.environ.items() if k != runs.OWNER_VAR}
    for trial in range(TRIALS):
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "cases/arp", "--sut-profile", str(profile), "--report-dir", str(tmp_path / "r"), "-q"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = subprocess.run([sys.executable, "-m", "conformance.cli", "clean"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert runs.find_leftovers() == [], f"trial {trial}: leftovers survived clean"
    assert rootns.differences(before, rootns.snapshot()) == []
