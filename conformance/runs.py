"""Runs: their ids, their report directories, and finding what a killed run left behind.

The namespaces the suite makes are anonymous and held by fds, so they vanish with the process
that made them. What can outlive a SIGKILL is a process the suite started inside one of them
(a profile command, a SUT daemon): it keeps its namespace alive. Every such process carries
CONFORMANCE_OWNER=<pid>:<start time> of the run that started it in its environment; `clean`
finds those whose owner is gone and kills them, and leaves alone those of runs still alive.

A run's directory (reports/<run-id>/) holds a `.owner` file with the same token from the moment
the run starts until its results.json is written. A directory without results.json whose
owner is gone is what a killed run left (pcaps and nothing else); `clean` removes it. A
directory with results.json, an interrupted run's included, is never touched.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from conformance.netns import Namespace

OWNER_VAR = "CONFORMANCE_OWNER"
OWNER_FILE = ".owner"
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")


class RunDirError(OSError):
    """The report directory cannot hold a run; one sentence for the user."""


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: with the pid, a unique identity."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_token(pid: int | None = None) -> str:
    """This run's identity. Under xdist the controller's, so workers' children share it."""
    inherited = os.environ.get(OWNER_VAR)
    if pid is None and inherited:
        return inherited
    pid = pid or os.getpid()
    return f"{pid}:{_start_time(pid)}"


def owner_alive(token: str) -> bool:
    pid_text, _, start = token.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return _start_time(pid) == start


def spawn(ns: Namespace, argv: Sequence[str], **kw: object) -> subprocess.Popen[bytes]:
    """Start a process inside `ns`, marked as this run's so that `clean` can find it."""
    env = dict(os.environ)
    env[OWNER_VAR] = owner_token()
    with ns.entered():  # a forked child inherits the forking thread's namespace
        return subprocess.Popen(list(argv), env=env, start_new_session=True, **kw)  # type: ignore[call-overload,no-any-return]


def run_command(ns: Namespace, command: str, timeout: float = 10.0) -> tuple[int, str]:
    """Run a shell command inside `ns` and wait for it: (exit status, what it printed).

    A command that does not finish in time is killed with everything it started (its process
    group: a background child holding the output pipe would otherwise keep us waiting) and
    reported as status -9. A command that exits while a background child of its own still
    holds the pipe is not waited for beyond `timeout` either."""
    proc = spawn(ns, ["/bin/sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        exited = proc.poll() is not None
        _kill_group(proc.pid)
        try:
            out, _ = proc.communicate(timeout=2.0)
        except subprocess.TimeoutExpired:  # a child that left the group still holds the pipe
            out = b""
        why = ("the command exited, but a process it left in the background kept its output open"
               if exited else "the command did not finish")
        return -9, out.decode(errors="replace").rstrip() + f"\n({why}; killed with its process group after {timeout:g} s)"
    return proc.returncode, out.decode(errors="replace")


def _kill_group(pgid: int) -> None:
    """SIGKILL a process group started with start_new_session (its leader's pid is its id)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def last_lines(output: str, n: int = 6) -> str:
    """The end of what a command printed, as lines (a syntax error's caret needs the lines above)."""
    lines = [line.rstrip() for line in output.strip().splitlines()]
    return "\n".join(lines[-n:])


@dataclass(frozen=True)
class Leftover:
    pid: int
    owner: str
    command: str


def find_leftovers() -> list[Leftover]:
    """Processes started by runs whose owner is no longer alive."""
    found = []
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or entry == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        for var in env:
            if var.startswith(OWNER_VAR.encode() + b"="):
                token = var.split(b"=", 1)[1].decode()
                if not owner_alive(token) and not _is_run_process(int(entry), token):
                    found.append(Leftover(int(entry), token, cmd))
                break
    return found


def _is_run_process(pid: int, token: str) -> bool:
    # xdist workers inherit the owner variable; their own pid is the owner of nothing.
    return token.partition(":")[0] == str(pid)


def clean(timeout: float = 2.0) -> list[Leftover]:
    """Kill the leftovers of dead runs; their namespaces go with them. Returns what was found."""
    found = find_leftovers()
    for item in found:
        try:
            os.kill(item.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{i.pid}/stat") and _start_time(i.pid) for i in found):
        time.sleep(0.01)
    return found


def claim_run_dir(report_dir: Path, run_dir: Path) -> None:
    """Create the run's directory and mark it as this run's, before any case runs."""
    if report_dir.exists() and not report_dir.is_dir():
        raise RunDirError(f"--report-dir {report_dir} is a file, not a directory")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / OWNER_FILE).write_text(owner_token() + "\n")
    except OSError as exc:
        raise RunDirError(f"cannot write reports under {report_dir}: {exc.strerror or exc}") from None


def release_run_dir(run_dir: Path) -> None:
    """The run's results.json is written: the directory is complete and no longer owned."""
    try:
        (run_dir / OWNER_FILE).unlink()
    except FileNotFoundError:
        pass


def drop_unused_run_dir(run_dir: Path) -> None:
    """A run that ends before any case wrote anything leaves no directory behind."""
    try:
        if {p.name for p in run_dir.iterdir()} <= {OWNER_FILE}:
            shutil.rmtree(run_dir, ignore_errors=True)
    except OSError:
        pass


def stale_run_dirs(report_dir: Path) -> list[Path]:
    """Run directories that a killed run left: no results.json, and no live owner."""
    if not report_dir.is_dir():
        return []
    found = []
    for path in sorted(report_dir.iterdir()):
        if not RUN_ID.match(path.name) or path.is_symlink() or not path.is_dir():
            continue
        if (path / "results.json").exists():
            continue
        try:
            token = (path / OWNER_FILE).read_text().strip()
        except FileNotFoundError:
            token = ""  # left by a suite from before the owner file, or emptied by hand
        except OSError:
            continue
        if token and owner_alive(token):
            continue
        found.append(path)
    return found


def clean_run_dirs(report_dir: Path) -> list[Path]:
    """Remove what stale_run_dirs finds; returns the directories removed."""
    removed = []
    for path in stale_run_dirs(report_dir):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed
