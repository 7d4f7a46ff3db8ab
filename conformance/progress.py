"""`--progress`: one line per finished case with the running counts, and on a terminal a status
line naming the case that is running. `conformance run` turns it on; it works under xdist (the
controller sees every case start and finish). `--no-progress` prints nothing per case (not even
pytest's dots): only the summary at the end (`conformance run --no-progress`).

PYTEST_DONT_REWRITE: a plugin module the CLI may import before pytest loads it.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any

import pytest

PROP_CASE = "conformance_case"
PROP_VERDICT = "conformance_verdict"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--progress", action="store_true", help="print each case's verdict as it finishes, with running counts")
    group.addoption("--no-progress", action="store_true", help="print nothing per case, only the summary at the end")


class Silent:
    """Nothing per case: pytest's letters and dots are blanked."""

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        category, _letter, word = yield
        return category, "", word


class Progress:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.counts: Counter[str] = Counter()
        self.total = 0
        self.done = 0
        self.tty = sys.stdout.isatty()
        self.running: dict[str, float] = {}
        self.verdicts: dict[str, str] = {}
        self.called: set[str] = set()  # cases whose call phase ran

    def _write(self, text: str) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is None:
            return
        if self.tty:
            tr.write("\r\x1b[2K" + text)
        else:
            tr.write_line(text)

    def _counts(self) -> str:
        parts = [f"{k} {self.counts[k]}" for k in ("pass", "fail", "error", "inconclusive", "not-implemented", "skip") if self.counts[k]]
        return "  ".join(parts)

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        category, _letter, word = yield
        return category, "", word  # the progress lines replace pytest's dots

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.total = len(items)

    @pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.total = max(self.total, len(ids))

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.running[nodeid] = time.monotonic()
        if self.tty:
            self._write(f"[{self.done}/{self.total}] {self._counts()}  running {nodeid.rsplit('::', 1)[-1]}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props: dict[str, Any] = dict(report.user_properties)
        verdict = props.get(PROP_VERDICT)
        if verdict and self.verdicts.get(report.nodeid) in (None, "pass"):
            self.verdicts[report.nodeid] = verdict
        if report.when == "call":
            self.called.add(report.nodeid)
        if report.when != "teardown":
            return
        final = self.verdicts.pop(report.nodeid, None)
        if report.nodeid in self.called and "conformance_sut_died" in props:
            final = "fail"  # the SUT died during the case (the plugin records it so)
        self.called.discard(report.nodeid)
        case = props.get(PROP_CASE)
        if final is None or case is None:
            return
        self.done += 1
        self.counts[final] += 1
        elapsed = (time.monotonic() - self.running.pop(report.nodeid, time.monotonic())) * 1000
        param = report.nodeid[report.nodeid.find("["):] if report.nodeid.endswith("]") else ""
        name = case["id"] + param
        line = f"{final.upper():<15} {case['level']:<6} {name:<40} {elapsed:7.0f} ms   [{self.done}/{self.total}] {self._counts()}"
        if self.tty:
            self._write(line + "\n")
        else:
            self._write(line)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    if config.getoption("no_progress", False):
        config.pluginmanager.register(Silent(), "conformance-no-progress")
    elif config.getoption("progress", False):
        config.pluginmanager.register(Progress(config), "conformance-progress")
