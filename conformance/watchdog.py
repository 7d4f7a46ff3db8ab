"""The controller's watchdog over xdist workers: the per-case timeout holds even for a worker
that no longer runs Python (stopped, stuck in the kernel, deadlocked), where pytest-timeout's
signal inside the worker cannot fire.

Each worker writes a heartbeat file when a case starts (its pid, the case, its timeout) and
empties it when the case ends. A thread in the controller reads them; a case that has run past
its timeout plus a grace period gets its worker killed (SIGKILL). xdist then reports the case
as crashed, which the plugin records as ERROR with the watchdog's reason, and starts a new
worker for the remaining cases.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

GRACE_S = 5.0  # pytest-timeout in the worker fires first; this is for workers that cannot
POLL_S = 0.5
DIR_KEY = "conformance_heartbeat_dir"


class Watchdog:
    def __init__(self, config: pytest.Config, directory: Path) -> None:
        self.config = config
        self.dir = directory
        self.killed: dict[str, str] = {}  # nodeid -> why its worker was killed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="conformance-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self.check(time.time())

    def check(self, now: float) -> None:
        for beat in self.dir.glob("*.json"):
            try:
                data = json.loads(beat.read_text() or "{}")
            except (OSError, ValueError):
                continue  # being rewritten
            if not data or data.get("nodeid") in self.killed:
                continue
            overdue = now - data["started"] - data["timeout"]
            if overdue > GRACE_S:
                self._kill(beat.stem, data)

    def _kill(self, worker: str, data: dict[str, Any]) -> None:
        why = (f"it ran {data['timeout'] + GRACE_S:g} s, past its {data['timeout']:g} s timeout, and worker {worker} "
               f"(pid {data['pid']}) no longer responded; the watchdog killed the worker")
        self.killed[data["nodeid"]] = why
        self._tell_run(data["nodeid"], why)
        try:
            os.kill(data["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _tell_run(self, nodeid: str, why: str) -> None:
        from conformance.plugin import RUN_KEY

        state = self.config.stash.get(RUN_KEY, None)
        if state is not None:
            state.watchdog_kills[nodeid] = why


WATCHDOG_KEY = pytest.StashKey[Watchdog]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    workers = getattr(config.option, "numprocesses", None)
    if _is_worker(config) or not workers or config.option.collectonly:
        return
    dog = Watchdog(config, Path(tempfile.mkdtemp(prefix="conformance-heartbeat-")))
    config.stash[WATCHDOG_KEY] = dog
    dog.start()
    config.add_cleanup(dog.stop)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
def pytest_configure_node(node: Any) -> None:
    dog = node.config.stash.get(WATCHDOG_KEY, None)
    if dog is not None:
        node.workerinput[DIR_KEY] = str(dog.dir)


def _beat_file(item: pytest.Item) -> Path | None:
    directory = getattr(item.config, "workerinput", {}).get(DIR_KEY)
    if not directory:
        return None
    return Path(directory) / f"{item.config.workerinput['workerid']}.json"  # type: ignore[attr-defined]


def timeout_of(item: pytest.Item) -> float | None:
    """The case's pytest-timeout marker, in seconds (None: no timeout)."""
    marker = item.get_closest_marker("timeout")
    if marker is None:
        return None
    value = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    return float(value) if value else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    beat, timeout = _beat_file(item), timeout_of(item)
    if beat is None or timeout is None:
        return
    data = {"pid": os.getpid(), "nodeid": item.nodeid, "started": time.time(), "timeout": timeout}
    tmp = beat.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, beat)


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    config = _CONFIG.get("config")
    if config is None or not _is_worker(config):
        return
    directory = config.workerinput.get(DIR_KEY)  # type: ignore[attr-defined]
    if directory:
        beat = Path(directory) / f"{config.workerinput['workerid']}.json"  # type: ignore[attr-defined]
        tmp = beat.with_suffix(".tmp")
        tmp.write_text("{}")
        os.replace(tmp, beat)


_CONFIG: dict[str, pytest.Config] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config
