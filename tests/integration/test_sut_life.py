"""An external SUT that dies: the console says so at once with the signal's name, the case it
died in is blamed, the rest are INCONCLUSIVE (or, with --sut-restart, run on a restarted SUT),
and the SUT's output is kept in the run's directory."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
STACK = f"{sys.executable} {DATA / 'fragile_stack.py'} {{tap}} 198.18.0.1 02:00:00:00:01:01"


def run(tmp_path, *extra):
    done = subprocess.run([sys.executable, "-m", "pytest", str(DATA / "life_cases.py"), "--report-dir", str(tmp_path),
                           "-p", "no:randomly", "--sut", "tap", "--sut-command", STACK, "--sut-ip", "198.18.0.1",
                           "--tester-ip", "198.18.0.2", *extra], capture_output=True, text=True, timeout=120)
    results = json.loads((tmp_path / "latest" / "results.json").read_text())
    return done, results, {c["id"]: c for c in results["cases"]}


def test_a_dying_sut_is_announced_blamed_and_its_output_kept(tmp_path):
    done, results, cases = run(tmp_path)
    out = done.stdout + done.stderr
    assert "THE SUT DIED: the SUT process exited with SIGBUS (status -7)" in out, out[-2000:]
    assert cases["ICMP-LIFE-A-ANSWERS"]["outcome"] == "pass"
    killed = cases["ICMP-LIFE-B-KILLS"]
    assert killed["outcome"] == "fail"
    assert killed["message"].startswith("the SUT died during this case: the SUT process exited with SIGBUS (status -7)")
    assert "fatal input: echo id 0xdead" in killed["message"], "its last words on stderr"
    after = cases["ICMP-LIFE-C-AFTER"]
    assert after["outcome"] == "inconclusive" and "SIGBUS" in after["message"]
    attachment = results["run"]["sut"]["attachment"]
    assert attachment["outputs"] == ["sut-stdout.log", "sut-stderr.log"]
    run_dir = (tmp_path / "latest").resolve()
    assert "fragile stack up on cftap0" in (run_dir / "sut-stdout.log").read_text()
    assert "fatal input" in (run_dir / "sut-stderr.log").read_text()
    assert any(line.startswith("died: ") for line in attachment["log"])
    assert 'href="sut-stderr.log"' in (run_dir / "index.html").read_text(), "the report links the SUT's output"


def test_with_restart_the_run_goes_on_and_every_death_is_reported(tmp_path):
    done, results, cases = run(tmp_path, "--sut-restart")
    out = done.stdout + done.stderr
    assert "THE SUT DIED" in out and "the SUT was restarted" in out
    assert cases["ICMP-LIFE-B-KILLS"]["outcome"] == "fail"
    assert cases["ICMP-LIFE-C-AFTER"]["outcome"] == "pass", cases["ICMP-LIFE-C-AFTER"]["message"]
    log = results["run"]["sut"]["attachment"]["log"]
    assert [entry.split(":")[0] for entry in log if entry.startswith(("died", "restarted", "started"))] == [
        "started the SUT", "died", "started the SUT", "restarted"]


@pytest.mark.parametrize("flag", ["--sut-restart"])
def test_restart_is_refused_for_the_local_kernel(flag):
    done = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--case", "ARP-REPLY-UNICAST", flag],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--sut-restart is for an external SUT" in done.stderr
