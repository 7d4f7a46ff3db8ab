"""Without the privilege to build namespaces: the suite says so and exits 2; the project's own
tests still run, and the privileged ones report themselves skipped with the reason."""

import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux) to drop capabilities")
# Stay uid 0 (the interpreter may live under /root) but with no capabilities at all.
DROP = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]
SENTENCE = "the suite needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN); run it with sudo"


def unprivileged(*argv):
    return subprocess.run([*DROP, sys.executable, *argv], capture_output=True, text=True, timeout=120)


def test_conformance_run_exits_2_with_one_sentence():
    done = unprivileged("-m", "conformance.cli", "run", "--case", "ARP-REPLY-UNICAST")
    assert done.returncode == 2
    assert SENTENCE in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_pytest_on_the_cases_exits_2():
    done = unprivileged("-m", "pytest", "cases/arp/test_reply.py", "-q")
    assert done.returncode == 2
    assert SENTENCE in done.stdout + done.stderr


def test_unit_tests_run_and_root_tests_skip_with_the_reason():
    done = unprivileged("-m", "pytest", "tests/unit/test_match.py", "tests/integration/test_wire.py", "-q", "-rs")
    assert done.returncode == 0, done.stdout
    assert " passed" in done.stdout and " skipped" in done.stdout
    assert SENTENCE in done.stdout


def test_pytest_on_the_cases_under_xdist_exits_2_too():
    done = unprivileged("-m", "pytest", "cases/arp/test_reply.py", "-q", "-n", "2")
    assert done.returncode == 2
    assert SENTENCE in done.stderr
