"""`conformance`: run the suite, list and show its cases, clean up after killed runs.

Exit status: 0 success; 1 a case failed (run) or nothing matched (list); 2 bad usage, missing
privilege or an unknown case id (one sentence on stderr says which).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.catalog import PROTOCOLS, CaseInfo, CatalogError, Filter, Level

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: reported as one sentence, exit status 2."""


def _selection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("selection (every given criterion must hold)")
    g.add_argument("--case", "-c", action="append", default=[], metavar="ID",
                   help="a case id, or a glob such as 'ARP-*' (repeatable)")
    g.add_argument("--protocol", "-p", action="append", default=[], metavar="NAME",
                   help="protocol: " + ", ".join(sorted(set(PROTOCOLS.values()))) + " (repeatable)")
    g.add_argument("--rfc", action="append", default=[], type=int, metavar="N", help="RFC number (repeatable)")
    g.add_argument("--level", "-l", action="append", default=[], metavar="LEVEL",
                   help="requirement level: MUST, SHOULD or MAY (repeatable)")
    g.add_argument("--tag", action="append", default=[], metavar="TAG", help="case tag (repeatable)")
    g.add_argument("--text", "-t", default="", metavar="TEXT", help="text in the id, title, requirement or RFC")
    p.add_argument("--cases", default=None, metavar="DIR", help="the cases directory (default: ./cases)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="Protocol conformance test suite for IP stacks: crafts Ethernet, ARP, IPv4, ICMP, TCP "
        "and UDP frames, sends them at a system under test in a network namespace, and judges what it "
        "does against the RFCs.",
        epilog="Exit status: 0 all selected cases passed (or matched the baseline); 1 a case failed; "
        "2 bad usage or missing privilege. See 'conformance COMMAND --help'.",
    )
    parser.add_argument("--version", action="version", version=f"conformance {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run cases against the SUT and write results under reports/",
                         description="Run the selected cases (all by default) against the system under test. "
                         "Each run writes reports/<run-id>/results.json and one pcapng per case, and points "
                         "reports/latest at it. Needs root: it builds network namespaces.",
                         epilog="Arguments after '--' go to pytest unchanged, e.g. 'conformance run -- -x -vv'.")
    _selection_args(run)
    run.add_argument("-n", "--numprocesses", default=None, metavar="N",
                     help="parallel workers (pytest-xdist), 'auto' for one per core")
    run.add_argument("--report-dir", default=None, metavar="DIR", help="where to write reports (default: ./reports)")
    run.add_argument("--case-timeout", type=float, default=None, metavar="S",
                     help="stop a case after S seconds and report ERROR (default 30)")
    run.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help=argparse.SUPPRESS)

    lst = sub.add_parser("list", help="list the catalog (id, level, RFC, title)",
                         description="List the cases, filtered by the selection options. Needs no root.")
    _selection_args(lst)
    lst.add_argument("--json", action="store_true", help="print the metadata as JSON")

    show = sub.add_parser("show", help="print one case's requirement and description",
                          description="Print a case's metadata, the requirement it checks, its description "
                          "and where it is defined. Needs no root.")
    show.add_argument("case_id", metavar="ID")
    show.add_argument("--cases", default=None, metavar="DIR", help="the cases directory (default: ./cases)")

    sub.add_parser("clean", help="remove what killed runs left behind",
                   description="Find processes that a killed run started inside its namespaces (they keep "
                   "those namespaces alive) and kill them. Processes of runs that are still alive are left "
                   "alone. Runs do this themselves when they start. Needs root.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        handler = {"run": cmd_run, "list": cmd_list, "show": cmd_show, "clean": cmd_clean}[args.command]
        return handler(args)
    except (UsageError, CatalogError) as exc:
        print(f"conformance {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _cases_dir(args: argparse.Namespace) -> Path:
    path = Path(args.cases) if args.cases else Path.cwd() / "cases"
    if not path.is_dir():
        raise UsageError(f"no cases directory at {path}; run from the suite's checkout or pass --cases DIR")
    return path


def _filter(args: argparse.Namespace) -> Filter:
    try:
        levels = tuple(Level(x.upper()) for x in args.level)
    except ValueError:
        raise UsageError(f"unknown level in {args.level}; use MUST, SHOULD or MAY") from None
    f = Filter(protocol=tuple(args.protocol), rfc=tuple(args.rfc), level=levels, text=args.text,
               ids=tuple(args.case), tags=tuple(args.tag))
    f.validate()
    return f


def collect(cases_dir: Path) -> list[tuple[CaseInfo, str, str]]:
    """The catalog as pytest collects it: (info, node id, 'file:line'). Needs no root."""
    import pytest

    from conformance.catalog import info_of

    found: list[tuple[CaseInfo, str, str]] = []

    class Collector:
        def pytest_collection_finish(self, session: pytest.Session) -> None:
            for item in session.items:
                info = info_of(item)
                if info is not None:
                    path, line, _ = item.reportinfo()
                    found.append((info, item.nodeid, f"{path}:{(line or 0) + 1}"))

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = pytest.main(["--collect-only", "-q", "--no-report", "-p", "no:cacheprovider", str(cases_dir)],
                           plugins=[Collector()])
    if code not in (0, 5):
        raise UsageError(f"collecting the cases failed:\n{out.getvalue().strip()}")
    return found


def _select(args: argparse.Namespace) -> list[tuple[CaseInfo, str, str]]:
    f = _filter(args)
    catalog = collect(_cases_dir(args))
    _check_ids(f, [c[0] for c in catalog])
    return [c for c in catalog if f(c[0])]


def _check_ids(f: Filter, infos: list[CaseInfo]) -> None:
    from fnmatch import fnmatchcase

    for pat in f.ids:
        if not any(fnmatchcase(i.id, pat.upper()) for i in infos):
            raise UsageError(f"no case has the id {pat!r} (see 'conformance list')")


def cmd_list(args: argparse.Namespace) -> int:
    selected = _select(args)
    if args.json:
        print(json.dumps([{**info.as_dict(), "nodeid": nodeid, "where": where} for info, nodeid, where in selected], indent=1))
        return 0 if selected else 1
    if not selected:
        print("no case matches these filters", file=sys.stderr)
        return 1
    seen: set[str] = set()
    width = max(len(i.id) for i, _, _ in selected)
    for info, _, _ in sorted(selected, key=lambda c: c[0].id):
        if info.id in seen:
            continue
        seen.add(info.id)
        ref = f"RFC {info.rfc} {info.section}"
        print(f"{info.id:<{width}}  {info.level.value:<6}  {ref:<28}  {info.title}")
    print(f"{len(seen)} case(s)", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    catalog = collect(_cases_dir(args))
    wanted = args.case_id.upper()
    matches = [c for c in catalog if c[0].id == wanted]
    if not matches:
        raise UsageError(f"no case has the id {args.case_id!r} (see 'conformance list')")
    info, nodeid, where = matches[0]
    rows: list[tuple[str, Any]] = [
        ("id", info.id), ("title", info.title), ("level", info.level.value),
        ("rfc", f"RFC {info.rfc} section {info.section}  {info.rfc_url}"), ("layer", info.layer),
        ("protocol", info.protocol), ("requirement", info.requirement), ("test", nodeid), ("defined at", where),
    ]
    if info.needs:
        rows.append(("needs", ", ".join(info.needs)))
    if info.waits:
        rows.append(("waits", info.waits))
    if info.tags:
        rows.append(("tags", ", ".join(info.tags)))
    for key, value in rows:
        print(f"{key + ':':<13}{value}")
    print()
    print(info.doc)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from conformance.netns import can_create_namespaces

    cases_dir = _cases_dir(args)
    f = _filter(args)
    if f.ids:
        _check_ids(f, [c[0] for c in collect(cases_dir)])
    problem = can_create_namespaces()
    if problem:
        raise UsageError(problem)
    argv: list[str] = [str(cases_dir)]
    for flag, values in (("--case", args.case), ("--protocol", args.protocol), ("--rfc", args.rfc),
                         ("--level", args.level), ("--tag", args.tag)):
        for v in values:
            argv += [flag, str(v)]
    if f.text:
        argv += ["--text", f.text]
    if args.numprocesses:
        argv += ["-n", str(args.numprocesses)]
    if args.report_dir:
        argv += ["--report-dir", args.report_dir]
    if args.case_timeout:
        argv += ["--case-timeout", str(args.case_timeout)]
    argv += args.pytest_args
    code = int(pytest.main(argv))
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("conformance run: no case matches the selection", file=sys.stderr)
        return EXIT_USAGE
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    return code


def cmd_clean(args: argparse.Namespace) -> int:
    from conformance import runs

    if os.geteuid() != 0:
        raise UsageError("cleaning needs root to see and stop other runs' processes; run it with sudo")
    found = runs.clean()
    for item in found:
        print(f"killed pid {item.pid} (left by dead run {item.owner}): {item.command}")
    print(f"{len(found)} leftover process(es) removed" if found else "nothing to clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
