"""Baselines: strict reading (one sentence naming file and line), and matching a run against them."""

import pytest

from conformance.report.baseline import BaselineError, annotate, load


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


ENTRY = '[[deviation]]\nid = "{id}"\nverdict = "{verdict}"\nrfc = "RFC 1122 3.2.2.6: MUST"\nreason = "seen on 6.18"\n\n'


def case(cid, outcome, needs=()):
    return {"id": cid, "nodeid": f"cases/x.py::{cid}", "outcome": outcome, "needs": list(needs)}


def results(*cases, capabilities=("sysctl",)):
    return {"run": {"sut": {"capabilities": list(capabilities)}}, "cases": list(cases)}


def test_a_directory_is_read_whole(tmp_path):
    write(tmp_path, "icmp.toml", ENTRY.format(id="ICMP-A", verdict="fail"))
    write(tmp_path, "arp.toml", ENTRY.format(id="ARP-B", verdict="inconclusive") + ENTRY.format(id="ARP-C", verdict="fail"))
    write(tmp_path, "notes.txt", "not a baseline")
    b = load(tmp_path)
    assert sorted(b.deviations) == ["ARP-B", "ARP-C", "ICMP-A"]
    assert b.deviations["ARP-C"].line == 7 and b.deviations["ARP-C"].file.endswith("arp.toml")


def test_verdicts_match_the_baseline_or_are_listed(tmp_path):
    b = load(write(tmp_path, "b.toml", ENTRY.format(id="ICMP-A", verdict="fail") + ENTRY.format(id="ICMP-B", verdict="fail")))
    r = results(case("ICMP-A", "fail"), case("ICMP-B", "pass"), case("ICMP-C", "pass"), case("ICMP-D", "error"),
                case("ICMP-E", "skip", needs=["sockets"]), case("ICMP-F", "skip"))
    diffs = annotate(r, b)
    assert [(d.id, d.expected, d.got) for d in diffs] == [
        ("ICMP-B", "fail", "pass"),  # fixed: the baseline is out of date, which is a difference too
        ("ICMP-D", "pass", "error"),
        ("ICMP-F", "pass", "skip"),  # a skip the SUT's capabilities do not explain
    ]
    by_id = {c["id"]: c["baseline"] for c in r["cases"]}
    assert by_id["ICMP-A"] == {"expected": "fail", "match": True, "deviation": True, "rfc": "RFC 1122 3.2.2.6: MUST",
                               "reason": "seen on 6.18", "file": str(tmp_path / "b.toml"), "line": 1}
    assert by_id["ICMP-E"]["match"] and by_id["ICMP-E"]["expected"] == "skip"
    assert r["run"]["baseline"]["differences"] == 3
    assert "b.toml line 7" in diffs[0].line()


def test_entries_for_cases_not_run_are_reported_unused(tmp_path):
    b = load(write(tmp_path, "b.toml", ENTRY.format(id="TCP-GONE", verdict="fail")))
    r = results(case("ICMP-A", "pass"))
    assert annotate(r, b) == []
    assert r["run"]["baseline"]["unused"] == ["TCP-GONE"]


@pytest.mark.parametrize(("text", "message"), [
    ('[[deviation]]\nid = "A"\nverdict = "fail"\nrfc = "x"\nreson = "typo"\n', "b.toml line 5: unknown key 'reson'"),
    ('[[deviation]]\nid = "A"\nverdict = "FAIL"\nrfc = "x"\nreason = "y"\n', "b.toml line 3: verdict 'FAIL' is not one of"),
    ('[[deviation]]\nid = "A"\nverdict = "fail"\nrfc = "x"\n', "b.toml line 1: this [[deviation]] has no reason"),
    ('[[deviation]]\nid = "A"\nverdict = "fail"\nrfc = "x"\nreason = ""\n', "b.toml line 5: reason must be a non-empty string"),
    ('[[deviation]]\nid = "A"\nverdict = "fail"\nrfc = 1122\nreason = "y"\n', "b.toml line 4: rfc must be a non-empty string"),
    ('[[deviation]\nid = "A"\n', "b.toml line 1: TOML syntax error"),
    ('id = "A"\n', "b.toml line 1: unknown top-level key 'id'"),
    ('\n\ndeviation = "x"\n', "b.toml line 3: 'deviation' must be written as [[deviation]] tables"),
    (ENTRY.format(id="A", verdict="fail") + ENTRY.format(id="A", verdict="pass"),
     "b.toml line 7: case A is already in the baseline at"),
])
def test_bad_baselines_are_refused_with_file_and_line(tmp_path, text, message):
    path = write(tmp_path, "b.toml", text)
    with pytest.raises(BaselineError) as exc:
        load(path)
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_duplicate_across_files_names_both(tmp_path):
    write(tmp_path, "a.toml", ENTRY.format(id="A", verdict="fail"))
    write(tmp_path, "b.toml", "# comment\n" + ENTRY.format(id="A", verdict="fail"))
    with pytest.raises(BaselineError, match=r"b\.toml line 2: case A is already in the baseline at .*a\.toml line 1"):
        load(tmp_path)


def test_a_missing_path_is_refused(tmp_path):
    with pytest.raises(BaselineError, match="no such baseline file or directory"):
        load(tmp_path / "nope")


def test_shipped_baselines_are_valid(repo):
    """Whatever cases/baselines/ holds must load: a broken file would stop every gated run."""
    for kind_dir in sorted((repo / "cases" / "baselines").iterdir()):
        if kind_dir.is_dir():
            load(kind_dir)


def test_a_baseline_extends_another_and_says_where_it_differs(tmp_path):
    parent = tmp_path / "linux"
    parent.mkdir()
    write(parent, "tcp.toml", ENTRY.format(id="TCP-A", verdict="fail") + ENTRY.format(id="TCP-B", verdict="fail"))
    child = tmp_path / "linux-6.1"
    child.mkdir()
    write(child, "diff.toml", 'extends = "../linux"\n\n[[resolved]]\nid = "TCP-A"\nreason = "6.1 backs off"\n\n'
          + ENTRY.format(id="TCP-C", verdict="fail"))
    b = load(child)
    assert sorted(b.deviations) == ["TCP-B", "TCP-C"]
    assert any(f.endswith("tcp.toml") for f in b.files) and any(f.endswith("diff.toml") for f in b.files)
    write(child, "diff.toml", 'extends = "../linux"\n\n[[resolved]]\nid = "TCP-Z"\nreason = "x"\n')
    with pytest.raises(BaselineError, match="TCP-Z is marked resolved but the baseline it extends has no deviation"):
        load(child)
    write(child, "diff.toml", '[[resolved]]\nid = "TCP-A"\nreason = "x"\n')
    with pytest.raises(BaselineError, match=r"\[\[resolved\]\] needs extends"):
        load(child)
    write(child, "diff.toml", 'extends = "."\n')
    with pytest.raises(BaselineError, match="extends itself"):
        load(child)


def test_an_entry_may_name_one_parameter_set(tmp_path):
    b = load(write(tmp_path, "b.toml", ENTRY.format(id="FRAG-K[protocol]", verdict="fail")))
    r = results({**case("FRAG-K", "fail"), "nodeid": "cases/f.py::t[protocol]"},
                {**case("FRAG-K", "pass"), "nodeid": "cases/f.py::t[source]"})
    assert annotate(r, b) == []


def test_a_not_applicable_skip_is_no_difference_but_another_skip_is(tmp_path):
    b = load(write(tmp_path, "b.toml", ""))
    r = results({**case("ICMP-A", "skip"), "message": "not applicable: the SUT does not offer this: no knob x"},
                {**case("ICMP-B", "skip"), "message": "skipped for another reason"},
                {**case("ICMP-C", "not-implemented"), "message": "no extensions"})
    assert [d.id for d in annotate(r, b)] == ["ICMP-B"]
