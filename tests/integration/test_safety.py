"""Safety under interruption and bad input: an unfinished case is never PASS, SIGTERM ends a
run as Ctrl-C does, a frozen worker is killed by the controller's watchdog, host-wide sysctls are
never touched, hanging profile commands are killed, and bad selections are one sentence."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import runs

DATA = Path(__file__).parent / "data"
CASES = Path(__file__).parents[2] / "cases"


def start(tmp_path, *options, data="interrupt_cases.py"):
    env = {**os.environ, "SAFETY_MARKER": str(tmp_path / "marker")}
    env.pop(runs.OWNER_VAR, None)
    return subprocess.Popen([sys.executable, "-m", "pytest", str(DATA / data), "--report-dir", str(tmp_path / "reports"),
                             "-q", "-p", "no:cacheprovider", *options],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def results_of(tmp_path):
    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    return results, {c["id"]: c for c in results["cases"]}


def wait_for(path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_case_is_never_recorded_as_a_pass(tmp_path, sig, workers):
    """Ctrl-C or a CI cancellation (SIGTERM) mid-case: the run tears down, writes what finished,
    and the case it cut off is INCONCLUSIVE, never PASS."""
    proc = start(tmp_path, "-k", "answered or blocks", "--case-timeout", "120", "-p", "no:randomly", *workers)
    wait_for(tmp_path / "marker")
    time.sleep(0.2)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out
    results, cases = results_of(tmp_path)
    assert results["run"]["complete"] is False
    assert cases["ARP-DATA-BLOCKS"]["outcome"] == "inconclusive", cases["ARP-DATA-BLOCKS"]
    assert "interrupted" in cases["ARP-DATA-BLOCKS"]["message"]
    assert cases["ICMP-DATA-ANSWERED"]["outcome"] == "pass", "what finished before the signal is written"
    assert not (tmp_path / "reports" / "latest" / runs.OWNER_FILE).exists(), "the written run is released"


def test_a_frozen_worker_is_killed_by_the_controllers_watchdog(tmp_path):
    """A worker that stops (here: SIGSTOP) cannot run pytest-timeout's handler; the controller
    kills it after the case timeout plus the grace, the case is ERROR, and the run goes on."""
    from conformance.watchdog import GRACE_S

    started = time.monotonic()
    proc = start(tmp_path, "-k", "answered or freezes", "--case-timeout", "1", "-n", "2")
    out, _ = proc.communicate(timeout=120)
    assert time.monotonic() - started < 30 + GRACE_S, "the run did not stall"
    _, cases = results_of(tmp_path)
    frozen = cases["ARP-DATA-FREEZES"]
    assert frozen["outcome"] == "error", out
    assert "the watchdog killed the worker" in frozen["message"]
    assert cases["ICMP-DATA-ANSWERED"]["outcome"] == "pass"


def read_sysctl(key):
    return Path("/proc/sys/" + key.replace(".", "/")).read_text().strip()


def conformance(*argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "conformance.cli", *argv], capture_output=True, text=True,
                          timeout=timeout, cwd=CASES.parent)


def test_host_wide_sysctls_are_refused_and_left_unchanged(tmp_path):
    before = read_sysctl("kernel.printk_ratelimit")
    other = str(int(before) + 1)
    profile = tmp_path / "p.toml"
    profile.write_text(f'[sysctls]\n"kernel.printk_ratelimit" = {other}\n')
    for options in (["--sut-sysctl", f"kernel.printk_ratelimit={other}"], ["--sut-profile", str(profile)]):
        done = conformance("run", "--case", "ARP-REPLY-UNICAST", "--report-dir", str(tmp_path), *options)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "kernel.printk_ratelimit is not a network-namespace sysctl" in done.stderr
        assert read_sysctl("kernel.printk_ratelimit") == before
    direct = subprocess.run([sys.executable, "-m", "pytest", str(CASES), "--case", "ARP-REPLY-UNICAST", "--sut-sysctl",
                             f"kernel.printk_ratelimit={other}", "--report-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert direct.returncode == 2 and "not a network-namespace sysctl" in direct.stdout + direct.stderr
    assert read_sysctl("kernel.printk_ratelimit") == before


@pytest.mark.parametrize(("command", "said"), [
    ("sleep 600", []),
    ("echo started; sleep 600 & echo more", ["started", "more", "kept its output open"]),
])
def test_a_hanging_profile_command_is_killed_with_its_children(tmp_path, command, said):
    profile = tmp_path / "hang.toml"
    profile.write_text(f'commands = ["{command}"]\n')
    started = time.monotonic()
    done = conformance("run", "--case", "ARP-REPLY-UNICAST", "--sut-profile", str(profile), "--report-dir", str(tmp_path))
    assert time.monotonic() - started < 30
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"hang.toml, line 1: command timed out after 10 s and was killed with its children: {command}" in done.stderr
    for text in said:
        assert text in done.stderr
    leftovers = [p for p in runs.find_leftovers() if "sleep 600" in p.command]
    assert leftovers == [], "nothing the command started outlives it"


def test_a_failing_profile_command_shows_its_last_lines(tmp_path):
    profile = tmp_path / "fail.toml"
    profile.write_text('commands = ["printf \'syntax error, unexpected junk\\\\nadd rule x junk\\\\n          ^^^^\\\\n\'; exit 1"]\n')
    done = conformance("run", "--case", "ARP-REPLY-UNICAST", "--sut-profile", str(profile), "--report-dir", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert "command failed with status 1" in lines[0]
    assert [line.strip() for line in lines[1:]] == ["syntax error, unexpected junk", "add rule x junk", "^^^^"]


def test_a_profile_sysctl_that_names_an_interface_is_applied_to_it(tmp_path):
    """net.ipv4.conf.eth0.arp_ignore = 8 (ignore every ARP request) reaches the SUT's eth0, so
    the ARP reply case fails; a key for eth1 (routers only) is accepted too."""
    profile = tmp_path / "iface.toml"
    profile.write_text('[sysctls]\n"net.ipv4.conf.eth0.arp_ignore" = 8\n"net.ipv4.conf.eth1.rp_filter" = 1\n')
    done = conformance("run", "--case", "ARP-REPLY-UNICAST", "--sut-profile", str(profile), "--report-dir", str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL" in done.stdout and "ARP-REPLY-UNICAST" in done.stdout


def test_an_unknown_case_id_under_xdist_is_one_sentence(tmp_path):
    done = conformance("run", "-n", "2", "--case", "NO-SUCH-CASE", "--report-dir", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "INTERNALERROR" not in done.stdout + done.stderr
    assert "no case has the id 'NO-SUCH-CASE'" in done.stderr
    assert not [d for d in tmp_path.iterdir() if runs.RUN_ID.match(d.name)], "a refused run leaves no directory"


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_report_dir_that_cannot_hold_reports_is_one_sentence(tmp_path, workers):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for where, sentence in ((afile, "is a file, not a directory"), (Path("/proc/foo"), "cannot write reports under /proc/foo")):
        done = subprocess.run([sys.executable, "-m", "pytest", str(CASES), "--case", "ARP-REPLY-UNICAST", "--report-dir",
                               str(where), *workers], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stdout + done.stderr
        assert sentence in done.stdout + done.stderr
        assert "INTERNALERROR" not in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr
