"""`conformance`: run the suite, list and show its cases, join shards, clean up after killed runs.

Exit status: 0 success; 1 a case failed (run, merge) or nothing met every criterion (list); 2 bad
usage, missing privilege, or a criterion that names nothing in the catalog (an unknown id,
protocol, level, RFC or tag). Bad input is one sentence on stderr, with a "did you mean" when a
known name is close.

Vocabulary, said once: a *case* is one requirement with one id; a parametrized case runs once
per parameter set, and each run of it is a *result* (the report and results.json hold results,
`list` counts cases and says how many results they make).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from conformance import __version__, catalog_cache
from conformance.catalog import PROTOCOLS, CaseInfo, CatalogError, Filter, Level
from conformance.catalog_cache import Entry

EXIT_USAGE = 2
COMMANDS = ("run", "list", "show", "merge", "report", "diff", "clean")


class UsageError(Exception):
    """Bad input from the user: reported as one sentence, exit status 2."""


def did_you_mean(word: str, known: Sequence[str], cutoff: float = 0.8) -> str:
    """' (did you mean X?)' when a known name is close to a mistyped one, else ''."""
    import difflib

    close = difflib.get_close_matches(word.upper(), [k.upper() for k in known], n=1, cutoff=cutoff)
    if not close:
        return ""
    original = next(k for k in known if k.upper() == close[0])
    return f" (did you mean {original}?)"


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one sentence (no usage dump), with a suggestion for a mistyped verb."""

    def error(self, message: str) -> NoReturn:
        m = re.search(r"invalid choice: '([^']*)'", message)
        if m and "COMMAND" in message:
            message = f"no command {m.group(1)!r}{did_you_mean(m.group(1), COMMANDS, 0.6)}; the commands are {', '.join(COMMANDS)}"
        else:
            message = re.sub(r"^argument ([^:]*): ", r"\1: ", message)
        name = self.prog.replace("conformance ", "conformance ", 1)
        self.exit(EXIT_USAGE, f"{name}: {message} (see '{self.prog} --help')\n")


def _selection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("selection (every given criterion must hold)")
    g.add_argument("--case", "-c", action="append", default=[], metavar="ID",
                   help="a case id, or a glob such as 'ARP-*' (repeatable)")
    g.add_argument("--exclude", action="append", default=[], metavar="ID",
                   help="leave out a case id or glob, whatever else selects it (repeatable)")
    g.add_argument("--protocol", "-p", action="append", default=[], metavar="NAME",
                   help="protocol: " + ", ".join(sorted(set(PROTOCOLS.values()))) + " (repeatable)")
    g.add_argument("--rfc", action="append", default=[], type=int, metavar="N", help="RFC number (repeatable)")
    g.add_argument("--level", "-l", action="append", default=[], metavar="LEVEL",
                   help="requirement level: MUST, SHOULD or MAY (repeatable)")
    g.add_argument("--tag", action="append", default=[], metavar="TAG", help="case tag (repeatable)")
    g.add_argument("--text", "-t", default="", metavar="TEXT", help="text in the id, title, requirement or RFC")
    p.add_argument("--cases", default=None, metavar="DIR", help="the cases directory (default: ./cases)")


def _sut_args(p: argparse.ArgumentParser, *, only_kind: bool = False) -> None:
    from conformance.sut_flags import OPTIONS

    g = p.add_argument_group("system under test")
    for flags, kwargs in OPTIONS:
        if not only_kind or flags[0] in ("--sut", "--sut-file", "--sut-tcp-port", "--sut-udp-port"):
            g.add_argument(*flags, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="conformance",
        description="Protocol conformance test suite for IP stacks: crafts Ethernet, ARP, IPv4, ICMP, TCP "
        "and UDP frames, sends them at a system under test in a network namespace, and judges what it "
        "does against the RFCs.",
        epilog="Exit status: 0 all selected cases passed (or matched the baseline); 1 a case failed; "
        "2 bad usage or missing privilege. See 'conformance COMMAND --help'.",
    )
    parser.add_argument("--version", action="version", version=f"conformance {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    run = sub.add_parser("run", help="run cases against the SUT and write results under reports/",
                         description="Run the selected cases (all by default) against the system under test. "
                         "Each run writes reports/<run-id>/results.json and one pcapng per case, and points "
                         "reports/latest at it. Needs root: it builds network namespaces.",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         epilog="examples:\n"
                         "  conformance run -n auto                         the whole catalog, one worker per core\n"
                         "  conformance run --case 'TCP-5961-*' --level MUST  a selection\n"
                         "  conformance run --baseline cases/baselines/linux  gate on the known deviations\n"
                         "  conformance run --sut-profile hardened-host     the local kernel, configured\n"
                         "  conformance run --sut tap --sut-ip 198.18.7.2 --sut-command 'my-stack {tap}'\n"
                         "  conformance run --shard 2/4 --baseline cases/baselines/linux  one CI machine's part\n"
                         "  conformance run -- -x -vv                       arguments after '--' go to pytest\n\n"
                         "Progress: one line per finished case (verdict, level, id, duration, running counts);\n"
                         "--no-progress prints none. At the end: MUST failures, then SHOULD failures, then\n"
                         "where the report is.\n\n"
                         "exit status: 0 every selected case passed (with --baseline: every verdict matched);\n"
                         "1 a case failed or a verdict differs from the baseline; 2 bad usage (an id, protocol,\n"
                         "level, RFC or tag the catalog does not have, a selection that holds no case, bad\n"
                         "address, missing interface or TAP, bad profile or baseline), missing privilege,\n"
                         "interrupted.")
    _selection_args(run)
    run.add_argument("-n", "--numprocesses", default=None, metavar="N", type=_workers,
                     help="parallel workers (pytest-xdist), 'auto' for one per core")
    run.add_argument("--report-dir", default=None, metavar="DIR", help="where to write reports (default: ./reports)")
    run.add_argument("--case-timeout", type=_case_timeout, default=None, metavar="S",
                     help="stop a case after S seconds and report ERROR (default 30)")
    run.add_argument("--baseline", default=None, metavar="FILE_OR_DIR",
                     help="expected verdicts (e.g. cases/baselines/linux): exit 0 exactly when every verdict "
                     "matches, otherwise print each difference and exit 1")
    run.add_argument("--shuffle", default=None, metavar="SEED",
                     help="run the cases in a random order: an integer seed, or 'random' (the seed is printed)")
    run.add_argument("--shard", default=None, metavar="K/N", type=_shard,
                     help="run part K of the selection split into N parts, balanced by recorded case durations "
                     "(one part per CI machine; 'conformance merge' joins them; see docs/ci.md)")
    run.add_argument("--shard-durations", default=None, metavar="FILE_OR_DIR",
                     help="the durations --shard balances by: a results.json, a run directory or a report "
                     "directory (default: the newest complete runs under --report-dir; else estimates)")
    run.add_argument("--no-progress", action="store_true",
                     help="print no line per case while the run goes; only the summary at the end")
    run.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help=argparse.SUPPRESS)
    _sut_args(run)

    lst = sub.add_parser("list", help="list the catalog (id, level, RFC, title)",
                         description="List the cases, filtered by the selection options. With --sut tap or iface, "
                         "each case that would be skipped on that kind of SUT says why. Needs no root.",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         epilog="examples:\n"
                         "  conformance list --protocol arp --level MUST\n"
                         "  conformance list --rfc 5961 --json\n"
                         "  conformance list --sut tap --sut-tcp-port 7     which cases apply to a TAP stack\n\n"
                         "Each criterion must name something the catalog has: an id or glob, protocol, level,\n"
                         "RFC or tag it does not have is bad usage (exit 2, with a suggestion when one is close).\n"
                         "Criteria that all exist but that no case meets together list nothing (exit 1).\n"
                         "A parametrized case is one line; it makes one result per parameter set.\n\n"
                         "exit status: 0 cases listed; 1 no case meets every criterion; 2 a criterion names\n"
                         "nothing in the catalog.")
    _selection_args(lst)
    lst.add_argument("--json", action="store_true", help="print the metadata as JSON")
    _sut_args(lst, only_kind=True)

    show = sub.add_parser("show", help="print one case's requirement and description",
                          description="Print a case's metadata, the requirement it checks, its description, "
                          "where it is defined, whether it applies to the SUT kind given with --sut, and whether "
                          "that SUT's baseline records it as a known deviation. Needs no root.",
                          epilog="example: conformance show TCP-5961-RST-IN-WINDOW --sut tap. "
                          "Exit status: 0 shown; 2 no case has that id.")
    show.add_argument("case_id", metavar="ID")
    show.add_argument("--cases", default=None, metavar="DIR", help="the cases directory (default: ./cases)")
    show.add_argument("--baseline", default=None, metavar="FILE_OR_DIR",
                      help="the baseline to look the case up in (default: the one shipped for the SUT kind, "
                      "cases/baselines/linux for the local kernel)")
    _sut_args(show, only_kind=True)

    cln = sub.add_parser("clean", help="remove what killed runs left behind",
                         description="Find processes that a killed run started inside its namespaces (they keep "
                         "those namespaces alive) and kill them, and remove the report directories killed runs "
                         "left unfinished (no results.json, owner gone). Processes and directories of runs that "
                         "are still alive are left alone, and a finished or interrupted run's directory is never "
                         "touched. Runs do this themselves when they start. Needs root.")
    cln.add_argument("--report-dir", default="reports", metavar="DIR",
                     help="where the runs wrote their reports (default: ./reports)")
    _report_parsers(sub)
    return parser


def _shard(text: str) -> Any:
    from conformance.shard import ShardError, parse

    try:
        return parse(text)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _case_timeout(text: str) -> float:
    from conformance.plugin import case_timeout

    return case_timeout(text)


def _workers(text: str) -> str:
    """-n: a number of workers, or 'auto'/'logical' as pytest-xdist takes them."""
    if text in ("auto", "logical") or (text.isdigit() and int(text) >= 0):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: give a number of workers or 'auto' (one per core)")


def _check_report_dir(path: str) -> None:
    report_dir = Path(path)
    if report_dir.exists() and not report_dir.is_dir():
        raise UsageError(f"--report-dir {path} is a file, not a directory")
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write reports under {path}: {exc.strerror or exc}") from None
    if not os.access(report_dir, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write reports under {path}: permission denied")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        handler = {"run": cmd_run, "list": cmd_list, "show": cmd_show, "clean": cmd_clean, "merge": cmd_merge,
                   "report": cmd_report, "diff": cmd_diff}[args.command]
        return handler(args)
    except (UsageError, CatalogError) as exc:
        print(f"conformance {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # an output file that cannot be written, a results file that vanished
        where = f"{str(exc.filename).removesuffix('.tmp')}: " if exc.filename else ""
        print(f"conformance {args.command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


def _cases_dir(args: argparse.Namespace) -> Path:
    path = Path(args.cases) if args.cases else Path.cwd() / "cases"
    if not path.is_dir():
        raise UsageError(f"no cases directory at {path}; run from the suite's checkout or pass --cases DIR")
    return path


def _filter(args: argparse.Namespace) -> Filter:
    for x in args.level:
        if x.upper() not in Level.__members__:
            raise UsageError(f"unknown level {x!r}{did_you_mean(x, list(Level.__members__), 0.6)}; use MUST, SHOULD or MAY")
    levels = tuple(Level(x.upper()) for x in args.level)
    for p in args.protocol:
        known = sorted(set(PROTOCOLS.values()))
        if p not in known:
            raise UsageError(f"unknown protocol {p!r}{did_you_mean(p, known, 0.6)}; known: {', '.join(known)}")
    f = Filter(protocol=tuple(args.protocol), rfc=tuple(args.rfc), level=levels, text=args.text,
               ids=tuple(args.case), tags=tuple(args.tag), exclude=tuple(args.exclude))
    f.validate()
    return f


def collect(cases_dir: Path) -> list[Entry]:
    """The catalog as pytest collects it (from the cache where it holds the answer). Needs no root."""
    from conformance.catalog import check_unique

    entries = catalog_cache.catalog(cases_dir, _collect_with_pytest)
    check_unique((e.nodeid.split("[", 1)[0], e.info) for e in entries)  # across modules collected apart
    return entries


def _collect_with_pytest(paths: list[Path], rootdir: Path | None) -> tuple[list[Entry], Path]:
    """Collect `paths` with pytest; the entries found and the rootdir pytest used."""
    import pytest

    from conformance.catalog import info_of, needs_of

    found: list[Entry] = []
    used: list[Path] = []

    class Collector:
        def pytest_collection_finish(self, session: pytest.Session) -> None:
            used.append(session.config.rootpath)
            for item in session.items:
                info = info_of(item)
                if info is not None:
                    path, line, _ = item.reportinfo()
                    found.append(Entry(info, item.nodeid, f"{path}:{(line or 0) + 1}", needs_of(item, info)))

    out = io.StringIO()
    argv = ["--collect-only", "-q", "--no-report", "-p", "no:cacheprovider"]
    if rootdir is not None:
        argv += ["--rootdir", str(rootdir)]
    with contextlib.redirect_stdout(out):
        code = pytest.main([*argv, *map(str, paths)], plugins=[Collector()])
    if code not in (0, 5) or not used:
        raise UsageError(f"collecting the cases failed:\n{out.getvalue().strip()}")
    return found, used[0]


def _select(args: argparse.Namespace) -> list[Entry]:
    f = _filter(args)
    catalog = collect(_cases_dir(args))
    check_names(f, [e.info for e in catalog])
    return [e for e in catalog if f(e.info)]


def check_names(f: Filter, infos: list[CaseInfo]) -> None:
    """Each criterion must name something the catalog has (else UsageError, with a suggestion)."""
    from fnmatch import fnmatchcase

    ids = sorted({i.id for i in infos})
    for pat in (*f.ids, *f.exclude):
        if not any(fnmatchcase(i, pat.upper()) for i in ids):
            raise UsageError(f"no case has the id {pat!r}{did_you_mean(pat, ids)} (see 'conformance list')")
    rfcs = sorted({r for i in infos for r in (i.rfc, *i.extra_rfcs)})
    for rfc in f.rfc:
        if rfc not in rfcs:
            near = did_you_mean(str(rfc), [str(r) for r in rfcs])
            raise UsageError(f"no case cites RFC {rfc}{near.replace('mean ', 'mean RFC ')}; "
                             f"the catalog cites RFC {', '.join(map(str, rfcs))}")
    tags = sorted({t for i in infos for t in i.tags})
    for tag in f.tags:
        if tag not in tags:
            which = f"the tags are {', '.join(tags)}" if tags else "no case has any tag"
            raise UsageError(f"no case has the tag {tag!r}{did_you_mean(tag, tags, 0.6)}; {which}")


def _would_skip(args: argparse.Namespace, entry: Entry) -> str | None:
    if args.sut == "netns" and not getattr(args, "sut_file", None):
        from conformance.sut import NetnsSut  # the local kernel, without the plugin's modules

        return NetnsSut().missing(entry.needs)
    reason: str | None = _capability_target(args).missing(entry.needs)
    return reason


def _capability_target(args: argparse.Namespace) -> Any:
    """The SUT the options name, read once per command (a SUT file is parsed, not started)."""
    cached = getattr(args, "_target", None)
    if cached is None:
        from conformance.sut import SutError
        from conformance.sut_options import capability_target

        try:
            cached = capability_target(args)
        except SutError as exc:
            raise UsageError(str(exc)) from None
        args._target = cached
    return cached


def _sut_name(args: argparse.Namespace) -> str:
    return f"SUT of {args.sut_file}" if getattr(args, "sut_file", None) else f"{args.sut} SUT"


def cmd_list(args: argparse.Namespace) -> int:
    selected = _select(args)
    if args.json:
        print(json.dumps([{**e.info.as_dict(), "nodeid": e.nodeid, "where": e.where, "needs": list(e.needs),
                           "skipped_because": _would_skip(args, e)} for e in selected], indent=1))
        return 0 if selected else 1
    if not selected:
        print("no case meets every criterion given (each exists in the catalog, but not together)", file=sys.stderr)
        return 1
    results: dict[str, int] = {}
    for e in selected:
        results[e.info.id] = results.get(e.info.id, 0) + 1
    skipped = 0
    width = max(len(e.info.id) for e in selected)
    seen: set[str] = set()
    for e in sorted(selected, key=lambda e: e.info.id):
        info = e.info
        if info.id in seen:
            continue
        seen.add(info.id)
        ref = f"RFC {info.rfc} {info.section}"
        line = f"{info.id:<{width}}  {info.level.value:<6}  {ref:<28}  {info.title}"
        if results[info.id] > 1:
            line += f"  [{results[info.id]} parameter sets]"
        reason = _would_skip(args, e)
        if reason:
            skipped += 1
            line += f"  [skip: {reason}]"
        print(line)
    external = args.sut != "netns" or getattr(args, "sut_file", None)
    applies = f", {len(seen) - skipped} apply to the {_sut_name(args)}" if external else ""
    print(count_line(len(seen), len(selected), sum(1 for n in results.values() if n > 1)) + applies, file=sys.stderr)
    return 0


def count_line(cases: int, results: int, parametrized: int) -> str:
    """'467 cases, 478 results (4 cases run once per parameter set)': the one way cases and results are counted."""
    text = f"{cases} case{'s' if cases != 1 else ''}"
    if results != cases:
        text += (f", {results} results ({parametrized} case{'s' if parametrized != 1 else ''} run once per "
                 "parameter set)")
    return text


def _description(doc: str) -> str:
    """The docstring without its first paragraph, which `show` prints as the requirement."""
    parts = doc.strip().split("\n\n", 1)
    return parts[1].strip() if len(parts) > 1 else ""


def _baseline_word(args: argparse.Namespace, cases_dir: Path, entry: Entry, params: list[str]) -> str:
    """What the SUT's baseline says of the case: a known deviation (where, what, why) or nothing."""
    from conformance.report.baseline import BASELINE_DIR_OF_KIND, BaselineError, load

    if args.baseline:
        path = Path(args.baseline)
    else:
        kind = _capability_target(args).kind
        path = cases_dir / "baselines" / BASELINE_DIR_OF_KIND.get(kind, kind)
        if not path.exists():
            return f"no baseline is shipped for the {kind} SUT (give one with --baseline)"
    try:
        baseline = load(path)
    except BaselineError as exc:
        raise UsageError(str(exc)) from None
    keys = [entry.info.id] + [f"{entry.info.id}{p}" for p in params]
    found = [baseline.deviations[k] for k in keys if k in baseline.deviations]
    if not found:
        return f"no entry in {path}: expected to pass"
    return "; ".join(f"known deviation ({d.id}: expected {d.verdict}; {Path(d.file).name} line {d.line}): {d.reason}"
                     for d in found)


def cmd_show(args: argparse.Namespace) -> int:
    cases_dir = _cases_dir(args)
    catalog = collect(cases_dir)
    wanted = args.case_id.upper()
    matches = [e for e in catalog if e.info.id == wanted]
    if not matches:
        known = sorted({e.info.id for e in catalog})
        raise UsageError(f"no case has the id {args.case_id!r}{did_you_mean(args.case_id, known)} "
                         "(see 'conformance list')")
    entry = matches[0]
    info = entry.info
    params = [e.nodeid[e.nodeid.find("["):] for e in matches if e.nodeid.endswith("]")]
    rows: list[tuple[str, Any]] = [
        ("id", info.id), ("title", info.title), ("level", info.level.value),
        ("rfc", f"RFC {info.rfc} section {info.section}  {info.rfc_url}"), ("layer", info.layer),
        ("protocol", info.protocol), ("requirement", info.requirement), ("test", entry.nodeid.split("[", 1)[0]),
        ("defined at", entry.where), ("needs", ", ".join(entry.needs) or "nothing beyond a SUT to send to"),
        ("applies", f"no, on the {_sut_name(args)}: {reason}" if (reason := _would_skip(args, entry))
         else f"yes, on the {_sut_name(args)}"),
        ("baseline", _baseline_word(args, cases_dir, entry, params)),
    ]
    if params:
        rows.append(("parameters", f"{len(params)} sets, one result each: {', '.join(p[1:-1] for p in params)}"))
    if info.waits:
        rows.append(("waits", info.waits))
    if info.tags:
        rows.append(("tags", ", ".join(info.tags)))
    for key, value in rows:
        print(f"{key + ':':<13}{value}")
    description = _description(info.doc)
    if description:
        print()
        print(description)
    return 0


def _check_sut(args: argparse.Namespace) -> list[str]:
    """Validate the SUT options before pytest starts; return them as pytest arguments."""
    from conformance import profile
    from conformance.sut import NetnsSut, SutError
    from conformance.sut_flags import OPTIONS
    from conformance.sut_options import check_profile, target_from_options

    try:
        target = target_from_options(args)
        if isinstance(target, NetnsSut):
            check_profile(target)
        else:
            if args.numprocesses not in (None, "0", "1"):
                raise UsageError(f"the {target.kind} SUT is a single stack that parallel workers would share; run it without -n")
            first = shlex.split(target.command)[0] if target.command else ""
            if first and "{" not in first and shutil.which(first) is None:
                raise UsageError(f"the SUT's start command: {first!r} was not found")
            if not target.command:
                from conformance.external import Attachment

                Attachment(target).existing_interface_mac()
    except (SutError, profile.ProfileError) as exc:
        raise UsageError(str(exc)) from None
    argv: list[str] = []
    for flags, _ in OPTIONS:
        value = getattr(args, flags[0][2:].replace("-", "_"))
        for v in value if isinstance(value, list) else [value]:
            if v is True:
                argv.append(flags[0])
            elif v is not None and v is not False and not (flags[0] == "--sut" and v == "netns"):
                argv += [flags[0], str(v)]
    return argv


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from conformance.netns import can_create_namespaces

    cases_dir = _cases_dir(args)
    f = _filter(args)
    if args.baseline:
        _check_baseline(args.baseline)
    if args.shard_durations and not Path(args.shard_durations).exists():
        raise UsageError(f"--shard-durations {args.shard_durations}: no such results file or directory")
    problem = can_create_namespaces()
    if problem:
        raise UsageError(problem)
    if f.ids or f.exclude or f.rfc or f.tags:
        # Names checked against the catalog before pytest starts, so the refusal is the only line printed.
        check_names(f, [e.info for e in collect(cases_dir)])
    argv: list[str] = [*_collection_targets(cases_dir, f, args), *_check_sut(args)]
    for flag, values in (("--case", args.case), ("--exclude", args.exclude), ("--protocol", args.protocol), ("--rfc", args.rfc),
                         ("--level", args.level), ("--tag", args.tag)):
        for v in values:
            argv += [flag, str(v)]
    if f.text:
        argv += ["--text", f.text]
    if args.numprocesses:
        argv += ["-n", str(args.numprocesses)]
    if args.report_dir:
        _check_report_dir(args.report_dir)
        argv += ["--report-dir", args.report_dir]
    if args.case_timeout:
        argv += ["--case-timeout", str(args.case_timeout)]
    if args.baseline:
        argv += ["--baseline", args.baseline]
    if args.shuffle:
        argv += ["--shuffle", args.shuffle]
    if args.shard:
        argv += ["--shard", str(args.shard)]
    if args.shard_durations:
        argv += ["--shard-durations", args.shard_durations]
    # The report holds every failure's detail; the terminal shows one line per case and a summary.
    progress = ["--no-progress", "-o", "console_output_style=classic"] if args.no_progress else ["--progress"]
    argv += [*progress, "-q", "--tb=no", "-rN", *args.pytest_args]
    code = int(pytest.main(argv))
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("conformance run: no case meets every criterion given, so nothing ran "
              "(see 'conformance list' with the same options)", file=sys.stderr)
        return EXIT_USAGE
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    return code


def _collection_targets(cases_dir: Path, f: Filter, args: argparse.Namespace) -> list[str]:
    """What pytest collects: the cases directory, or, for a selection the catalog cache can place,
    only the modules that hold it (with the rootdir of a full collection, so that node ids are
    the same). The plugin still selects among what is collected, as it always does."""
    if args.pytest_args or args.shard:  # paths of their own; a shard is cut from everything collected
        return [str(cases_dir)]
    narrowed = catalog_cache.modules_for(cases_dir, f)
    if narrowed is None:
        return [str(cases_dir)]
    modules, rootdir = narrowed
    return ["--rootdir", str(rootdir), *map(str, modules)]


def _check_baseline(path: str) -> None:
    """A baseline that cannot be used stops the command before anything runs, in one sentence."""
    from conformance.report.baseline import BaselineError, load

    try:
        load(Path(path))
    except BaselineError as exc:
        raise UsageError(str(exc)) from None


def cmd_clean(args: argparse.Namespace) -> int:
    from conformance import runs

    if os.geteuid() != 0:
        raise UsageError("cleaning needs root to see and stop other runs' processes; run it with sudo")
    found = runs.clean()
    for item in found:
        print(f"killed pid {item.pid} (left by dead run {item.owner}): {item.command}")
    removed = runs.clean_run_dirs(Path(args.report_dir))
    for path in removed:
        print(f"removed {path}/ (a killed run's unfinished report directory)")
    if not found and not removed:
        print("nothing to clean")
    else:
        print(f"{len(found)} leftover process(es) killed, {len(removed)} unfinished report directory(ies) removed")
    return 0



def _report_parsers(sub: Any) -> None:
    """`report` and `diff`: files made from results.json, no root needed."""
    raw = argparse.RawDescriptionHelpFormatter
    rep = sub.add_parser(
        "report", help="render a run's report files again from its results.json", formatter_class=raw,
        description="Render a run's files from its results.json. A run writes reports/<run>/index.html,\n"
        "junit.xml and run.pcapng at the end; this command writes all three again beside\n"
        "RESULTS.json, e.g. after an upgrade of the suite, against another baseline, or with a\n"
        "comparison to an older run. With -o and/or --junit it writes only those, where they say\n"
        "(the page still links the pcaps beside RESULTS.json by relative paths). results.json\n"
        "itself is never changed.",
        epilog="examples:\n"
        "  conformance report reports/latest/results.json                 index.html, junit.xml, run.pcapng\n"
        "  conformance report reports/latest/results.json -o /tmp/report.html   the page alone, elsewhere\n"
        "  conformance report new/results.json --baseline cases/baselines/linux --diff old/results.json\n\n"
        "exit status: 0 the files were written; 1 --baseline was given and a verdict differs\n"
        "from it (each difference is printed); 2 unreadable results or baseline, bad usage.")
    rep.add_argument("results", metavar="RESULTS.json", help="a results.json written by a run")
    rep.add_argument("-o", "--output", metavar="FILE.html", default=None,
                     help="write the page here (and, unless --junit is given too, nothing else)")
    rep.add_argument("--baseline", metavar="FILE_OR_DIR", default=None,
                     help="hold the run against this baseline: known deviations are marked (and are <skipped> in "
                     "the JUnit XML), and the exit status is 1 if any verdict differs from it")
    rep.add_argument("--diff", metavar="OLD.json", default=None,
                     help="add a section comparing this run with an older one")
    rep.add_argument("--junit", metavar="FILE.xml", default=None,
                     help="write the JUnit XML here (and, unless -o is given too, nothing else)")

    mrg = sub.add_parser(
        "merge", help="join the runs of several machines (shards) into one run", formatter_class=raw,
        description="Join runs into one: the shards of a selection run with --shard K/N on several\n"
        "machines (or runs of disjoint selections). Writes a new run directory with one\n"
        "results.json, index.html, junit.xml and run.pcapng, the case pcaps beside them, and\n"
        "points <report-dir>/latest at it. Refuses shards of different selections or\n"
        "durations (their partition digests differ), a case in two runs, or runs of different\n"
        "SUT kinds; names the shards that are missing. Needs no root.",
        epilog="examples:\n"
        "  conformance merge shard-1/ shard-2/ shard-3/ shard-4/\n"
        "  conformance merge artifacts/*/reports/latest --baseline cases/baselines/linux --report-dir merged\n\n"
        "exit status: 0 merged, and every verdict passed (with --baseline, or shards that gated on one:\n"
        "every verdict matched); 1 merged, and a case failed or differs from the baseline, or a shard is\n"
        "missing; 2 runs that cannot be merged, bad usage.")
    mrg.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories (or their results.json)")
    mrg.add_argument("--report-dir", default="reports", metavar="DIR",
                     help="where to write the merged run (default: ./reports)")
    mrg.add_argument("--baseline", metavar="FILE_OR_DIR", default=None,
                     help="hold the merged run against this baseline (exit 1 if any verdict differs)")

    dif = sub.add_parser(
        "diff", help="compare two runs: regressed, fixed, appeared, disappeared, slower", formatter_class=raw,
        description="Compare two results.json files case by case (a case is its id, plus its\n"
        "parameters if it has any) and print what changed:\n"
        "  regressed    now FAIL or ERROR and was not, or was PASS and is now INCONCLUSIVE\n"
        "  fixed        was FAIL or ERROR, now PASS\n"
        "  changed      any other change of verdict (e.g. PASS -> SKIP)\n"
        "  appeared     only in NEW.json\n"
        "  disappeared  only in OLD.json\n"
        "  slower/faster  same verdict, duration changed beyond the noise allowance\n"
        "                 (both --min-ms and --ratio must be exceeded)",
        epilog="examples:\n"
        "  conformance diff reports/20260101-*/results.json reports/latest/results.json\n"
        "  conformance diff old.json new.json --html diff.html --min-ms 50\n\n"
        "exit status: 0 nothing regressed; 1 at least one case regressed; 2 unreadable\n"
        "results or bad usage.")
    dif.add_argument("old", metavar="OLD.json", help="the earlier run's results.json")
    dif.add_argument("new", metavar="NEW.json", help="the later run's results.json")
    dif.add_argument("--html", metavar="FILE", default=None, help="also write the comparison as an HTML page")
    dif.add_argument("--json", action="store_true", help="print the comparison as JSON instead of text")
    dif.add_argument("--min-ms", type=float, default=None, metavar="MS",
                     help="a duration change smaller than MS milliseconds is noise (default 20)")
    dif.add_argument("--ratio", type=float, default=None, metavar="R",
                     help="a duration change of less than R times is noise (default 2.0)")


def _read(path: str) -> dict[str, Any]:
    from conformance.report.model import ResultsError, read_results

    try:
        return read_results(Path(path))
    except ResultsError as exc:
        raise UsageError(str(exc)) from None


def _print_differences(diffs: list[Any], source: str) -> None:
    print(f"{len(diffs)} verdict(s) differ from the baseline {source}:")
    for d in diffs:
        print(f"  {d.line()}")


def _writable(path: Path) -> Path:
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: the directory {path.parent} does not exist")
    return path


def cmd_report(args: argparse.Namespace) -> int:
    from conformance.report import baseline as baselines
    from conformance.report import diff as diffing
    from conformance.report import html, junit, outputs

    results = _read(args.results)
    run_dir = Path(args.results).resolve().parent
    diffs = None
    if args.baseline:
        try:
            diffs = baselines.annotate(results, baselines.load(Path(args.baseline)), decides=True)
        except baselines.BaselineError as exc:
            raise UsageError(str(exc)) from None
    comparison = diffing.compare(_read(args.diff), results) if args.diff else None
    if args.output or args.junit:
        page = _writable(Path(args.output)) if args.output else None
        xml = _writable(Path(args.junit)) if args.junit else None
        if xml is not None:
            junit.write(results, xml, run_dir=run_dir, report=page or run_dir / outputs.HTML_NAME)
            print(f"junit: {xml}")
        if page is not None:
            html.write(results, page, run_dir=run_dir, diff=comparison)
            print(f"report: {page}")
    else:
        files = outputs.write_all(results, run_dir, diff=comparison)
        for kind in ("html", "junit", "pcap"):
            print(f"{'report' if kind == 'html' else kind}: {files[kind]}")
    if diffs:
        _print_differences(diffs, args.baseline)
        return 1
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from conformance import runs
    from conformance.report import baseline as baselines
    from conformance.report import merge, outputs
    from conformance.report.model import point_latest, write_results

    report_dir = Path(args.report_dir)
    run_id = runs.new_run_id()
    try:
        loaded = merge.load_runs([Path(p) for p in args.runs])
        results = merge.merged_results(loaded, run_id, ["conformance", "merge", *args.runs])
    except merge.MergeError as exc:
        raise UsageError(str(exc)) from None
    _check_report_dir(args.report_dir)
    diffs = None
    if args.baseline:
        _check_baseline(args.baseline)
        diffs = baselines.annotate(results, baselines.load(Path(args.baseline)), decides=True)
    run_dir = report_dir / run_id
    run_dir.mkdir(parents=True)
    merge.copy_files(loaded, run_dir)
    write_results(run_dir / "results.json", results)
    point_latest(report_dir, run_dir)
    files = outputs.write_all(results, run_dir)
    summary = results["summary"]
    counts = ", ".join(f"{n} {o}" for o, n in summary["outcomes"].items() if n)
    per_id: dict[str, int] = {}
    for c in results["cases"]:
        per_id[c["id"]] = per_id.get(c["id"], 0) + 1
    print(f"merged {len(loaded)} run(s): "
          f"{count_line(len(per_id), summary['total'], sum(1 for n in per_id.values() if n > 1))}: {counts}")
    for kind in ("html", "junit", "pcap"):
        print(f"{'report' if kind == 'html' else kind}: {files[kind]}")
    print(f"results: {run_dir / 'results.json'}")
    if results["run"].get("incomplete_because"):
        print(f"conformance merge: the merged run is incomplete: {results['run']['incomplete_because']}", file=sys.stderr)
        return 1
    gate = results["run"].get("baseline") or {}
    if args.baseline and diffs:
        _print_differences(diffs, args.baseline)
        return 1
    if gate.get("decides"):
        if gate["differences"]:
            print(f"{gate['differences']} verdict(s) differ from the baseline {gate['source']} (see the shards' runs)")
        return 1 if gate["differences"] else 0
    return 1 if summary["outcomes"]["fail"] or summary["outcomes"]["error"] else 0


def cmd_diff(args: argparse.Namespace) -> int:
    from conformance.report import diff as diffing
    from conformance.report import html

    noise = diffing.Noise(args.min_ms if args.min_ms is not None else diffing.DEFAULT_MIN_MS,
                          args.ratio if args.ratio is not None else diffing.DEFAULT_RATIO)
    if noise.min_ms < 0 or noise.ratio < 1:
        raise UsageError("--min-ms must be at least 0 and --ratio at least 1")
    comparison = diffing.compare(_read(args.old), _read(args.new), noise)
    if args.json:
        print(json.dumps(comparison, indent=1))
    else:
        print(diffing.text(comparison))
    if args.html:
        Path(args.html).write_text(html.render_diff_page(comparison))
        print(f"html: {args.html}", file=sys.stderr)
    return 1 if diffing.has_regressions(comparison) else 0

if __name__ == "__main__":
    sys.exit(main())
