"""Runs: their ids, and finding what a killed run left behind.

The namespaces the suite makes are anonymous and held by fds, so they vanish with the process
that made them. What can outlive a SIGKILL is a process the suite started inside one of them
(a profile command, a SUT daemon): it keeps its namespace alive. Every such process carries
CONFORMANCE_OWNER=<pid>:<start time> of the run that started it in its environment; `clean`
finds those whose owner is gone and kills them, and leaves alone those of runs still alive.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from conformance.netns import Namespace

OWNER_VAR = "CONFORMANCE_OWNER"


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
    A command that does not finish in time is killed and reported as status -9."""
    proc = spawn(ns, ["/bin/sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return -9, out.decode(errors="replace") + f"\n(killed after {timeout:g} s)"
    return proc.returncode, out.decode(errors="replace")


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
