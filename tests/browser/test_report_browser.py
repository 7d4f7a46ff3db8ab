"""The HTML report in a real browser: headless Chromium, driven over the DevTools pipe.

Installs nothing: CI installs Debian's chromium first (`apt-get install -y chromium`); without
/usr/bin/chromium these tests skip and say so. Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from conformance import pcap
from conformance.report import baseline, html
from conformance.report.frames import hexdump
from conformance.report.model import summarize, write_results
from conformance.report.synthetic import make_run

from .cdp import CHROMIUM, FLAGS, Browser

ARTIFACTS = Path(__file__).with_name("artifacts")
LOAD_LIMIT_S = 3.0  # a 10,000-case report must be usable this soon after it is opened

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")

ROWS = "Array.from(document.querySelectorAll('#list details.case'))"


def _render(tmp: Path, n: int, *, known: int = 3, seed: int = 7) -> tuple[Path, dict[str, Any]]:
    """A synthetic run of n cases, its first `known` failures recorded in a baseline, rendered."""
    run_dir = tmp / f"run-{n}"
    results = make_run(run_dir, n, seed=seed)
    for c in results["cases"][::9]:
        if c["protocol"] == "ipv4":  # the longest protocol name, for the bar labels
            c["protocol"] = "fragmentation"
    results["summary"] = summarize(results["cases"])
    fails = [c["id"] for c in results["cases"] if c["outcome"] == "fail"][:known]
    toml = "".join(f'[[deviation]]\nid = "{i}"\nverdict = "fail"\nrfc = "RFC 1122 3.2.2.6: <b>must</b>"\n'
                   f'reason = "synthetic deviation <script>alert(1)</script>"\n\n' for i in fails)
    (tmp / "baseline.toml").write_text(toml)
    baseline.annotate(results, baseline.load(tmp / "baseline.toml"))
    out = run_dir / "index.html"
    html.write(results, out, run_dir=run_dir)
    return out, results


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    return _render(tmp_path_factory.mktemp("report"), 240)


@pytest.fixture
def browser(tmp_path: Path) -> Any:
    with Browser(tmp_path / "profile") as b:  # a fresh user-data dir for every test
        yield b


def _ids(b: Browser) -> list[str]:
    return b.js(f"{ROWS}.map(c => c.id)")


def _set_search(b: Browser, text: str) -> None:
    b.js(f"var q = document.getElementById('q'); q.value = {text!r}; q.dispatchEvent(new Event('input'))")


def _count(b: Browser) -> int:
    return int(b.js("document.getElementById('count').textContent.split(' ')[0]"))


def _click(b: Browser, selector: str) -> None:
    b.js(f"document.querySelector({selector!r}).click()")


def test_report_renders_and_its_controls_change_what_is_shown(report: tuple[Path, dict[str, Any]], browser: Browser) -> None:
    path, results = report
    cases = results["cases"]
    browser.open(path.as_uri())
    assert browser.js("document.title").startswith("Conformance netns")
    assert browser.js("document.getElementById('controls').hidden") is False, "the script must reveal the controls"
    assert _count(browser) == len(cases)
    assert browser.js("document.querySelectorAll('.matrix tbody tr').length") == 3
    assert browser.js("document.querySelectorAll('.bar-row').length") == len(results["summary"]["by_protocol"])
    assert browser.js("document.querySelectorAll('#list .case .kd').length") == 3, "known deviations must be marked"

    # the labels of the protocol bars are not clipped, "fragmentation" the longest of them
    labels = browser.js("Array.from(document.querySelectorAll('.bar-label')).map(l => [l.textContent, l.scrollWidth, l.clientWidth])")
    assert "fragmentation" in [name for name, _, _ in labels]
    assert all(scroll <= client for _, scroll, client in labels), labels

    # search: one id, then an RFC number
    _set_search(browser, "tcp-synth-0005")
    browser.wait_for(f"{ROWS}.length === 1")
    assert _ids(browser) == ["case-TCP-SYNTH-0005"]
    assert browser.js("document.getElementById('count').textContent") == f"1 of {len(cases)} results shown"
    _set_search(browser, "rfc 826")
    browser.wait_for(f"document.getElementById('count').textContent.startsWith('{sum(1 for c in cases if c['rfc'] == 826)} ')")
    _set_search(browser, "")
    browser.wait_for(f"document.getElementById('count').textContent.startsWith('{len(cases)} ')")

    # failures only; a verdict chip; a level chip; differences from the baseline only
    _click(browser, "#failonly")
    assert {i.removeprefix("case-") for i in _ids(browser)} == {c["id"] for c in cases if c["outcome"] in ("fail", "error")}
    _click(browser, "#failonly")
    _click(browser, "input[name=v][value=pass]")
    assert _count(browser) == sum(1 for c in cases if c["outcome"] != "pass")
    _click(browser, "input[name=v][value=pass]")
    _click(browser, "input[name=l][value=MUST]")
    assert _count(browser) == sum(1 for c in cases if c["level"] != "MUST")
    _click(browser, "input[name=l][value=MUST]")
    _click(browser, "#newonly")
    assert {i.removeprefix("case-") for i in _ids(browser)} == {c["id"] for c in cases if not c["baseline"]["match"]}
    _click(browser, "#newonly")

    # group by RFC: titled groups in RFC order, each with its counts, sections in document order
    browser.js("var g = document.getElementById('groupby'); g.value = 'rfc'; g.dispatchEvent(new Event('change'))")
    groups = browser.js("Array.from(document.querySelectorAll('#list section.group')).map(s => s.id)")
    assert groups == [f"g-rfc-{r}" for r in sorted({c['rfc'] for c in cases})]
    heading = browser.js("document.querySelector('#g-rfc-826 h3').textContent")
    n826 = [c for c in cases if c["rfc"] == 826]
    assert heading.startswith("RFC 826 · An Ethernet Address Resolution Protocol")
    assert f"{sum(1 for c in n826 if c['outcome'] == 'pass')} pass" in heading
    keys = browser.js("Array.from(document.querySelectorAll('#g-rfc-1122 details.case')).map(c => c.id)")
    by_id = {f"case-{c['id']}": c for c in cases}
    sk = [html.section_sort_key(by_id[k]["section"]) for k in keys]
    assert sk == sorted(sk) and len(keys) == sum(1 for c in cases if c["rfc"] == 1122)
    browser.js("var g = document.getElementById('groupby'); g.value = 'layer'; g.dispatchEvent(new Event('change'))")

    # sortable columns: by duration, then the other way
    _click(browser, ".cols .c-d")
    first = browser.js("Array.from(document.querySelectorAll('#list section.group')[0].querySelectorAll('details.case')).map(c => c.id)")
    durations = [by_id[i]["duration_ms"] for i in first]
    assert durations == sorted(durations) and browser.js("document.querySelector('.cols .c-d').getAttribute('aria-sort')") == "ascending"
    _click(browser, ".cols .c-d")
    first = browser.js("Array.from(document.querySelectorAll('#list section.group')[0].querySelectorAll('details.case')).map(c => c.id)")
    assert [by_id[i]["duration_ms"] for i in first] == sorted(durations, reverse=True)

    # CSV export: every shown result, one row each, with the verdict and the baseline's word
    _click(browser, "#failonly")
    rows = list(csv.DictReader(io.StringIO(browser.js("window.conformanceCsv()"))))
    assert {r["id"] for r in rows} == {c["id"] for c in cases if c["outcome"] in ("fail", "error")}
    assert {r["baseline"] for r in rows} >= {"known deviation"}
    _click(browser, "#failonly")

    # a case opens with its ladder, a decoded frame and the hex dump drawn on demand
    failing = next(c for c in cases if c["outcome"] == "fail" and c["protocol"] == "routing")
    browser.js(f"location.hash = 'case-{failing['id']}'")
    browser.wait_for(f"document.getElementById('case-{failing['id']}').open")
    case = f"document.getElementById('case-{failing['id']}')"
    assert browser.js(f"{case}.querySelectorAll('details.fr').length") == len(failing["frames"])
    assert browser.js(f"{case}.querySelectorAll('.ladder .lh .lanes span').length") == 3
    browser.js(f"{case}.querySelector('details.fr').open = true")
    browser.wait_for(f"!!{case}.querySelector('details.fr .dec')")
    assert "IP" in browser.js(f"{case}.querySelector('.layers').innerText")
    hx = f"{case}.querySelector('details.hx')"
    browser.js(f"{hx}.open = true")
    data = pcap.read(path.parent / failing["pcap"])[0].data
    assert browser.wait_for(f"{hx}.querySelector('pre').textContent.startsWith('0000') && {hx}.querySelector('pre').textContent") == hexdump(data)
    assert browser.js("document.body.innerHTML.indexOf('<script>alert') < 0"), "hostile text stays text"

    _screenshots(browser, failing["id"])
    assert browser.console_errors() == []


def _visible_below_the_bars(b: Browser, anchor: str) -> dict[str, float]:
    return b.js(f"""(function () {{
        var t = document.getElementById({anchor!r}).querySelector('summary').getBoundingClientRect();
        var bar = document.getElementById('controls').getBoundingClientRect();
        var cols = document.querySelector('#list .cols').getBoundingClientRect();
        return {{top: t.top, bottom: t.bottom, barBottom: Math.max(bar.bottom, cols.bottom), view: window.innerHeight}};
    }})()""")


def test_jumping_to_a_case_shows_it_below_the_sticky_bars(report: tuple[Path, dict[str, Any]], browser: Browser) -> None:
    path, _ = report
    browser.open(path.as_uri())
    # from the summary's list of MUST failures: the link scrolls the case into view and opens it
    link = browser.js("document.querySelector('.faillist a').getAttribute('href')")
    anchor = link[1:]
    browser.js("document.querySelector('.faillist a').click()")
    browser.wait_for(f"document.getElementById({anchor!r}) && document.getElementById({anchor!r}).open")
    time.sleep(0.2)
    box = _visible_below_the_bars(browser, anchor)
    assert box["top"] >= box["barBottom"] - 1, f"the case is hidden under the sticky bars: {box}"
    assert box["bottom"] <= box["view"], box
    # a case filtered out, and the same link clicked again: the filters give way, the case shows
    browser.js("document.querySelector('input[name=v][value=fail]').click()")
    browser.js("document.querySelector('input[name=v][value=error]').click()")
    browser.js("window.scrollTo(0, 0)")
    browser.js("document.querySelector('.faillist a').click()")
    browser.wait_for(f"document.getElementById({anchor!r}) && document.getElementById({anchor!r}).open")
    time.sleep(0.2)
    box = _visible_below_the_bars(browser, anchor)
    assert box["top"] >= box["barBottom"] - 1 and box["bottom"] <= box["view"], box
    assert browser.console_errors() == []


def test_report_is_readable_without_javascript(report: tuple[Path, dict[str, Any]], browser: Browser) -> None:
    path, results = report
    browser.send("Emulation.setScriptExecutionDisabled", {"value": True})
    browser.open(path.as_uri())
    assert browser.js("document.getElementById('controls').hidden") is True, "controls that cannot work stay hidden"
    bad = [c for c in results["cases"] if c["outcome"] in ("fail", "error") or not c["baseline"]["match"]]
    shown = browser.js("Array.from(document.querySelectorAll('noscript details.case, details.case')).filter(d => d.offsetParent !== null).map(d => d.id)")
    assert sorted(set(shown)) == sorted(f"case-{c['id']}" for c in bad), "every failing case, in full"
    one = bad[0]
    text = browser.js(f"document.getElementById('case-{one['id']}').innerText")
    assert one["requirement"] in text and (one["message"] or "").splitlines()[0] in text
    assert browser.js("document.querySelectorAll('#rfc-index li').length") == len(results["cases"])
    ARTIFACTS.mkdir(exist_ok=True)
    browser.js(f"document.getElementById('case-{one['id']}').scrollIntoView()")
    browser.screenshot(ARTIFACTS / "report-no-javascript.png")
    assert browser.console_errors() == []


def test_ten_thousand_cases_load_in_three_seconds(tmp_path: Path, browser: Browser) -> None:
    path, results = _render(tmp_path, 10_000)
    size = path.stat().st_size
    took = browser.open(path.as_uri())
    load = os.getloadavg()[0]
    nodes = browser.js("document.getElementsByTagName('*').length")
    print(f"\n10,000 cases: {size / 1e6:.1f} MB, loaded in {took:.2f} s, {nodes} elements, load average {load:.1f}")
    assert took <= LOAD_LIMIT_S, f"10,000 cases took {took:.2f} s to load (load average {load:.1f})"
    assert nodes < 50_000, f"{nodes} elements: the list must draw a page of rows at a time"
    assert _count(browser) == 10_000

    def timed(js: str, wait: str) -> float:
        t = time.monotonic()
        browser.js(js)
        browser.wait_for(wait, timeout=10)
        return time.monotonic() - t

    bad = sum(1 for c in results["cases"] if c["outcome"] in ("fail", "error"))
    one = next(c["id"] for c in results["cases"] if c["id"].endswith("-9999")).lower()
    figures = {
        "failures only": timed("document.getElementById('failonly').click()",
                               f"document.getElementById('count').textContent.startsWith('{bad} ')"),
        "all again": timed("document.getElementById('failonly').click()",
                           "document.getElementById('count').textContent.startsWith('10000 ')"),
        "group by RFC": timed("var g = document.getElementById('groupby'); g.value = 'rfc'; g.dispatchEvent(new Event('change'))",
                              "!!document.querySelector('#g-rfc-826')"),
        "sort by verdict": timed("document.querySelector('.cols .c-o').click()",
                                 "document.querySelector('.cols .c-o').getAttribute('aria-sort') === 'ascending'"),
        "search": timed(f"var q = document.getElementById('q'); q.value = '{one}'; q.dispatchEvent(new Event('input'))",
                        "document.getElementById('count').textContent.startsWith('1 ')"),
    }
    _set_search(browser, "")
    browser.wait_for("document.getElementById('count').textContent.startsWith('10000 ')")
    last = results["cases"][-1]
    figures["jump to the last case"] = timed(f"location.hash = 'case-{last['id']}'",
                                             f"document.getElementById('case-{last['id']}') && document.getElementById('case-{last['id']}').open")
    figures["close all"] = timed("document.getElementById('collapse').click()", "!document.querySelector('#list details.case[open]')")
    print("interactions: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in figures.items()))
    assert max(figures.values()) < 2, figures
    ARTIFACTS.mkdir(exist_ok=True)
    browser.js("window.scrollTo(0, 0)")
    browser.screenshot(ARTIFACTS / "report-10k-first-view.png")
    assert browser.console_errors() == []


def test_history_shows_each_cases_verdicts_and_the_trend_per_area(tmp_path: Path, browser: Browser) -> None:
    reports = tmp_path / "reports"
    base = make_run(reports / "20260101-000000-0000", 120, seed=3)
    flipping = [c["id"] for c in base["cases"] if c["outcome"] == "pass"][:4]
    for n in range(5):
        r = json.loads(json.dumps(base))
        r["run"]["id"] = f"2026010{n + 1}-000000-000{n}"
        r["run"]["started"] = f"2026-01-0{n + 1}T00:00:00.000+00:00"
        for c in r["cases"]:
            if c["id"] in flipping and n % 2:
                c["outcome"], c["message"] = "fail", "the SUT flipped"
        (reports / r["run"]["id"]).mkdir(parents=True, exist_ok=True)
        (reports / r["run"]["id"] / "pcap").mkdir(exist_ok=True)
        write_results(reports / r["run"]["id"] / "results.json", r)
        html.write(r, reports / r["run"]["id"] / "index.html", run_dir=reports / r["run"]["id"])
    latest = reports / "20260105-000000-0004" / "index.html"
    browser.open(latest.as_uri())
    assert browser.js("document.querySelectorAll('svg.trend').length") == len(base["summary"]["by_protocol"])
    assert browser.js("document.querySelectorAll('svg.trend circle.flip').length") >= 1, "flips are marked"
    assert browser.js("document.querySelectorAll('.runs tbody tr').length") == 5
    assert browser.js("document.querySelector('.runs a').getAttribute('href')") == "../20260101-000000-0000/index.html"
    browser.js("document.getElementById('fliponly').click()")
    assert sorted(i.removeprefix("case-") for i in _ids(browser)) == sorted(flipping)
    strip = browser.js(f"document.querySelector('#case-{flipping[0]} .hist').title")
    assert strip.endswith("pass, fail, pass, fail, pass"), strip
    assert browser.js(f"document.querySelector('#case-{flipping[0]} .fd').textContent") == "flipped"
    browser.js("document.querySelector('details.history').open = true")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.js("document.querySelector('.bars').scrollIntoView()")
    browser.screenshot(ARTIFACTS / "report-history.png")
    assert browser.console_errors() == []


def test_tcp_ladder_shows_the_numbers_and_the_frame_the_assertion_is_about(tmp_path: Path, browser: Browser) -> None:
    run_dir = tmp_path / "run"
    results = make_run(run_dir, 14, seed=5)
    case = next(c for c in results["cases"] if c["protocol"] == "tcp")
    case["outcome"] = "fail"
    case["message"] = "AssertionError: the ACK must acknowledge the data; came " + case["frames"][3]["summary"]
    html.write(results, run_dir / "index.html", run_dir=run_dir)
    browser.open((run_dir / "index.html").as_uri())
    anchor = f"case-{case['id']}"
    browser.js(f"location.hash = '{anchor}'")
    browser.wait_for(f"document.getElementById('{anchor}').open")
    labels = browser.js(f"Array.from(document.querySelectorAll('#{anchor} details.fr .lbl')).map(l => l.textContent)")
    assert labels[0].startswith("40000 → 80 [SYN] seq=0 win=65535 len=0 <MSS 1460, SACK permitted, TS val")
    assert labels[1] == "80 → 40000 [SYN, ACK] seq=0 ack=1 win=64240 len=0 <MSS 1460>"
    assert labels[2] == "40000 → 80 [PSH, ACK] seq=1 ack=1 win=65535 len=11"
    focus = browser.js(f"Array.from(document.querySelectorAll('#{anchor} details.fr')).findIndex(f => f.classList.contains('focus'))")
    assert focus == 3, "the frame the message quotes is highlighted"
    assert browser.js(f"document.querySelectorAll('#{anchor} details.fr')[3].open"), "and opened, with its decode"
    decode = browser.js(f"document.querySelectorAll('#{anchor} details.fr')[3].querySelector('.dec').innerText")
    assert "the frame the assertion message quotes" in decode
    assert "(relative 1)" in decode and "sport=80" in decode and "flags=A (ACK)" in decode
    ARTIFACTS.mkdir(exist_ok=True)
    browser.js(f"document.getElementById('{anchor}').scrollIntoView()")
    browser.screenshot(ARTIFACTS / "report-tcp-ladder.png")
    assert browser.console_errors() == []


def _screenshots(browser: Browser, case_id: str) -> None:
    """The summary at the top, then the opened failing case with its ladder."""
    ARTIFACTS.mkdir(exist_ok=True)
    browser.js("window.scrollTo(0, 0)")
    browser.screenshot(ARTIFACTS / "report-summary.png")
    browser.js(f"document.getElementById('case-{case_id}').scrollIntoView()")
    browser.screenshot(ARTIFACTS / "report-case-ladder.png")


def test_plain_headless_screenshot(report: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """Chromium's own --screenshot of the page as it first opens (no DevTools involved)."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-first-view.png"
    shot.unlink(missing_ok=True)
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1000",
         f"--screenshot={shot}", report[0].as_uri()],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.stat().st_size > 10_000, "the screenshot must show a rendered page"
