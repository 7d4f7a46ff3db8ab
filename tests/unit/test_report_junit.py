"""JUnit XML: one testcase per case, its id and RFC visible, verdicts mapped, XML always valid."""

import xml.etree.ElementTree as ET

from conformance.report import junit
from conformance.report.synthetic import make_run


def test_each_case_is_a_testcase_with_id_and_rfc(tmp_path):
    results = make_run(tmp_path / "run", 40, seed=3)
    path = tmp_path / "junit.xml"
    junit.write(results, path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "40"
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 40
    by_name = {tc.get("name").split(" ", 1)[0]: tc for tc in cases}
    for c in results["cases"]:
        tc = by_name[c["id"]]
        assert tc.get("classname") == f"conformance.{c['protocol']}.RFC{c['rfc']}"
        props = {p.get("name"): p.get("value") for p in tc.findall("./properties/property")}
        assert props["id"] == c["id"] and props["rfc"] == f"RFC {c['rfc']} section {c['section']}"
        kinds = [child.tag for child in tc if child.tag != "properties"]
        assert kinds == {"pass": [], "fail": ["failure"], "error": ["error"], "skip": ["skipped"],
                         "inconclusive": ["skipped"]}[c["outcome"]]
    for suite in root.findall("testsuite"):
        outcomes = [by_name[tc.get("name").split(" ", 1)[0]] for tc in suite.findall("testcase")]
        assert int(suite.get("tests")) == len(outcomes)
        assert int(suite.get("failures")) == sum(1 for tc in outcomes if tc.find("failure") is not None)


def test_control_characters_and_markup_from_the_wire_stay_valid_xml(tmp_path):
    results = make_run(tmp_path / "run", 1, outcome_of={0: "fail"})
    results["cases"][0]["message"] = "got b'\x00\x01\x1b[31m' <script>alert(1)</script> & \"quoted\""
    path = tmp_path / "junit.xml"
    junit.write(results, path)
    failure = ET.parse(path).getroot().find(".//failure")
    assert failure is not None
    assert "<script>alert(1)</script>" in failure.text and "\x00" not in failure.text
    assert "<script>" not in path.read_text()


def test_a_known_deviation_is_still_a_failure_but_says_so(tmp_path):
    results = make_run(tmp_path / "run", 1, outcome_of={0: "fail"})
    results["cases"][0]["baseline"] = {"expected": "fail", "match": True, "deviation": True, "reason": "Linux does X"}
    path = tmp_path / "junit.xml"
    junit.write(results, path)
    tc = ET.parse(path).getroot().find(".//testcase")
    props = {p.get("name"): p.get("value") for p in tc.findall("./properties/property")}
    assert props["baseline"] == "known deviation: Linux does X"
    assert tc.find("failure") is not None
