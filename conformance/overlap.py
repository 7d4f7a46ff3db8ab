"""Timer-bound cases overlap with the rest of the run: waiting is not work.

A case that declares `waits=` in @case spends most of its time asleep while a kernel timer
runs (a retransmission, a reassembly timeout, a keep-alive). Under xdist, a worker does not
sit through that wait: it forks, the child runs the case exactly as the worker would have (its
own fresh namespaces, its own fixtures, pytest-timeout armed), and the worker goes on with the
next case at once. The child streams its phase reports back through a pipe; the worker logs
them, in its own thread, between two cases and at the end of its session, so the controller
sees the same reports, from the same worker, as without overlapping. With `--shuffle` off,
conformance.ordering hands the timer-bound cases out first, so the run's wall time approaches
max(longest wait, CPU work / workers) instead of the sum of the waits over the workers.

The child is killed with its worker (PR_SET_PDEATHSIG). A child that outlives its case timeout
by the watchdog's grace is killed, and one that dies without finishing makes its case an ERROR
that says so; an interrupted run kills the children and their cases are INCONCLUSIVE, like any
case cut off. A child tears down what it set up for its case and nothing of the worker's: a
session- or module-scoped fixture the worker holds stays the worker's (the suite's fixtures are
per case, but for the session's SUT target).

`--no-overlap` runs the timer-bound cases in their worker, one at a time, as other cases.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import ctypes
import os
import pickle
import select
import signal
import struct
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from conformance.catalog import info_of
from conformance.watchdog import timeout_of

GRACE_S = 5.0  # as the controller's watchdog: pytest-timeout inside the child fires first
MAX_CHILDREN = 32  # per worker; a timer-bound case costs a process, not a core
PR_SET_PDEATHSIG = 1
_FRAME = struct.Struct("=I")
PROP_CASE = "conformance_case"
PROP_VERDICT = "conformance_verdict"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("conformance").addoption(
        "--no-overlap", action="store_true",
        help="under -n, run cases that declare a wait one at a time in their worker instead of in a forked "
        "process of it while the worker goes on with other cases")


def enabled(config: pytest.Config) -> bool:
    """Overlapping happens in xdist workers, unless --no-overlap."""
    return hasattr(config, "workerinput") and not config.getoption("no_overlap", False) and hasattr(os, "fork")


def is_timer_bound(item: pytest.Item) -> bool:
    info = info_of(item)
    return info is not None and bool(info.waits) and item.get_closest_marker("skip") is None


@dataclass
class Child:
    pid: int
    fd: int
    item: pytest.Item
    index: int
    started: float
    timeout: float | None
    buffer: bytes = b""
    reports: list[pytest.TestReport] = field(default_factory=list)
    logged: int = 0  # how many of `reports` the worker has logged
    finished: bool = False
    killed_because: str = ""


class Overlap:
    """The worker's side: forks timer-bound cases and logs their reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.children: dict[int, Child] = {}  # fd -> child
        self.in_child = False
        self._indexes: dict[str, int] = {}

    # --- running ------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        if self.in_child:
            return None
        self.harvest(block=False)  # between two cases: nothing of the worker's own is running
        if not is_timer_bound(item):
            return None
        while len(self.children) >= MAX_CHILDREN:
            self.harvest(block=True, until_one=True)
        self._start(item)
        # What the worker's own protocol would have torn down after this item.
        item.session._setupstate.teardown_exact(nextitem)
        return True

    def _start(self, item: pytest.Item) -> None:
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        factory = getattr(item.config, "_tmp_path_factory", None)
        if factory is not None:
            factory.getbasetemp()  # made once, here: each child would otherwise remove and make it anew
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads; the child uses none of theirs
            pid = os.fork()
        if pid == 0:  # the child
            os.close(read_fd)
            self._run_child(item, write_fd)  # never returns
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self.children[read_fd] = Child(pid, read_fd, item, self._index(item), time.monotonic(), timeout_of(item))

    def _index(self, item: pytest.Item) -> int:
        if not self._indexes:
            self._indexes = {it.nodeid: i for i, it in enumerate(item.session.items)}
        return self._indexes[item.nodeid]

    def _run_child(self, item: pytest.Item, fd: int) -> None:
        code = 0
        try:
            _die_with_parent()
            self.in_child = True
            for child in self.children.values():
                os.close(child.fd)
            self.children = {}
            config = item.config
            pm = config.pluginmanager
            for plugin in [p for p in pm.get_plugins() if type(p).__name__ == "WorkerInteractor"]:
                pm.unregister(plugin)  # its channel belongs to the worker
            watchdog = pm.get_plugin("conformance.watchdog")
            if watchdog is not None:
                pm.unregister(watchdog)  # the worker's heartbeat is the worker's
            _own_capture(config)
            pm.register(_Stream(config, fd), "conformance-overlap-stream")
            # The child tears down what it set up for this case, and nothing the worker set up
            # before it forked (a session's or module's fixtures stay the worker's).
            boundary = _Boundary(list(item.session._setupstate.stack))
            item.ihook.pytest_runtest_protocol(item=item, nextitem=boundary)
        except BaseException:  # whatever happened, the worker must hear of it
            code = 1
            try:
                _write_frame(fd, {"child_error": traceback.format_exc()})
            except OSError:
                pass
        os._exit(code)

    # --- collecting -----------------------------------------------------------------------

    def harvest(self, *, block: bool, until_one: bool = False) -> None:
        """Read what the children sent and log their reports as they come (a long case's setup
        report reaches the controller while the case still runs, so an interrupted run knows it
        was cut off). With `block`, wait until all children (or, with `until_one`, one) finished."""
        while self.children:
            timeout = self._next_deadline() if block else 0.0
            ready, _, _ = select.select(list(self.children), [], [], timeout)
            for fd in ready:
                self._read(self.children[fd])
            self._enforce_timeouts()
            done = [c for c in self.children.values() if c.finished]
            for child in done:
                self._finish(child)
            for child in self.children.values():
                self._log(child)
            if not block or (until_one and done):
                return

    def _next_deadline(self) -> float:
        now = time.monotonic()
        ends = [c.started + c.timeout + GRACE_S - now for c in self.children.values() if c.timeout]
        return max(0.0, min([*ends, 1.0]))

    def _read(self, child: Child) -> None:
        """Take what the child's pipe holds; at its end the child has finished."""
        while True:
            try:
                chunk = os.read(child.fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                child.finished = True
                break
            child.buffer += chunk
        while len(child.buffer) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(child.buffer)
            if len(child.buffer) < _FRAME.size + size:
                break
            data = pickle.loads(child.buffer[_FRAME.size:_FRAME.size + size])
            child.buffer = child.buffer[_FRAME.size + size:]
            if "child_error" in data:
                last = data["child_error"].strip().splitlines()[-1]
                child.killed_because = f"its process failed outside the case: {last}"
            else:
                child.reports.append(self.config.hook.pytest_report_from_serializable(config=self.config, data=data))

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            if child.finished or not child.timeout or now - child.started <= child.timeout + GRACE_S:
                continue
            child.killed_because = (f"it ran {child.timeout + GRACE_S:g} s, past its {child.timeout:g} s timeout, and its "
                                    f"process (pid {child.pid}) no longer responded; it was killed")
            _kill(child.pid)
            child.finished = True

    def _finish(self, child: Child) -> None:
        status = _reap(child.pid)
        self._read(child)  # what a killed child wrote before it died
        del self.children[child.fd]
        os.close(child.fd)
        if not child.killed_because and not any(r.when == "teardown" for r in child.reports):
            child.killed_because = f"its process ended ({_describe(status)}) before the case finished"
        if child.killed_because:
            child.reports.extend(_lost_reports(child, child.killed_because, interrupted=False))
        self._log(child, finished=True)

    def _log(self, child: Child, *, finished: bool = False) -> None:
        """Log the child's new reports as the worker's own (xdist sends each with its item's
        index), and, once the child has finished, the end of its case."""
        if child.logged == len(child.reports) and not finished:
            return
        interactors = [p for p in self.config.pluginmanager.get_plugins() if type(p).__name__ == "WorkerInteractor"]
        saved = [getattr(p, "item_index", None) for p in interactors]
        for p in interactors:
            p.item_index = child.index
        try:
            for report in child.reports[child.logged:]:
                child.item.ihook.pytest_runtest_logreport(report=report)
            child.logged = len(child.reports)
            if finished:
                child.item.ihook.pytest_runtest_logfinish(nodeid=child.item.nodeid, location=child.item.location)
        finally:
            for p, index in zip(interactors, saved, strict=True):
                p.item_index = index

    def stop(self, interrupted: bool) -> None:
        """The session ends: wait for every child, or (interrupted) stop them; log all reports."""
        if not interrupted:
            self.harvest(block=True)
            return
        for child in list(self.children.values()):
            _kill(child.pid)
            _reap(child.pid)
            self._read(child)
            del self.children[child.fd]
            os.close(child.fd)
            why = "the run was interrupted while this case was running; nothing was judged"
            child.reports.extend(_lost_reports(child, why, interrupted=True))
            self._log(child, finished=True)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.in_child:
            self.stop(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)


class _Boundary:
    """Stands for the next item in the child's teardown: its chain is what the worker's stack held
    at the fork, so pytest tears down exactly what the child pushed on top of it."""

    def __init__(self, chain: list[Any]) -> None:
        self._chain = chain

    def listchain(self) -> list[Any]:
        return [*self._chain, self]


class _Stream:
    """In the child: each report goes to the worker the moment it is made."""

    def __init__(self, config: pytest.Config, fd: int) -> None:
        self.config = config
        self.fd = fd

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        _write_frame(self.fd, self.config.hook.pytest_report_to_serializable(config=self.config, report=report))


def _write_frame(fd: int, data: Any) -> None:
    payload = pickle.dumps(data)
    view = memoryview(_FRAME.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view):]


def _lost_reports(child: Child, why: str, *, interrupted: bool) -> list[pytest.TestReport]:
    """The phases a child did not report: an ERROR (or, interrupted, INCONCLUSIVE) that says why."""
    item = child.item
    seen = {r.when for r in child.reports}
    info = info_of(item)
    props: list[tuple[str, Any]] = [(PROP_CASE, info.as_dict())] if info is not None else []
    out = []
    keywords: dict[str, Literal[1]] = dict.fromkeys(item.keywords, 1)
    if "setup" not in seen:
        out.append(pytest.TestReport(item.nodeid, item.location, keywords, "passed", None, "setup",
                                     user_properties=[*props, (PROP_VERDICT, "pass")]))
    if "call" not in seen and not interrupted:  # interrupted: the plugin makes a case without a call INCONCLUSIVE
        out.append(pytest.TestReport(item.nodeid, item.location, keywords, "failed", f"the case did not finish: {why}",
                                     "call", user_properties=[*props, (PROP_VERDICT, "error")]))
    if "teardown" not in seen:
        out.append(pytest.TestReport(item.nodeid, item.location, keywords, "passed", None, "teardown",
                                     user_properties=[*props, (PROP_VERDICT, "pass")]))
    return out


def _own_capture(config: pytest.Config) -> None:
    """The child's output goes to capture files of its own: the worker's are shared by fork, and
    reading them (which truncates) would take the worker's output."""
    capman = config.pluginmanager.get_plugin("capturemanager")
    if capman is not None and getattr(capman, "_global_capturing", None) is not None:
        capman._global_capturing = None
        capman.start_global_capturing()


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the worker died between fork and prctl
        os._exit(1)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return 0


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def pytest_configure(config: pytest.Config) -> None:
    if enabled(config):
        config.pluginmanager.register(Overlap(config), "conformance-overlap")
