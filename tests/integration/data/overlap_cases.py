"""Cases for tests/integration/test_overlap.py: cases that declare a wait, run by an xdist worker.

$OVERLAP_DIR is where each case leaves a note (its pid and its parent's) and where the first
two wait for each other: with one worker, only overlapping lets both see the other start.
"""

import os
import signal
import time
from pathlib import Path

import pytest

from conformance.catalog import MUST, case
from conformance.verdict import Inconclusive

DIR = Path(os.environ.get("OVERLAP_DIR", "/nonexistent"))


def note(name):
    (DIR / name).write_text(f"{os.getpid()} {os.getppid()}")


def wait_for(name, seconds=3.0):
    deadline = time.monotonic() + seconds
    while not (DIR / name).exists():
        assert time.monotonic() < deadline, f"{name} did not start while this case waited"
        time.sleep(0.01)


@pytest.fixture(scope="session")
def shared():
    """A session's resource: whoever finishes the session finalizes it, and only that process."""
    yield
    with (DIR / "finalized").open("a") as f:
        f.write(f"{os.getpid()}\n")


@case("UDP-OVERLAP-FIRST", rfc=768, section="Fields", level=MUST, layer=4, waits="until UDP-OVERLAP-SECOND starts")
def test_first(shared):
    """Waits until the second case has started."""
    note("first")
    wait_for("second")


@case("UDP-OVERLAP-SECOND", rfc=768, section="Fields", level=MUST, layer=4, waits="until UDP-OVERLAP-FIRST starts")
def test_second():
    """Waits until the first case has started."""
    note("second")
    wait_for("first")


@case("UDP-OVERLAP-FAILS", rfc=768, section="Fields", level=MUST, layer=4, waits="a moment")
def test_fails():
    """Fails after a wait."""
    note("fails")
    time.sleep(0.05)
    raise AssertionError("the requirement was not met")


@case("UDP-OVERLAP-INCONCLUSIVE", rfc=768, section="Fields", level=MUST, layer=4, waits="a moment")
def test_inconclusive():
    """Cannot establish its conditions after a wait."""
    time.sleep(0.05)
    raise Inconclusive("the conditions could not be established")


@case("UDP-OVERLAP-DIES", rfc=768, section="Fields", level=MUST, layer=4, waits="a moment")
def test_dies():
    """Its process ends in the middle of the case."""
    os._exit(3)


@case("UDP-OVERLAP-HANGS", rfc=768, section="Fields", level=MUST, layer=4, waits="forever")
def test_hangs():
    """Blocks the timeout's signal and sleeps: only a kill from outside ends it."""
    note("hangs")
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(600)


@case("UDP-OVERLAP-PLAIN", rfc=768, section="Fields", level=MUST, layer=4)
def test_plain(shared):
    """Declares no wait: runs in the worker itself."""
    note("plain")
