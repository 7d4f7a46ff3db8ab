"""`conformance diff`: regressions, fixes, appearances and durations beyond noise."""

import json

from conformance.cli import main
from conformance.report import diff
from conformance.report.model import make_results, write_results


def case(cid, outcome, ms=10.0, nodeid=None):
    return {"id": cid, "nodeid": nodeid or f"cases/x.py::{cid}", "outcome": outcome, "duration_ms": ms, "title": cid.lower(),
            "level": "MUST", "rfc": 792, "section": "Echo", "protocol": "icmp", "message": f"why {cid}"}


def run(rid, *cases):
    return make_results({"id": rid, "started": "2026-01-01T00:00:00+00:00", "sut": {"kernel": "6.18"}}, list(cases))


OLD = run("old", case("ICMP-A", "pass"), case("ICMP-B", "fail"), case("ICMP-C", "pass", 10), case("ICMP-D", "pass"),
          case("ICMP-E", "pass", 10), case("ICMP-F", "pass"), case("ICMP-G", "fail"), case("ICMP-P", "pass", nodeid="a.py::t[x]"))
NEW = run("new", case("ICMP-A", "fail"), case("ICMP-B", "pass"), case("ICMP-C", "pass", 90), case("ICMP-E", "pass", 25),
          case("ICMP-F", "inconclusive"), case("ICMP-G", "error"), case("ICMP-H", "pass"), case("ICMP-P", "skip", nodeid="b.py::t[x]"))


def keys(d, kind):
    return [e["key"] for e in d[kind]]


def test_each_kind_of_change_is_found():
    d = diff.compare(OLD, NEW)
    assert keys(d, "regressed") == ["ICMP-A", "ICMP-F"]
    assert keys(d, "fixed") == ["ICMP-B"]
    assert keys(d, "changed") == ["ICMP-G", "ICMP-P[x]"]  # fail -> error; pass -> skip (the file moved: same case)
    assert keys(d, "appeared") == ["ICMP-H"] and keys(d, "disappeared") == ["ICMP-D"]
    assert keys(d, "slower") == ["ICMP-C"]  # 10 -> 25 ms is within the noise allowance (20 ms)
    assert d["unchanged"] == 1 and diff.has_regressions(d)


def test_noise_allowance_is_adjustable():
    d = diff.compare(OLD, NEW, diff.Noise(min_ms=5, ratio=2))
    assert keys(d, "slower") == ["ICMP-C", "ICMP-E"]
    assert keys(diff.compare(NEW, OLD), "faster") == ["ICMP-C"]


def test_text_names_every_case_under_its_kind():
    out = diff.text(diff.compare(OLD, NEW))
    assert "regressed (2):" in out and "ICMP-A" in out and "pass -> fail  why ICMP-A" in out
    assert "2 regressed, 1 fixed, 2 changed, 1 appeared, 1 disappeared, 1 slower, 0 faster, 1 unchanged" in out


def test_cli_exit_status_and_html(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    write_results(old, OLD)
    write_results(new, NEW)
    page = tmp_path / "diff.html"
    assert main(["diff", str(old), str(new), "--html", str(page)]) == 1
    assert "regressed (2):" in capsys.readouterr().out
    text = page.read_text()
    assert "Regressed (2)" in text and "ICMP-A" in text and "<script" not in text
    assert main(["diff", str(new), str(new), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == len(NEW["cases"])
    assert main(["diff", str(old), str(tmp_path / "missing.json")]) == 2
    assert "no such results file" in capsys.readouterr().err
    assert main(["diff", str(old), str(new), "--ratio", "0.5"]) == 2
