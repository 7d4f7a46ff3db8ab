"""results.json: summaries, atomic writing, and refusal of what is not a results file."""

import json

import pytest

from conformance.report.model import ResultsError, make_results, point_latest, read_results, summarize, write_results


def case(cid, outcome, level="MUST", protocol="arp"):
    return {"id": cid, "nodeid": f"cases/x.py::{cid}", "outcome": outcome, "level": level, "protocol": protocol}


CASES = [case("ARP-A", "pass"), case("ARP-B", "fail"), case("ICMP-C", "fail", "SHOULD", "icmp"), case("ICMP-D", "inconclusive", "MAY", "icmp")]


def test_summary_separates_levels_and_protocols():
    s = summarize(CASES)
    assert s["total"] == 4
    assert s["outcomes"] == {"pass": 1, "fail": 2, "not-implemented": 0, "skip": 0, "inconclusive": 1, "error": 0}
    assert s["by_level"]["MUST"]["fail"] == 1 and s["by_level"]["SHOULD"]["fail"] == 1
    assert s["by_protocol"]["icmp"]["inconclusive"] == 1


def test_written_results_read_back(tmp_path):
    results = make_results({"id": "r1"}, list(reversed(CASES)))
    assert [c["id"] for c in results["cases"]] == ["ARP-A", "ARP-B", "ICMP-C", "ICMP-D"]
    path = tmp_path / "results.json"
    write_results(path, results)
    back = read_results(path)
    assert [{k: c[k] for k in CASES[0]} for c in back["cases"]] == [{k: c[k] for k in CASES[0]} for c in results["cases"]]
    assert back["summary"] == results["summary"] and back["run"] == results["run"]
    assert back["cases"][0]["title"] == "ARP-A", "a case without a title is shown by its id"
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    ('{"schema": "other"}', "not a conformance results file"),
    ('{"schema": "conformance-results", "schema_version": 99}', "schema version 99"),
    ('{"schema": "conformance-results", "schema_version": 2, "run": {"id": "r"}}', "has no 'cases' list"),
    ('{"schema": "conformance-results", "schema_version": 2, "cases": []}', "has no 'run' object"),
    ('{"schema": "conformance-results", "schema_version": 2, "run": {"id": "r"}, "cases": [7]}', "case #1 is not an object"),
    ('{"schema": "conformance-results", "schema_version": 2, "run": {"id": "r"}, "cases": [{"id": "A", "level": "MUST"}]}',
     "case A has no valid 'outcome'"),
    ('{"schema": "conformance-results", "schema_version": 2, "run": {"id": "r"}, "cases": [{"id": "A", "level": "MUST", '
     '"outcome": "great"}]}', "unknown verdict 'great'"),
    ('{"schema": "conformance-results", "schema_version": 2, "run": {"id": "r"}, "cases": [{"id": "A", "level": "MUST", '
     '"outcome": "pass", "frames": 3}]}', "invalid 'frames'"),
])
def test_unreadable_files_are_refused_with_the_reason(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(ResultsError, match=message):
        read_results(path)
    with pytest.raises(ResultsError, match="no such results file"):
        read_results(tmp_path / "missing.json")


def test_latest_points_at_the_newest_run(tmp_path):
    for name in ("run1", "run2"):
        (tmp_path / name).mkdir()
        point_latest(tmp_path, tmp_path / name)
    assert (tmp_path / "latest").resolve() == (tmp_path / "run2").resolve()
    assert json.dumps(str((tmp_path / "latest").readlink())) == '"run2"'


def test_binary_files_and_directories_are_refused_with_the_reason(tmp_path):
    binary = tmp_path / "results.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00")
    with pytest.raises(ResultsError, match="not a text file"):
        read_results(binary)
    with pytest.raises(ResultsError, match="is a directory"):
        read_results(tmp_path)
