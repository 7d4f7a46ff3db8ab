"""The command line: listing and showing need no root; bad input is one sentence and exit 2."""

import textwrap
import uuid

import pytest

from conformance import cli

CASES = textwrap.dedent('''
    from conformance.catalog import MUST, SHOULD, case


    @case("ARP-ONE", rfc=826, section="Packet Reception", level=MUST, layer=2)
    def test_one(lan):
        """The first requirement.

        How it is checked.
        """


    @case("ICMP-TWO", rfc=1122, section="3.2.2.6", level=SHOULD, layer=3, tags=["echo"])
    def test_two(lan):
        """The second requirement."""
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
    assert lines[1].split()[:5] == ["ICMP-TWO", "SHOULD", "RFC", "1122", "3.2.2.6"]
    assert "2 case(s)" in err


@pytest.mark.parametrize(("argv", "ids"), [
    (["--protocol", "icmp"], ["ICMP-TWO"]),
    (["--level", "must"], ["ARP-ONE"]),
    (["--rfc", "1122"], ["ICMP-TWO"]),
    (["--text", "first"], ["ARP-ONE"]),
    (["--case", "ICMP-*"], ["ICMP-TWO"]),
    (["--tag", "echo"], ["ICMP-TWO"]),
])
def test_list_filters(capsys, cases_dir, argv, ids):
    code, out, _ = run(capsys, "list", "--cases", str(cases_dir), *argv)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ids


def test_list_with_no_match_says_so(capsys, cases_dir):
    code, out, err = run(capsys, "list", "--cases", str(cases_dir), "--text", "zzz")
    assert (code, out) == (1, "") and "no case matches" in err


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


def test_report_to_an_unwritable_place_is_one_sentence(capsys, tmp_path):
    from conformance.report.synthetic import make_run

    results = make_run(tmp_path / "run", 3)
    from conformance.report.model import write_results

    write_results(tmp_path / "run" / "results.json", results)
    code, _, err = run(capsys, "report", str(tmp_path / "run" / "results.json"), "-o", "/nonexistent/dir/x.html")
    assert code == 2 and "No such file or directory" in err and len(err.strip().splitlines()) == 1, err


def test_missing_cases_directory_is_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "list", "--cases", str(tmp_path / "nowhere"))
    assert code == 2 and "no cases directory" in err


def test_show_prints_requirement_and_docstring(capsys, cases_dir):
    code, out, _ = run(capsys, "show", "arp-one", "--cases", str(cases_dir))
    assert code == 0
    assert "requirement: The first requirement." in out
    assert "https://www.rfc-editor.org/rfc/rfc826" in out
    assert out.rstrip().endswith("How it is checked.")


def test_run_without_privilege_says_what_is_missing(capsys, cases_dir, monkeypatch):
    monkeypatch.setattr("conformance.netns.can_create_namespaces", lambda: "the suite needs root; run it with sudo")
    code, _, err = run(capsys, "run", "--cases", str(cases_dir))
    assert code == 2
    assert err.strip() == "conformance run: the suite needs root; run it with sudo"


def test_every_command_has_help(capsys):
    for command in ("run", "list", "show", "clean"):
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
    code, out, err = run(capsys, "list", "--cases", str(d), "--sut", "tap", "--sut-tcp-port", "7")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "[skip:" not in lines["ARP-PLAIN"]
    assert "[skip:" not in lines["TCP-NEEDS-LISTENER"], "--sut-tcp-port offers the listener"
    assert "[skip: the tap SUT does not offer its state to the suite" in lines["ARP-NEEDS-STATE"]
    assert "[skip: the tap SUT does not offer a second segment behind it" in lines["RT-NEEDS-ROUTER"]
    assert "4 case(s), 2 apply to the tap SUT" in err
    code, out, _ = run(capsys, "show", "RT-NEEDS-ROUTER", "--cases", str(d), "--sut", "iface")
    assert "needs:       second_segment" in out
    assert "applies:     no, on the iface SUT: the iface SUT does not offer a second segment behind it" in out


def test_a_listed_catalog_is_listed_again_from_the_cache(capsys, cases_dir, monkeypatch):
    first = run(capsys, "list", "--cases", str(cases_dir), "--json")
    monkeypatch.setattr(cli, "_collect_with_pytest", lambda *a: pytest.fail("collected again"))
    assert run(capsys, "list", "--cases", str(cases_dir), "--json") == first


def test_run_of_a_selection_collects_only_the_modules_that_hold_it(capsys, cases_dir, monkeypatch):
    other = cases_dir / f"test_other_{uuid.uuid4().hex}.py"
    other.write_text(CASES.replace("ARP-ONE", "TCP-THREE").replace("ICMP-TWO", "UDP-FOUR"))
    run(capsys, "list", "--cases", str(cases_dir))  # the catalog cache
    seen = []
    monkeypatch.setattr("conformance.netns.can_create_namespaces", lambda: None)
    monkeypatch.setattr("pytest.main", lambda argv, *a, **k: seen.append(argv) or 0)
    assert run(capsys, "run", "--cases", str(cases_dir), "--case", "TCP-*")[0] == 0
    argv = seen[-1]
    assert argv[:3] == ["--rootdir", str(cases_dir), str(other)], "the rootdir of the full collection, one module"
    assert argv[argv.index("--case") + 1] == "TCP-*", "the plugin still selects among what is collected"
    assert run(capsys, "run", "--cases", str(cases_dir))[0] == 0
    assert str(cases_dir) in seen[-1], "no selection: the whole directory"
