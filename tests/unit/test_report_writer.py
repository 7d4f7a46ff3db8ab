"""The run's files: results.json keys, the merged pcapng, everything written together, and `conformance report`."""

import json

from conformance import pcap
from conformance.cli import main
from conformance.report import merged_pcap, outputs
from conformance.report.model import case_key, write_results
from conformance.report.synthetic import make_run


def test_case_key_keeps_parameters_but_not_the_file():
    assert case_key({"id": "ARP-X", "nodeid": "cases/arp/t.py::test_x[op9]"}) == "ARP-X[op9]"
    assert case_key({"id": "ARP-X", "nodeid": "cases/arp/t.py::test_x"}) == "ARP-X"


def test_merged_pcap_holds_every_case_frame_in_time_order(tmp_path):
    run_dir = tmp_path / "run"
    results = make_run(run_dir, 12)
    n = merged_pcap.write(results, run_dir, run_dir / "run.pcapng")
    packets = pcap.read(run_dir / "run.pcapng")
    assert n == len(packets) == sum(len(c["frames"]) for c in results["cases"])
    assert [p.t_ns for p in packets] == sorted(p.t_ns for p in packets)
    first = results["cases"][0]
    mine = [p for p in packets if p.interface.startswith(first["id"] + "/")]
    assert [p.data for p in mine] == [p.data for p in pcap.read(run_dir / first["pcap"])]
    assert {p.interface.split("/")[1] for p in mine} <= {"tester", "far"}
    assert all(p.comment.startswith(first["id"]) for p in mine)


def test_a_damaged_case_pcap_is_left_out_of_the_merge(tmp_path):
    run_dir = tmp_path / "run"
    results = make_run(run_dir, 3)
    (run_dir / results["cases"][1]["pcap"]).write_bytes(b"\x0a\x0d\x0d\x0a\xff\xff\xff\x00")
    n = merged_pcap.write(results, run_dir, run_dir / "run.pcapng")
    assert n == len(results["cases"][0]["frames"]) + len(results["cases"][2]["frames"])


def test_write_all_makes_the_three_files(tmp_path):
    """The page last: it links the other two, which must exist by then."""
    run_dir = tmp_path / "run"
    results = make_run(run_dir, 5)
    files = outputs.write_all(results, run_dir)
    assert sorted(p.name for p in files.values()) == ["index.html", "junit.xml", "run.pcapng"]
    assert all(p.stat().st_size > 0 for p in files.values())
    assert not list(run_dir.glob("*.tmp"))


def test_report_command_renders_from_results_json(tmp_path, capsys):
    run_dir = tmp_path / "run"
    results = make_run(run_dir, 8, outcome_of={0: "fail", 1: "pass"})
    write_results(run_dir / "results.json", results)
    before = (run_dir / "results.json").read_bytes()
    out = tmp_path / "elsewhere" / "r.html"
    out.parent.mkdir()
    assert main(["report", str(run_dir / "results.json"), "-o", str(out), "--junit", str(tmp_path / "j.xml")]) == 0
    page = out.read_text()
    assert page.count('"nd":"cases/') == 8, "every case is in the page's data"
    assert f'"pc":"../run/pcap/{results["cases"][0]["id"]}.pcapng"' in page
    assert (tmp_path / "j.xml").exists()
    assert (run_dir / "results.json").read_bytes() == before, "rendering must not change results.json"

    baseline = tmp_path / "b.toml"
    baseline.write_text('[[deviation]]\nid = "ETH-SYNTH-0000"\nverdict = "fail"\nrfc = "r"\nreason = "known"\n')
    code = main(["report", str(run_dir / "results.json"), "-o", str(out), "--baseline", str(baseline)])
    printed = capsys.readouterr().out
    others = [c for c in results["cases"] if c["id"] != "ETH-SYNTH-0000" and c["outcome"] != "pass"
              and not (c["outcome"] == "skip" and c["needs"])]
    assert code == (1 if others else 0)
    assert "ETH-SYNTH-0000" not in printed
    assert "known deviation" in out.read_text()

    baseline.write_text("[[deviation]]\nid = 1\n")
    assert main(["report", str(run_dir / "results.json"), "-o", str(out), "--baseline", str(baseline)]) == 2
    assert "b.toml line 2: id must be a non-empty string" in capsys.readouterr().err


def test_results_json_schema_fields_are_documented(repo, tmp_path):
    """Every key a run writes is named in docs/results.md (the schema's reference)."""
    doc = (repo / "docs" / "results.md").read_text()
    results = make_run(tmp_path / "run", 2)
    results["cases"][0]["baseline"] = {"expected": "fail", "match": True, "deviation": True, "rfc": "", "reason": "",
                                       "file": "", "line": 1}
    results["run"]["baseline"] = {"source": "", "files": [], "entries": 0, "differences": 0, "unused": []}
    keys = set(results) | set(results["run"]) | set(results["run"]["sut"]) | set(results["run"]["host"])
    keys |= set(results["summary"]) | set(results["cases"][0]) | set(results["cases"][0]["frames"][0])
    keys |= set(results["cases"][0]["baseline"]) | set(results["run"]["baseline"])
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert missing == [], f"docs/results.md does not describe {missing}"
    json.dumps(results)  # and it is plain JSON
