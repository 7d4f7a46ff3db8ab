"""The pytest plugin: options, case selection, verdicts, per-case pcaps and results.json.

Where things happen under pytest-xdist:
- each worker collects, runs cases, and writes each case's pcap into the run directory; the
  case metadata, verdict and frame ladder travel to the controller in `user_properties`;
- the controller (or the single process without xdist) turns the reports into results.json.
"""

from __future__ import annotations

import math
import os
import platform
import re
import sys
import time
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__, ordering, pcap, runs, sut_options
from conformance.catalog import CaseInfo, CatalogError, Filter, Level, check_unique, info_of, needs_of
from conformance.netns import Namespace, can_create_namespaces
from conformance.record import CAPTURE_KEY, SUT_KEY, CaseRecord
from conformance.report.model import case_key, make_results, point_latest, write_results
from conformance.sut import NetnsSut, sysctl_snapshot
from conformance.topology import interface_of
from conformance.verdict import Inconclusive, NotImplementedBySut, Verdict

pytest_plugins = [
    "conformance.sut_options",
    "conformance.progress",
    "conformance.ordering",
    "conformance.watchdog",
    "conformance.overlap",  # after the watchdog: a forked case's heartbeat is the fork's own
    "conformance.invariants",  # every frame from the SUT is held to the invariants
]

PROP_CASE = "conformance_case"
PROP_VERDICT = "conformance_verdict"
PROP_CAPTURE = "conformance_capture"
PROP_UNPRIVILEGED = "conformance_unprivileged"
PROP_SUT_DIED = "conformance_sut_died"
DEFAULT_CASE_TIMEOUT = 30.0
RUN_KEY = pytest.StashKey["RunState"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "IP stack conformance suite")
    group.addoption("--report-dir", default=None, metavar="DIR", help="where runs write reports/<run>/ (default: ./reports)")
    group.addoption("--no-report", action="store_true", help="write no results.json, pcaps or report")
    group.addoption("--case", action="append", default=[], metavar="ID", help="select cases by id or glob (repeatable)")
    group.addoption("--exclude", action="append", default=[], metavar="ID",
                    help="leave out cases by id or glob, whatever else selects them (repeatable)")
    group.addoption("--protocol", action="append", default=[], metavar="NAME", help="select cases by protocol (repeatable)")
    group.addoption("--rfc", action="append", default=[], type=int, metavar="N", help="select cases by RFC number (repeatable)")
    group.addoption("--level", action="append", default=[], metavar="LEVEL", help="select cases by MUST/SHOULD/MAY (repeatable)")
    group.addoption("--text", default="", metavar="TEXT", help="select cases whose id, title or requirement contain TEXT")
    group.addoption("--tag", action="append", default=[], metavar="TAG", help="select cases by tag (repeatable)")
    group.addoption("--case-timeout", type=case_timeout, default=DEFAULT_CASE_TIMEOUT, metavar="S",
                    help="stop a case after S seconds and report ERROR (default 30)")
    group.addoption("--run-id", default=None, help=argparse_suppress())
    group.addoption("--shard", default=None, metavar="K/N", type=_shard_option,
                    help="run part K of the selection split into N parts balanced by recorded durations "
                    "(one per CI machine; join the parts with 'conformance merge')")
    group.addoption("--shard-durations", default=None, metavar="FILE_OR_DIR",
                    help="where --shard reads case durations: a results.json, a run directory or a report "
                    "directory (default: the newest complete runs under --report-dir)")
    group.addoption("--baseline", default=None, metavar="FILE_OR_DIR",
                    help="expected verdicts: a baseline TOML file or a directory of them; the exit status is 0 "
                    "exactly when every verdict matches it, otherwise each difference is printed and it is 1")


def case_timeout(text: str) -> float:
    """--case-timeout: a finite number of seconds above zero."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a case timeout must be a number of seconds above 0")
    return value


def _shard_option(text: str) -> Any:
    import argparse

    from conformance.shard import ShardError, parse

    try:
        return parse(text)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


class RunState:
    """The controller's view of one run: where it writes, and the reports it has received."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.run_id = config.getoption("run_id") or _worker_input(config, "conformance_run_id") or runs.new_run_id()
        base = config.getoption("report_dir") or _worker_input(config, "conformance_report_dir")
        self.report_dir = Path(base) if base else Path(config.invocation_params.dir) / "reports"
        self.run_dir = self.report_dir / self.run_id
        self.enabled = not config.getoption("no_report")
        self.started = time.time()
        self.cases: dict[str, dict[str, Any]] = {}
        self.phases: dict[str, set[str]] = {}  # nodeid -> the phases that reported
        self.interrupted = False
        self.unprivileged = ""
        self.usage_error = ""  # an xdist worker's refusal of the selection, said once by the controller
        self.watchdog_kills: dict[str, str] = {}  # nodeid -> why the watchdog killed its worker
        self.shard: dict[str, Any] | None = None  # this run's part of a sharded selection (run.shard)

    def record(self, report: pytest.TestReport) -> None:
        props: dict[str, Any] = dict(report.user_properties)
        if PROP_UNPRIVILEGED in props:
            self.unprivileged = props[PROP_UNPRIVILEGED]
            return
        entry = self.cases.get(report.nodeid)
        if PROP_CASE not in props:
            if entry is not None and report.when not in ("setup", "call", "teardown"):
                self._worker_died(entry, report)  # xdist's report for the item a crashed worker ran
            return
        if entry is None:
            info = CaseInfo.from_dict(props[PROP_CASE])
            entry = {**info.as_dict(), "nodeid": report.nodeid, "outcome": None, "duration_ms": 0.0,
                     "message": None, "longrepr": None, "pcap": None, "frames": [], "preconditions": [],
                     "worker": _worker_id(report)}
            self.cases[report.nodeid] = entry
        entry["duration_ms"] = round(entry["duration_ms"] + report.duration * 1000, 3)
        self.phases.setdefault(report.nodeid, set()).add(report.when)
        verdict = props.get(PROP_VERDICT)
        if verdict and entry["outcome"] in (None, "pass"):  # the first phase that did not pass decides
            entry["outcome"] = verdict
            if verdict != "pass":
                entry["message"] = _message(report)
                entry["longrepr"] = str(report.longrepr) if report.longrepr else None
        if PROP_CAPTURE in props:
            entry.update(props[PROP_CAPTURE])
        if PROP_SUT_DIED in props and "call" in self.phases.get(report.nodeid, set()):
            # The SUT did not survive this case: that is what the case saw, whatever it asserted.
            seen = f" (the case itself said: {entry['message'].splitlines()[0]})" if entry["message"] else ""
            entry["outcome"] = "fail"
            entry["message"] = f"the SUT died during this case: {props[PROP_SUT_DIED]}{seen}"

    def _worker_died(self, entry: dict[str, Any], report: pytest.TestReport) -> None:
        why = self.watchdog_kills.get(report.nodeid) or str(report.longrepr or "its worker died")
        entry["outcome"] = "error"
        entry["message"] = f"the case did not finish: {why}"
        entry["longrepr"] = str(report.longrepr or "")
        self.phases.setdefault(report.nodeid, set()).add("call")

    def _unfinished(self) -> None:
        """A case whose setup passed but whose call never reported was cut off (Ctrl-C, SIGTERM):
        nothing was judged, so it is never a pass."""
        for nodeid, entry in self.cases.items():
            if entry["outcome"] == "pass" and "call" not in self.phases.get(nodeid, set()):
                entry["outcome"] = "inconclusive"
                entry["message"] = "the run was interrupted while this case was running; nothing was judged"

    def results(self) -> dict[str, Any]:
        self._unfinished()
        cases = [c for c in self.cases.values() if c["outcome"] is not None]
        target = self.config.stash.get(SUT_KEY, None) or NetnsSut()
        run = {
            "id": self.run_id,
            "started": _iso(self.started),
            "finished": _iso(time.time()),
            "duration_s": round(time.time() - self.started, 3),
            "complete": not self.interrupted,
            "suite_version": __version__,
            "command_line": list(sys.argv),
            "workers": _worker_count(self.config),
            "shuffle_seed": ordering.seed_of(self.config),
            "sut": {
                "kind": target.kind,
                "description": target.describe(),
                "kernel": platform.release(),
                "capabilities": sorted(target.capabilities),
                **sut_options.describe(self.config),
                "sysctls_pinned": {k: str(v) for k, v in target.sysctls.items()},
            },
            "sysctls": self.config.stash.get(SNAPSHOT_KEY, {}),
            "host": {"hostname": platform.node(), "python": platform.python_version(), "pytest": pytest.__version__},
        }
        selection = _selection_given(self.config)
        if selection:
            run["selection"] = selection
        if self.shard is not None:
            run["shard"] = self.shard
        return make_results(run, cases)


SNAPSHOT_KEY = pytest.StashKey[dict[str, str]]()
SELECTION_OPTIONS = ("case", "exclude", "protocol", "rfc", "level", "tag", "text")


def _selection_given(config: pytest.Config) -> dict[str, Any]:
    """The selection options the run was given (run.selection): `diff` tells a case left out of a
    selection from a case that disappeared."""
    out: dict[str, Any] = {}
    for name in SELECTION_OPTIONS:
        value = config.getoption(name)
        if value:
            out[name] = list(value) if isinstance(value, list | tuple) else value
    return out


def _worker_id(report: pytest.TestReport) -> str | None:
    node = getattr(report, "node", None)  # set by xdist on the controller
    return str(node.gateway.id) if node is not None else None


def _worker_input(config: pytest.Config, key: str) -> Any:
    return getattr(config, "workerinput", {}).get(key)


def _worker_count(config: pytest.Config) -> int:
    n = getattr(config.option, "numprocesses", None)
    return int(n) if isinstance(n, int) else 1


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def _message(report: pytest.TestReport) -> str:
    lr = report.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:  # a skip: (path, line, "Skipped: reason")
        return re.sub(r"^(Skipped|[\w.]*(Inconclusive|NotImplementedBySut|NotApplicable|Unsupported|GuardRefusal|AgentLost)): ", "",
                      str(lr[2]))
    crash = getattr(lr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(lr) if lr else ""


def is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance_case(info): a conformance case (set by @case)")
    config.addinivalue_line("markers", "root: needs root to build network namespaces")
    config.stash[RUN_KEY] = RunState(config)
    _stop_on_sigterm(config)
    if is_controller(config):
        os.environ.setdefault(runs.OWNER_VAR, runs.owner_token())
        _load_baseline(config)
        if config.getoption("shard"):
            _durations_source(config)


def _stop_on_sigterm(config: pytest.Config) -> None:
    """SIGTERM (what a CI system sends to cancel a job) ends the run as Ctrl-C does: the case
    that was running is torn down, and what finished is written as a partial report."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return  # whoever embeds pytest has a handler of its own

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    def restore() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    signal.signal(signal.SIGTERM, interrupt)
    config.add_cleanup(restore)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
def pytest_configure_node(node: Any) -> None:
    """xdist controller -> worker: share one run id and report directory."""
    state: RunState = node.config.stash[RUN_KEY]
    node.workerinput["conformance_run_id"] = state.run_id
    node.workerinput["conformance_report_dir"] = str(state.report_dir)
    node.workerinput["conformance_shard_durations"] = node.config.stash.get(DURATIONS_KEY, "")


def _selection(config: pytest.Config) -> Filter:
    bad = [x for x in config.getoption("level") if x.upper() not in Level.__members__]
    if bad:
        raise pytest.UsageError(f"unknown level {bad[0]!r}; use MUST, SHOULD or MAY")
    levels = tuple(Level(x.upper()) for x in config.getoption("level"))
    f = Filter(
        protocol=tuple(config.getoption("protocol")), rfc=tuple(config.getoption("rfc")), level=levels,
        text=config.getoption("text"), ids=tuple(config.getoption("case")), tags=tuple(config.getoption("tag")),
        exclude=tuple(config.getoption("exclude")),
    )
    try:
        f.validate()
    except CatalogError as exc:
        raise pytest.UsageError(str(exc)) from None
    return f


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    infos = [(item, info_of(item)) for item in items]
    cases = [(item, info) for item, info in infos if info is not None]
    try:
        check_unique((item.nodeid.split("[", 1)[0], info) for item, info in cases)
    except CatalogError as exc:
        raise pytest.UsageError(str(exc)) from None
    selection = _selection(config)
    if any((selection.protocol, selection.rfc, selection.level, selection.text, selection.ids, selection.tags,
            selection.exclude)):
        if selection.ids or selection.exclude:
            known = {info.id for _, info in cases}
            from fnmatch import fnmatchcase

            for pat in (*selection.ids, *selection.exclude):
                if not any(fnmatchcase(k, pat.upper()) for k in known):
                    _refuse_selection(config, items, f"no case has the id {pat!r} (see 'conformance list')")
                    return
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item, info in infos:
            (keep if info is not None and selection(info) else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
        cases = [(i, info) for i, info in cases if i in keep]
    if config.getoption("shard"):
        cases = _take_shard(config, items, cases)
    if not cases:
        return
    problem = None if config.option.collectonly else can_create_namespaces()
    if problem and is_controller(config):
        pytest.exit(f"conformance: {problem}.", returncode=2)
    if problem:
        # An xdist worker cannot end the run cleanly: it skips, and the controller turns the
        # skips into exit status 2 with the same sentence.
        for item, _ in cases:
            item.user_properties.append((PROP_UNPRIVILEGED, problem))
            item.add_marker(pytest.mark.skip(reason=problem))
        return
    target = config.stash[SUT_KEY]
    timeout = config.getoption("case_timeout")
    for item, info in cases:
        item.user_properties.append((PROP_CASE, info.as_dict()))
        item.add_marker(pytest.mark.root)
        if not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(timeout, method="signal"))
        missing = target.missing(needs_of(item, info))
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"not applicable: {missing}"))


DURATIONS_KEY = pytest.StashKey[str]()  # the durations source every shard process reads


def _durations_source(config: pytest.Config) -> str:
    """Where --shard reads durations: resolved once by the controller and handed to its workers,
    so that every process of the shard computes the same partition."""
    if DURATIONS_KEY not in config.stash:
        given = config.getoption("shard_durations")
        if not given:
            given = (str(config.stash[RUN_KEY].report_dir) if is_controller(config)
                     else _worker_input(config, "conformance_shard_durations"))
        config.stash[DURATIONS_KEY] = str(Path(given).resolve()) if given else ""
    return config.stash[DURATIONS_KEY]


def _take_shard(config: pytest.Config, items: list[pytest.Item],
                cases: list[tuple[pytest.Item, CaseInfo]]) -> list[tuple[pytest.Item, CaseInfo]]:
    """Keep this shard's cases of the selection; the rest are deselected (run by other shards)."""
    from conformance import shard as sharding
    from conformance.report.model import case_key

    source = _durations_source(config)
    given = config.getoption("shard_durations")
    if given and not Path(given).exists():
        raise pytest.UsageError(f"--shard-durations {given}: no such results file or directory")
    durations, used = sharding.recorded_durations(Path(source)) if source and Path(source).exists() else ({}, [])
    keyed = [(case_key({"id": info.id, "nodeid": item.nodeid}), item, info) for item, info in cases]
    plan = sharding.plan(config.getoption("shard"), [(k, info.waits) for k, _, info in keyed], durations, used)
    keep_ids = {id(item) for k, item, _ in keyed if plan.mine(k)}
    case_ids = {id(item) for item, _ in cases}
    # Items that are not conformance cases (plain tests beside them) all go with shard 1.
    others = [item for item in items if id(item) not in case_ids] if plan.shard.index != 1 else []
    drop = [item for k, item, _ in keyed if id(item) not in keep_ids] + others
    if drop:
        dropped = {id(i) for i in drop}
        config.hook.pytest_deselected(items=drop)
        items[:] = [i for i in items if id(i) not in dropped]
    described = plan.describe()
    if is_controller(config):
        config.stash[RUN_KEY].shard = described
    else:
        config.workeroutput["conformance_shard"] = described  # type: ignore[attr-defined]
    return [(item, info) for item, info in cases if id(item) in keep_ids]


def _refuse_selection(config: pytest.Config, items: list[pytest.Item], message: str) -> None:
    """A selection that names no case: a usage error. An xdist worker cannot raise one without an
    INTERNALERROR; it runs nothing and tells the controller, which says it once and exits 2."""
    if is_controller(config):
        raise pytest.UsageError(message)
    config.workeroutput["conformance_usage_error"] = message  # type: ignore[attr-defined]
    config.hook.pytest_deselected(items=list(items))
    items[:] = []


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {})
    message = output.get("conformance_usage_error")
    if message:
        node.config.stash[RUN_KEY].usage_error = message
    if output.get("conformance_shard"):
        node.config.stash[RUN_KEY].shard = output["conformance_shard"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") and info_of(item) is None:
        problem = _privilege_problem(item.config)
        if problem:
            pytest.skip(problem)


PRIVILEGE_KEY = pytest.StashKey[str]()


def _privilege_problem(config: pytest.Config) -> str:
    if PRIVILEGE_KEY not in config.stash:
        config.stash[PRIVILEGE_KEY] = can_create_namespaces() or ""
    return config.stash[PRIVILEGE_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    info = info_of(item)
    if info is None:
        return report
    verdict = _verdict(report, call, info)
    report.user_properties.append((PROP_VERDICT, verdict.value))
    if call.when == "teardown":
        record = item.stash.get(CAPTURE_KEY, None)
        if record is not None:
            report.user_properties.append((PROP_CAPTURE, _save_capture(item, record)))
        died = item.stash.get(sut_options.SUT_DIED_KEY, None)
        if died:
            report.user_properties.append((PROP_SUT_DIED, died))
    return report


def _verdict(report: pytest.TestReport, call: pytest.CallInfo[None], info: CaseInfo) -> Verdict:
    if report.passed:
        return Verdict.PASS
    exc = call.excinfo
    if report.skipped:
        if exc is not None and isinstance(exc.value, Inconclusive):
            return Verdict.INCONCLUSIVE
        if exc is not None and isinstance(exc.value, NotImplementedBySut):
            if info.judges_optional:
                return Verdict.NOT_IMPLEMENTED
            _as_failure(report, f"suite error: {info.id} reported an optional feature as not implemented "
                        f"({exc.value.reason}) but declares none (@case optional=...)")
            return Verdict.ERROR
        return Verdict.SKIP
    if call.when == "call" and exc is not None and isinstance(exc.value, AssertionError):
        if info.level is Level.MAY:
            # Not doing what a MAY allows violates nothing: the SUT does not implement the option.
            _as_skip(report, item_location(report), f"the SUT does not implement this MAY: {exc.value}")
            return Verdict.NOT_IMPLEMENTED
        return Verdict.FAIL
    return Verdict.ERROR


def item_location(report: pytest.TestReport) -> tuple[str, int]:
    path, line, _ = report.location
    return path, (line or 0) + 1


def _as_skip(report: pytest.TestReport, where: tuple[str, int], reason: str) -> None:
    """Turn a failed report into pytest's skip form: the run's exit status does not count it."""
    report.outcome = "skipped"
    report.longrepr = (where[0], where[1], f"Skipped: {reason}")


def _as_failure(report: pytest.TestReport, message: str) -> None:
    report.outcome = "failed"
    report.longrepr = message


def _save_capture(item: pytest.Item, record: CaseRecord) -> dict[str, Any]:
    state: RunState = item.config.stash[RUN_KEY]
    frames = sorted(record.capture.frames, key=lambda f: f.t_ns)
    out: dict[str, Any] = {"preconditions": list(record.preconditions), "frames": [], "pcap": None}
    start = record.capture.started_ns
    for f in frames:
        try:
            summary = f.packet.summary()
        except Exception as exc:  # a frame scapy cannot dissect is still a frame we saw
            summary = f"undecodable frame ({exc.__class__.__name__})"
        out["frames"].append({"t_ms": round((f.t_ns - start) / 1e6, 3), "port": f.port, "dir": f.direction,
                              "len": len(f.data), "summary": summary, "note": f.note})
    drops = sum(p.dropped() for p in record.capture.ports)
    if drops:
        out["preconditions"].append(f"WARNING: the kernel dropped {drops} frame(s) before the suite read them")
    if state.enabled and frames:
        info = info_of(item)
        assert info is not None
        pcap_dir = state.run_dir / "pcap"
        pcap_dir.mkdir(parents=True, exist_ok=True)
        name = info.id + _param_suffix(item) + ".pcapng"
        linktypes = {p.name: p.linktype for p in record.capture.ports}
        pcap.write(pcap_dir / name, (
            pcap.Packet(f.t_ns, f.port, linktypes.get(f.port, 1), f.direction, f.data, f.note) for f in frames
        ))
        out["pcap"] = f"pcap/{name}"
    return out


def _param_suffix(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return ""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in callspec.id)
    return f"[{safe}]"


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, Any] | None:
    verdict = dict(report.user_properties).get(PROP_VERDICT)
    if report.skipped and verdict == Verdict.INCONCLUSIVE:
        return "inconclusive", "I", ("INCONCLUSIVE", {"yellow": True})
    if report.skipped and verdict == Verdict.NOT_IMPLEMENTED:
        return "not-implemented", "N", ("NOT IMPLEMENTED", {"cyan": True})
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _CONFIG.get("config")
    if config is not None and is_controller(config):
        config.stash[RUN_KEY].record(report)


_CONFIG: dict[str, pytest.Config] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config


def pytest_collection_finish(session: pytest.Session) -> None:
    """Before the first case: remove what killed runs left, and note the SUT's sysctls."""
    config = session.config
    if not is_controller(config) or not any(info_of(i) for i in session.items):
        return
    _prepare_run(config)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    config = node.config
    if config.stash.get(PREPARED_KEY, False) or not ids:
        return
    _prepare_run(config)


PREPARED_KEY = pytest.StashKey[bool]()


def _prepare_run(config: pytest.Config) -> None:
    config.stash[PREPARED_KEY] = True
    if can_create_namespaces():
        return
    state: RunState = config.stash[RUN_KEY]
    if state.enabled:
        try:
            runs.claim_run_dir(state.report_dir, state.run_dir)
        except runs.RunDirError as exc:
            pytest.exit(f"conformance: {exc}", returncode=2)
    runs.clean()
    if state.enabled:
        runs.clean_run_dirs(state.report_dir)
    sut_options.prepare(config, state.run_dir if state.enabled else None)
    target = config.stash[SUT_KEY]
    if not isinstance(target, NetnsSut):
        return
    ns = Namespace("sysctl-snapshot")
    try:
        for key, value in target.sysctls.items():
            if interface_of(key) is None:  # per-interface keys wait for their interface, in a topology
                ns.write_sysctl(key, value)
        config.stash[SNAPSHOT_KEY] = sysctl_snapshot(ns)
    finally:
        ns.close()


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    config = _CONFIG.get("config")
    if config is not None:
        config.stash[RUN_KEY].interrupted = True


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not is_controller(config):
        return
    state: RunState = config.stash[RUN_KEY]
    if state.unprivileged:
        runs.drop_unused_run_dir(state.run_dir)
        session.exitstatus = 2  # as without xdist, where pytest.exit(returncode=2) ends the run
        sys.stderr.write(f"conformance: {state.unprivileged}.\n")
        return
    if state.usage_error:
        runs.drop_unused_run_dir(state.run_dir)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        sys.stderr.write(f"ERROR: {state.usage_error}\n")
        return
    if not state.cases:
        if state.enabled:
            runs.drop_unused_run_dir(state.run_dir)
        if state.shard and not state.shard["cases"] and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            # More shards than cases: this machine's part is empty, which is no failure of the run.
            session.exitstatus = pytest.ExitCode.OK
            sys.stderr.write(f"conformance: shard {state.shard['index']}/{state.shard['count']} holds none of the "
                             f"{state.shard['cases_in_all_shards']} selected result(s); nothing to run here.\n")
        return
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        state.interrupted = True
    results = state.results()
    _apply_baseline(session, results)
    if not state.enabled:
        return
    state.run_dir.mkdir(parents=True, exist_ok=True)
    write_results(state.run_dir / "results.json", results)
    runs.release_run_dir(state.run_dir)
    point_latest(state.report_dir, state.run_dir)
    _write_report(config, results, state.run_dir)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not is_controller(config):
        return
    state: RunState = config.stash[RUN_KEY]
    if not state.cases:
        return
    results = state.results()
    tr = terminalreporter
    tr.section("conformance")
    by_level = results["summary"]["by_level"]
    for level in ("MUST", "SHOULD", "MAY"):
        counts = by_level.get(level, {})
        if any(counts.values()):
            tr.write_line(f"{level:6} " + "  ".join(f"{k} {v}" for k, v in counts.items()))
    cases = config.stash.get(REPORT_KEY, {}).get("cases") or results["cases"]  # with baseline marks, if any
    failures = [c for c in cases if c["outcome"] in ("fail", "error")]
    order = {"MUST": 0, "SHOULD": 1, "MAY": 2}
    for c in sorted(failures, key=lambda c: (order[c["level"]], c["id"])):
        first = (c["message"] or "").splitlines()[0] if c["message"] else ""
        known = "known " if (c.get("baseline") or {}).get("deviation") and c["baseline"]["match"] else ""
        tr.write_line(f"{known}{c['outcome'].upper():5} {c['level']:6} {case_key(c)}: {first}"[:200])
    if state.enabled:
        tr.write_line(f"results: {state.run_dir / 'results.json'}")
    _report_summary(tr, config)


# The report and the baseline (conformance.report): rendered on the controller at the end.
BASELINE_KEY = pytest.StashKey[tuple[Any, bool]]()  # (Baseline, whether it decides the exit status)
REPORT_KEY = pytest.StashKey[dict[str, Any]]()


def _load_baseline(config: pytest.Config) -> None:
    """--baseline decides the exit status; without it the SUT kind's shipped baseline only marks the report."""
    from conformance.report.baseline import BASELINE_DIR_OF_KIND, BaselineError, load

    notes: dict[str, Any] = config.stash.setdefault(REPORT_KEY, {})
    given = config.getoption("baseline")
    if given:
        try:
            config.stash[BASELINE_KEY] = (load(Path(given)), True)
        except BaselineError as exc:  # `conformance run` checks it first and says it in one sentence
            pytest.exit(f"conformance: {exc}", returncode=2)
        return
    kind = config.stash[SUT_KEY].kind
    shipped = config.rootpath / "cases" / "baselines" / BASELINE_DIR_OF_KIND.get(kind, kind)
    if shipped.is_dir():
        try:
            config.stash[BASELINE_KEY] = (load(shipped), False)
        except BaselineError as exc:
            notes["warning"] = f"the shipped baseline was not used: {exc}"


def _apply_baseline(session: pytest.Session, results: dict[str, Any]) -> None:
    from conformance.report.baseline import annotate

    loaded = session.config.stash.get(BASELINE_KEY, None)
    if loaded is None:
        return
    baseline, decides = loaded
    diffs = annotate(results, baseline, decides=decides)
    notes = session.config.stash.setdefault(REPORT_KEY, {})
    notes["baseline"] = (baseline, decides, diffs)
    notes["cases"] = results["cases"]
    if decides and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED if diffs else pytest.ExitCode.OK


def _write_report(config: pytest.Config, results: dict[str, Any], run_dir: Path) -> None:
    from conformance.report.outputs import write_all

    notes = config.stash.setdefault(REPORT_KEY, {})
    try:
        notes["files"] = write_all(results, run_dir)
    except Exception as exc:  # results.json is written; a broken renderer must not lose the run
        notes["error"] = f"{exc.__class__.__name__}: {exc}"


def _report_summary(tr: Any, config: pytest.Config) -> None:
    notes = config.stash.get(REPORT_KEY, {})
    if "warning" in notes:
        tr.write_line(f"baseline: {notes['warning']}", yellow=True)
    if "baseline" in notes:
        baseline, decides, diffs = notes["baseline"]
        what = "decides the exit status" if decides else "marks known deviations; pass --baseline to gate on it"
        known = sum(1 for c in _last_cases(config) if (c.get("baseline") or {}).get("deviation") and c["baseline"]["match"])
        if not diffs:
            tr.write_line(f"baseline {baseline.source}: every verdict matches, {known} known deviation(s) ({what})",
                          green=True)
        elif not decides:
            tr.write_line(f"baseline {baseline.source}: {known} known deviation(s), {len(diffs)} verdict(s) differ ({what})")
        else:
            tr.write_line(f"baseline {baseline.source}: {len(diffs)} difference(s) ({what}):", red=decides, bold=True)
            for d in diffs:
                tr.write_line(f"  {d.line()}"[:300])
    if "files" in notes:
        tr.write_line(f"report: {notes['files']['html']}")
    if "error" in notes:
        tr.write_line(f"report: could not be rendered ({notes['error']}); results.json is complete", red=True)


def _last_cases(config: pytest.Config) -> list[dict[str, Any]]:
    return list(config.stash.get(REPORT_KEY, {}).get("cases", []))
