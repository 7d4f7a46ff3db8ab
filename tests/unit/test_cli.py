"""The command line: listing and showing need no root; bad input is one sentence and exit 2."""

import json
import re
import textwrap
import uuid

import pytest

from conformance import catalog_cache, cli
from conformance.catalog import Filter

CASES = textwrap.dedent('''
    import pytest

    from conformance.catalog import MUST, SHOULD, case


    @case("ARP-ONE", rfc=826, section="Packet Reception", level=MUST, layer=2)
    def test_one(lan):
        """The first requirement.

        How it is checked.
        """


    @case("ICMP-TWO", rfc=1122, section="3.2.2.6", level=SHOULD, layer=3, tags=["echo"])
    def test_two(lan):
        """The second requirement."""


    @pytest.mark.parametrize("op", [0, 9, 65535])
    @case("ARP-THREE", rfc=826, section="Packet Reception", level=MUST, layer=2)
    def test_three(lan, op):
        """The third requirement, once per opcode."""
''')


@pytest.fixture
def cases_dir(tmp_path):
    d = tmp_path / "cases"
    d.mkdir()
    # A name of its own per test: pytest caches modules by name across in-process runs.
    (d / f"test_sample_{uuid.uuid4().hex}.py").write_text(CASES)
    return d


def run(capsys, *argv):
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse refuses a malformed option value this way
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_id_level_rfc_title(capsys, cases_dir):
    code, out, err = run(capsys, "list", "--cases", str(cases_dir))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ARP-ONE", "MUST", "RFC", "826"]
    assert lines[1].split()[:4] == ["ARP-THREE", "MUST", "RFC", "826"] and lines[1].endswith("[3 parameter sets]")
    assert lines[2].split()[:5] == ["ICMP-TWO", "SHOULD", "RFC", "1122", "3.2.2.6"]
    assert err.strip() == "3 cases, 5 results (1 case run once per parameter set)"


@pytest.mark.parametrize(("argv", "ids"), [
    (["--protocol", "icmp"], ["ICMP-TWO"]),
    (["--level", "must"], ["ARP-ONE", "ARP-THREE"]),
    (["--rfc", "1122"], ["ICMP-TWO"]),
    (["--text", "first"], ["ARP-ONE"]),
    (["--text", "first", "--rfc", "826"], ["ARP-ONE"]),
    (["--case", "ICMP-*"], ["ICMP-TWO"]),
    (["--rfc", "826", "--level", "should"], []),
    (["--tag", "echo"], ["ICMP-TWO"]),
])
def test_list_filters(capsys, cases_dir, argv, ids):
    code, out, _ = run(capsys, "list", "--cases", str(cases_dir), *argv)
    assert code == (0 if ids else 1)
    assert [line.split()[0] for line in out.splitlines()] == ids


def test_list_with_no_match_says_so(capsys, cases_dir):
    """Criteria that each exist, met by no case together: nothing listed, exit 1 (as grep does)."""
    code, out, err = run(capsys, "list", "--cases", str(cases_dir), "--text", "zzz")
    assert (code, out) == (1, "") and err.strip() == (
        "no case meets every criterion given (each exists in the catalog, but not together)")


@pytest.mark.parametrize(("argv", "message"), [
    (["--rfc", "99999"], "no case cites RFC 99999; the catalog cites RFC 826, 1122"),
    (["--case", "NOPE-*"], "no case has the id 'NOPE-*' (see 'conformance list')"),
    (["--tag", "ech"], "no case has the tag 'ech' (did you mean echo?); the tags are echo"),
    (["--protocol", "apr"], "unknown protocol 'apr' (did you mean arp?)"),
])
def test_a_criterion_that_names_nothing_in_the_catalog_is_exit_2(capsys, cases_dir, argv, message):
    """--rfc 99999 and --case NOPE-* are the same mistake and get the same answer."""
    code, out, err = run(capsys, "list", "--cases", str(cases_dir), *argv)
    assert (code, out) == (2, "") and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(("argv", "message"), [
    (["list", "--protocol", "ipx"], "unknown protocol 'ipx'"),
    (["list", "--level", "OPTIONAL"], "use MUST, SHOULD or MAY"),
    (["list", "--case", "NOPE-1"], "no case has the id 'NOPE-1'"),
    (["show", "NOPE-1"], "no case has the id 'NOPE-1'"),
    (["run", "--case", "NOPE-*"], "no case has the id"),
    (["run", "--case-timeout", "-5"], "a case timeout must be a number of seconds above 0"),
    (["run", "--case-timeout", "0"], "a case timeout must be a number of seconds above 0"),
    (["run", "--case-timeout", "nan"], "a case timeout must be a number of seconds above 0"),
    (["run", "--case-timeout", "inf"], "a case timeout must be a number of seconds above 0"),
    (["run", "-n", "two"], "give a number of workers or 'auto'"),
    (["run", "--report-dir", "/proc/foo"], "cannot write reports under /proc/foo"),
    (["run", "--sut", "tap", "--sut-ip", "198.18.7.2", "--sut-command", "foo 'unterminated"], "cannot be split into words"),
    (["run", "--sut-profile", "/dev/null/x"], "cannot read the profile"),
])
def test_bad_input_is_one_sentence_and_exit_2(capsys, cases_dir, argv, message, monkeypatch):
    # `run` checks privilege before it collects; an unknown id must be refused without root too.
    monkeypatch.setattr("conformance.netns.can_create_namespaces", lambda: None)
    code, _, err = run(capsys, *argv, "--cases", str(cases_dir))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 or err.startswith("usage:"), err


def test_report_dir_that_is_a_file_is_refused(capsys, cases_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("conformance.netns.can_create_namespaces", lambda: None)
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run(capsys, "run", "--report-dir", str(afile), "--cases", str(cases_dir))
    assert code == 2 and err.strip() == f"conformance run: --report-dir {afile} is a file, not a directory"


def test_binary_profile_is_one_sentence(capsys, cases_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("conformance.netns.can_create_namespaces", lambda: None)
    binary = tmp_path / "p.toml"
    binary.write_bytes(b"\x00\xff\xfe\x89PNG")
    code, _, err = run(capsys, "run", "--sut-profile", str(binary), "--cases", str(cases_dir))
    assert code == 2 and err.strip() == f"conformance run: {binary}: not a text file; a profile is TOML"


@pytest.mark.parametrize(("content", "message"), [
    (b'{"schema": "conformance-results", "schema_version": 2, "run": {"id": "r"}}', "has no 'cases' list"),
    (b'{"schema": "conformance-results", "schema_version": 2, "run": {"id": "r"}, "cases": [{"id": "A"}]}', "has no valid"),
    (b"\x89PNG\r\n\x1a\n\xff\xfe\x00", "not a text file"),
    (None, "is a directory"),
])
@pytest.mark.parametrize("command", ["report", "diff"])
def test_report_and_diff_refuse_bad_results_in_one_sentence(capsys, tmp_path, content, message, command):
    path = tmp_path / "results.json"
    if content is None:
        path = tmp_path
    else:
        path.write_bytes(content)
    argv = [command, str(path)] + ([str(path)] if command == "diff" else [])
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def _results_file(tmp_path):
    from conformance.report.model import write_results
    from conformance.report.synthetic import make_run

    results = make_run(tmp_path / "run", 3)
    write_results(tmp_path / "run" / "results.json", results)
    return tmp_path / "run" / "results.json"


def test_report_to_an_unwritable_place_is_one_sentence(capsys, tmp_path):
    code, _, err = run(capsys, "report", str(_results_file(tmp_path)), "-o", "/nonexistent/dir/x.html")
    assert code == 2
    assert err == "conformance report: cannot write /nonexistent/dir/x.html: the directory /nonexistent/dir does not exist\n"


def test_report_renders_every_file_again_unless_told_which(capsys, tmp_path):
    results = _results_file(tmp_path)
    assert run(capsys, "report", str(results))[0] == 0
    for name in ("index.html", "junit.xml", "run.pcapng"):
        assert (results.parent / name).stat().st_size > 0, name
    (results.parent / "junit.xml").unlink()
    (results.parent / "run.pcapng").unlink()
    assert run(capsys, "report", str(results), "-o", str(tmp_path / "page.html"))[0] == 0
    assert (tmp_path / "page.html").exists() and not (results.parent / "junit.xml").exists(), "-o writes the page alone"


def test_argparse_errors_are_one_sentence_without_the_usage(capsys, cases_dir):
    code, out, err = run(capsys, "run", "-n", "two", "--cases", str(cases_dir))
    assert code == 2 and out == ""
    assert err == ("conformance run: -n/--numprocesses: 'two': give a number of workers or 'auto' (one per core) "
                   "(see 'conformance run --help')\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["lsit"], "conformance: no command 'lsit' (did you mean list?); the commands are run, list, show, merge, report, "
               "diff, clean (see 'conformance --help')"),
    (["show", "ARP-ONF"], "conformance show: no case has the id 'ARP-ONF' (did you mean ARP-ONE?) (see 'conformance list')"),
    (["list", "--case", "ICMP-TW"], "conformance list: no case has the id 'ICMP-TW' (did you mean ICMP-TWO?)"),
    (["list", "--level", "MUSTT"], "conformance list: unknown level 'MUSTT' (did you mean MUST?); use MUST, SHOULD or MAY"),
])
def test_a_mistyped_name_gets_a_suggestion(capsys, cases_dir, argv, message):
    extra = ["--cases", str(cases_dir)] if argv[0] != "lsit" else []
    code, _, err = run(capsys, *argv, *extra)
    assert code == 2 and err.startswith(message) and len(err.strip().splitlines()) == 1, err
    assert "[" not in err, "no Python list in a message"


def test_a_missing_baseline_is_one_clean_sentence(capsys, cases_dir, monkeypatch):
    monkeypatch.setattr("conformance.netns.can_create_namespaces", lambda: None)
    code, out, err = run(capsys, "run", "--baseline", "/nonexistent", "--cases", str(cases_dir))
    assert (code, out) == (2, "")
    assert err == "conformance run: /nonexistent: no such baseline file or directory\n"


def test_an_unknown_id_is_refused_before_pytest_prints_anything(capsys, cases_dir, monkeypatch):
    monkeypatch.setattr("conformance.netns.can_create_namespaces", lambda: None)
    code, out, err = run(capsys, "run", "--case", "ICMP-NOPE", "--cases", str(cases_dir))
    assert (code, out) == (2, ""), out
    assert err == "conformance run: no case has the id 'ICMP-NOPE' (see 'conformance list')\n"


def test_progress_can_be_turned_off_and_the_readme_names_only_real_options(repo):
    parser = cli.build_parser()
    run_parser = parser._subparsers._group_actions[0].choices["run"]
    flags = {flag for action in run_parser._actions for flag in action.option_strings}
    assert "--no-progress" in flags
    readme = (repo / "README.md").read_text()
    for line in readme.splitlines():
        if "conformance run" in line:
            for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", line.split("#", 1)[0]):
                assert flag in flags, f"README: {line.strip()!r} names {flag}, which 'conformance run' does not have"


def test_missing_cases_directory_is_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "list", "--cases", str(tmp_path / "nowhere"))
    assert code == 2 and "no cases directory" in err


def test_show_prints_requirement_once_and_the_description(capsys, cases_dir):
    code, out, _ = run(capsys, "show", "arp-one", "--cases", str(cases_dir))
    assert code == 0
    assert "requirement: The first requirement." in out
    assert out.count("The first requirement.") == 1, "the requirement is the docstring's first paragraph: said once"
    assert "https://www.rfc-editor.org/rfc/rfc826" in out
    assert out.rstrip().endswith("How it is checked.")


def test_show_says_whether_the_case_is_a_known_deviation(capsys, cases_dir):
    linux = cases_dir / "baselines" / "linux"
    linux.mkdir(parents=True)
    (linux / "arp.toml").write_text('[[deviation]]\nid = "ARP-ONE"\nverdict = "fail"\nrfc = "RFC 826"\n'
                                    'reason = "the kernel answers late"\n')
    code, out, _ = run(capsys, "show", "ARP-ONE", "--cases", str(cases_dir))
    assert code == 0
    assert "baseline:    known deviation (ARP-ONE: expected fail; arp.toml line 1): the kernel answers late" in out
    code, out, _ = run(capsys, "show", "ICMP-TWO", "--cases", str(cases_dir))
    assert f"baseline:    no entry in {linux}: expected to pass" in out
    code, out, _ = run(capsys, "show", "ARP-THREE", "--cases", str(cases_dir))
    assert "parameters:  3 sets, one result each: 0, 9, 65535" in out


def test_run_without_privilege_says_what_is_missing(capsys, cases_dir, monkeypatch):
    monkeypatch.setattr("conformance.netns.can_create_namespaces", lambda: "the suite needs root; run it with sudo")
    code, _, err = run(capsys, "run", "--cases", str(cases_dir))
    assert code == 2
    assert err.strip() == "conformance run: the suite needs root; run it with sudo"


def test_every_command_has_help(capsys):
    for command in cli.COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            cli.main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: conformance " + command in capsys.readouterr().out


def test_no_command_prints_help_and_exit_2(capsys):
    code, out, _ = run(capsys)
    assert code == 2 and "usage: conformance" in out


SUT_CASES = textwrap.dedent('''
    from conformance.catalog import MUST, case


    @case("RT-NEEDS-ROUTER", rfc=1812, section="5.3.1", level=MUST, layer=3)
    def test_router(routed):
        """Needs a topology the suite builds."""


    @case("ARP-NEEDS-STATE", rfc=826, section="Packet Reception", level=MUST, layer=2)
    def test_state(lan):
        """Reads the SUT's table."""
        lan.control.neighbours()


    @case("TCP-NEEDS-LISTENER", rfc=9293, section="3.5", level=MUST, layer=4)
    def test_listener(lan):
        """Only needs a listening port."""
        lan.app.listen(7)


    @case("ARP-PLAIN", rfc=826, section="Packet Reception", level=MUST, layer=2)
    def test_plain(lan):
        """Only needs the segment."""
''')


def test_list_says_which_cases_an_external_sut_would_skip_and_why(capsys, tmp_path):
    d = tmp_path / "cases"
    d.mkdir()
    (d / f"test_sut_{uuid.uuid4().hex}.py").write_text(SUT_CASES)
    (d / "conftest.py").write_text("from fixtures import PLUGINS as pytest_plugins\n")  # a case directory outside the checkout
    code, out, err = run(capsys, "list", "--cases", str(d), "--sut", "tap", "--sut-tcp-port", "7")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "[skip:" not in lines["ARP-PLAIN"]
    assert "[skip:" not in lines["TCP-NEEDS-LISTENER"], "--sut-tcp-port offers the listener"
    assert "[skip: the tap SUT does not offer its state to the suite" in lines["ARP-NEEDS-STATE"]
    assert "[skip: the tap SUT does not offer a second segment behind it" in lines["RT-NEEDS-ROUTER"]
    assert "4 cases, 2 apply to the tap SUT" in err
    code, out, _ = run(capsys, "show", "RT-NEEDS-ROUTER", "--cases", str(d), "--sut", "iface")
    assert "needs:       second_segment" in out
    assert "applies:     no, on the iface SUT: the iface SUT does not offer a second segment behind it" in out


def test_diff_against_a_selection_notices_the_selection(capsys, tmp_path):
    from conformance.report.model import write_results
    from conformance.report.synthetic import make_run

    full = make_run(tmp_path / "full", 20, seed=1)
    part = json.loads(json.dumps(full))
    part["cases"] = [c for c in part["cases"] if c["id"].startswith("ARP-")]
    part["run"]["selection"] = {"case": ["ARP-*"]}
    part["cases"].append({**part["cases"][0], "id": "ICMP-NEW", "protocol": "icmp"})  # not selected: appeared anyway
    write_results(tmp_path / "full.json", full)
    write_results(tmp_path / "part.json", part)
    code, out, _ = run(capsys, "diff", str(tmp_path / "full.json"), str(tmp_path / "part.json"))
    assert code == 0
    outside = sum(1 for c in full["cases"] if not c["id"].startswith("ARP-"))
    assert "disappeared (" not in out, out
    assert f"{outside} case(s) of the old run are outside the new run's selection (--case ARP-*): not compared" in out
    assert "0 disappeared" in out


def test_a_bad_shard_is_one_sentence(cases_dir, capsys):
    code, _, err = run(capsys, "run", "--shard", "0/3", "--cases", str(cases_dir))
    assert code == 2 and err == ("conformance run: --shard: 0/3: K must be between 1 and N, and N at least 1 "
                                 "(see 'conformance run --help')\n")


def test_the_ci_examples_run_commands_that_exist(repo):
    """Every `conformance` command docs/ci.md's GitHub, GitLab and local examples run parses."""
    import shlex

    text = (repo / "docs" / "ci.md").read_text()
    text = re.sub(r"\\\n\s*", " ", text)  # shell line continuations
    text = re.sub(r"\n\s{8,}(--)", r" \1", text)  # YAML's folded continuation of a script line
    commands = re.findall(r"\.venv/bin/conformance ([^\n`]*)", text)
    assert len(commands) >= 6
    subs = {"${{ matrix.shard }}": "1", '"$CI_NODE_INDEX/$CI_NODE_TOTAL"': "1/4", "$CI_NODE_INDEX": "1", "$k": "1"}
    for command in commands:
        for var, value in subs.items():
            command = command.replace(var, value)
        argv = shlex.split(command.split(";")[0].split("&&")[0])
        args = cli.build_parser().parse_args(argv)  # argparse exits (status 2) on anything it does not know
        assert args.command in ("run", "merge"), argv
        if args.command == "run":
            assert str(args.shard) in ("1/4",) and args.baseline == "cases/baselines/linux" and args.no_progress


def test_a_listed_catalog_is_listed_again_from_the_cache(capsys, cases_dir, monkeypatch):
    first = run(capsys, "list", "--cases", str(cases_dir), "--json")
    monkeypatch.setattr(cli, "_collect_with_pytest", lambda *a: pytest.fail("collected again"))
    assert run(capsys, "list", "--cases", str(cases_dir), "--json") == first


def test_run_of_a_selection_collects_only_the_modules_that_hold_it(capsys, cases_dir, monkeypatch):
    other = cases_dir / f"test_other_{uuid.uuid4().hex}.py"
    other.write_text(CASES.replace('"ARP-', '"TCP-').replace('"ICMP-', '"UDP-'))
    run(capsys, "list", "--cases", str(cases_dir))  # the catalog cache
    seen = []
    monkeypatch.setattr("conformance.netns.can_create_namespaces", lambda: None)
    monkeypatch.setattr("pytest.main", lambda argv, *a, **k: seen.append(argv) or 0)
    code, _, err = run(capsys, "run", "--cases", str(cases_dir), "--case", "TCP-*")
    assert code == 0, err
    argv = seen[-1]
    # pytest's rootdir for a directory without ini files depends on the invocation directory too
    # (the common ancestor of both): the narrowed run must use the one the full collection used.
    full_rootdir = catalog_cache.modules_for(cases_dir, Filter(ids=("TCP-*",)))
    assert full_rootdir is not None
    assert argv[:3] == ["--rootdir", str(full_rootdir[1]), str(other)], "the rootdir of the full collection, one module"
    assert cases_dir.resolve().is_relative_to(full_rootdir[1])
    assert argv[argv.index("--case") + 1] == "TCP-*", "the plugin still selects among what is collected"
    assert run(capsys, "run", "--cases", str(cases_dir))[0] == 0
    assert str(cases_dir) in seen[-1], "no selection: the whole directory"
