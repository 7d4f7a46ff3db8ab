"""JUnit XML: valid for the CI systems that read it, and telling the same story as the exit status.

The schema rules below are the ones this writer relies on, written down from Jenkins' JUnit
schema (jenkinsci/xunit-plugin, junit-10.xsd: what each element may carry and contain) and from
GitLab's documented JUnit parser (docs.gitlab.com, "Unit test reports": which elements it reads,
unique test names, attachments in a testcase's system-out). The child order is the stricter
sequence of the older junit-4 schema (properties, testcases, output; a verdict before output),
which junit-10's free choice also accepts.
"""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.report import baseline, junit, outputs
from conformance.report.synthetic import make_run

# element -> (allowed attributes, required attributes, regex over the child tags in order)
SCHEMA = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), r"(testsuite )*"),
    "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname",
                   "id", "package", "file", "log", "url"}, {"name", "tests", "failures", "errors"},
                  r"(properties )?(testcase )*(system-out )?(system-err )?"),
    "properties": (set(), set(), r"(property )*"),
    "property": ({"name", "value"}, {"name", "value"}, r""),
    "testcase": ({"name", "time", "classname", "group"}, {"name"},
                 r"((skipped|error|failure) )?(system-out )?(system-err )?"),
    "failure": ({"type", "message"}, set(), r""),
    "error": ({"type", "message"}, set(), r""),
    "skipped": ({"type", "message"}, set(), r""),
    "system-out": (set(), set(), r""),
    "system-err": (set(), set(), r""),
}
SUREFIRE_TIME = re.compile(r"^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")  # the strictest (Ant's) form: no zone
ATTACHMENT = re.compile(r"^\[\[ATTACHMENT\|([^\]|]+)\]\]$")


def check_schema(root: ET.Element) -> None:
    """Every element, attribute and child sequence as the schemas allow; counts that add up."""
    assert root.tag == "testsuites"
    for el in root.iter():
        assert el.tag in SCHEMA, f"<{el.tag}> is not in the schema"
        allowed, required, children = SCHEMA[el.tag]
        assert set(el.attrib) <= allowed, f"<{el.tag}> carries {set(el.attrib) - allowed}"
        assert required <= set(el.attrib), f"<{el.tag}> lacks {required - set(el.attrib)}"
        sequence = "".join(f"{child.tag} " for child in el)
        assert re.fullmatch(children, sequence), f"<{el.tag} name={el.get('name')!r}> holds {sequence!r}"
        for name in ("time",):
            if name in el.attrib:
                assert SUREFIRE_TIME.match(el.get(name)), f"<{el.tag} {name}={el.get(name)!r}>"
        for name in ("tests", "failures", "errors", "skipped"):
            if name in el.attrib:
                assert el.get(name).isdigit(), f"<{el.tag} {name}={el.get(name)!r}>"
        if "timestamp" in el.attrib:
            assert TIMESTAMP.match(el.get("timestamp")), el.get("timestamp")
    cases = list(root.iter("testcase"))
    names = [(tc.get("classname"), tc.get("name")) for tc in cases]
    assert len(set(names)) == len(names), "GitLab keeps only the first of testcases with the same name"
    for suite in root.iter("testsuite"):
        tcs = suite.findall("testcase")
        assert int(suite.get("tests")) == len(tcs)
        for kind, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            assert int(suite.get(attr)) == sum(1 for tc in tcs if tc.find(kind) is not None)
    assert int(root.get("tests")) == len(cases)
    assert int(root.get("failures")) == sum(1 for tc in cases if tc.find("failure") is not None)
    assert int(root.get("errors")) == sum(1 for tc in cases if tc.find("error") is not None)


def attachments(el: ET.Element) -> list[str]:
    out = el.find("system-out")
    if out is None:
        return []
    found = []
    for line in (out.text or "").splitlines():
        m = ATTACHMENT.match(line)
        assert m or "[[ATTACHMENT" not in line, f"an attachment must be alone on its line: {line!r}"
        if m:
            found.append(m.group(1))
    return found


def render(tmp_path: Path, results: dict, monkeypatch) -> ET.Element:
    """Write the run's files the way a run does, from inside the directory CI runs in."""
    monkeypatch.chdir(tmp_path)
    files = outputs.write_all(results, tmp_path / "run")
    root = ET.parse(files["junit"]).getroot()
    check_schema(root)
    return root


def by_key(root: ET.Element) -> dict[str, ET.Element]:
    return {tc.get("name").split(" ", 1)[0]: tc for tc in root.iter("testcase")}


def gate(results: dict, tmp_path: Path, entries: dict[str, str]) -> list:
    (tmp_path / "b.toml").write_text("".join(
        f'[[deviation]]\nid = "{i}"\nverdict = "{v}"\nrfc = "RFC 792: the MUST it breaks"\nreason = "the SUT does {i}"\n\n'
        for i, v in entries.items()))
    return baseline.annotate(results, baseline.load(tmp_path / "b.toml"), decides=True)


def test_without_a_baseline_failures_and_errors_are_what_pytest_counts(tmp_path, monkeypatch):
    results = make_run(tmp_path / "run", 60, seed=3)
    root = render(tmp_path, results, monkeypatch)
    cases = by_key(root)
    assert len(cases) == 60
    for c in results["cases"]:
        tc = cases[c["id"]]
        assert tc.get("classname") == f"conformance.{c['protocol']}.RFC{c['rfc']}"
        kinds = [child.tag for child in tc if child.tag != "system-out"]
        assert kinds == {"pass": [], "fail": ["failure"], "error": ["error"], "skip": ["skipped"],
                         "not-implemented": ["skipped"], "inconclusive": ["skipped"]}[c["outcome"]], c["outcome"]
        if c["outcome"] == "fail":
            assert tc.find("failure").get("message").startswith(f"{c['level']} RFC {c['rfc']} {c['section']}: ")
        if c["outcome"] == "not-implemented":
            skipped = tc.find("skipped")
            assert skipped.get("type") == "not-implemented" and skipped.get("message").startswith("not-implemented: ")
            assert c["message"] in skipped.get("message")


def test_with_a_baseline_known_deviations_are_skipped_with_the_reason_and_ci_stays_green(tmp_path, monkeypatch):
    results = make_run(tmp_path / "run", 60, seed=3)
    expected = {c["id"]: c["outcome"] for c in results["cases"]
                if c["outcome"] in ("fail", "error", "inconclusive") or (c["outcome"] == "skip")}
    assert gate(results, tmp_path, expected) == [], "every verdict matches: the run exits 0"
    root = render(tmp_path, results, monkeypatch)
    assert root.get("failures") == "0" and root.get("errors") == "0", "the same story as exit status 0"
    cases = by_key(root)
    for case_id in expected:
        skipped = cases[case_id].find("skipped")
        assert skipped is not None and skipped.get("type") == "known deviation"
        assert skipped.get("message") == f"known deviation: the SUT does {case_id}"
        text = skipped.text
        assert "RFC 792: the MUST it breaks" in text and f"the SUT does {case_id}" in text
        assert "b.toml line" in text
    known_fail = next(c for c in results["cases"] if c["outcome"] == "fail")
    assert cases[known_fail["id"]].find("skipped").text.count(known_fail["message"].splitlines()[0]) == 1
    props = {p.get("name"): p.get("value") for p in root.find("testsuite/properties")}
    assert props["baseline.decides_exit_status"] == "True"


def test_with_a_baseline_every_difference_is_a_failure(tmp_path, monkeypatch):
    results = make_run(tmp_path / "run", 60, seed=3)
    fails = [c for c in results["cases"] if c["outcome"] == "fail"]
    passing = next(c for c in results["cases"] if c["outcome"] == "pass")
    # one known failure; one failure the baseline does not know; a fixed deviation (expects fail, passes)
    diffs = gate(results, tmp_path, {fails[0]["id"]: "fail", passing["id"]: "fail"})
    root = render(tmp_path, results, monkeypatch)
    cases = by_key(root)
    assert int(root.get("failures")) + int(root.get("errors")) == len(diffs), "a failure per difference, as exit 1 says"
    assert cases[fails[0]["id"]].find("skipped") is not None
    assert cases[fails[1]["id"]].find("failure") is not None
    fixed = cases[passing["id"]].find("failure")
    assert fixed is not None and fixed.get("type") == "baseline difference"
    assert fixed.get("message") == "the baseline expects fail, got pass"


def test_the_assertion_is_said_once_and_the_case_is_named(tmp_path, monkeypatch):
    results = make_run(tmp_path / "run", 1, outcome_of={0: "fail"})
    c = results["cases"][0]
    root = render(tmp_path, results, monkeypatch)
    failure = root.find(".//failure")
    for line in c["message"].splitlines():
        assert failure.text.count(line.strip()) == 1, f"{line!r} is repeated"
    assert failure.text.startswith(c["requirement"])
    assert c["nodeid"] in failure.text


def test_failures_attach_their_pcap_and_the_report(tmp_path, monkeypatch):
    results = make_run(tmp_path / "run", 20, seed=4, outcome_of={0: "fail", 1: "fail", 2: "pass"})
    made = [next(c for c in results["cases"] if c["id"].endswith(f"-{i:04d}")) for i in range(3)]
    gate(results, tmp_path, {made[1]["id"]: "fail"})
    root = render(tmp_path, results, monkeypatch)
    cases = by_key(root)
    new_fail, known, passed = (cases[c["id"]] for c in made)
    assert attachments(new_fail) == [f"run/{made[0]['pcap']}", "run/index.html"]
    assert f"report: run/index.html#case-{made[0]['id']}" in new_fail.find("system-out").text
    assert attachments(known) == [f"run/{made[1]['pcap']}"], "a known deviation attaches its pcap only"
    assert attachments(passed) == []
    for tc in root.iter("testcase"):
        for path in attachments(tc):
            assert not path.startswith("/") and (tmp_path / path).exists(), path
    suite_files = attachments(root.find("testsuite"))
    assert suite_files == ["run/index.html", "run/run.pcapng"], "the run's files once, on the first suite"


def test_attachments_outside_the_working_directory_are_absolute(tmp_path, monkeypatch):
    results = make_run(tmp_path / "run", 1, outcome_of={0: "fail"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    junit.write(results, tmp_path / "j.xml", run_dir=tmp_path / "run", report=tmp_path / "run" / "index.html")
    root = ET.parse(tmp_path / "j.xml").getroot()
    check_schema(root)
    assert attachments(root.find(".//testcase")) == [str((tmp_path / "run" / results["cases"][0]["pcap"]).resolve()),
                                                     str((tmp_path / "run" / "index.html").resolve())]


def test_control_characters_and_markup_from_the_wire_stay_valid_xml(tmp_path, monkeypatch):
    results = make_run(tmp_path / "run", 1, outcome_of={0: "fail"})
    results["cases"][0]["message"] = "got b'\x00\x01\x1b[31m' <script>alert(1)</script> & \"quoted\""
    root = render(tmp_path, results, monkeypatch)
    failure = root.find(".//failure")
    assert "<script>alert(1)</script>" in failure.text and "\x00" not in failure.text
    assert "<script>" not in (tmp_path / "run" / "junit.xml").read_text()


@pytest.mark.parametrize("outcome", ["skip", "inconclusive", "not-implemented", "error"])
def test_every_verdict_is_valid(tmp_path, monkeypatch, outcome):
    results = make_run(tmp_path / "run", 1, outcome_of={0: outcome})
    root = render(tmp_path, results, monkeypatch)
    tc = root.find(".//testcase")
    verdict = tc[0]
    assert verdict.tag == ("error" if outcome == "error" else "skipped")
    assert results["cases"][0]["message"].splitlines()[0] in verdict.get("message")
