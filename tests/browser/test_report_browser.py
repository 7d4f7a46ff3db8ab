"""The HTML report in a real browser: headless Chromium, driven over the DevTools pipe.

Installs nothing: CI installs Debian's chromium first (`apt-get install -y chromium`); without
/usr/bin/chromium these tests skip and say so. Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from conformance import pcap
from conformance.report import baseline, html
from conformance.report.frames import hexdump
from conformance.report.synthetic import make_run

from .cdp import CHROMIUM, FLAGS, Browser

ARTIFACTS = Path(__file__).with_name("artifacts")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")

VISIBLE = "Array.from(document.querySelectorAll('details.case')).filter(c => !c.hidden && c.offsetParent !== null)"


def _render(tmp: Path, n: int, *, known: int = 3) -> tuple[Path, dict[str, Any]]:
    """A synthetic run of n cases, its first `known` failures recorded in a baseline, rendered."""
    run_dir = tmp / f"run-{n}"
    results = make_run(run_dir, n, seed=7)
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


def _visible_ids(b: Browser) -> list[str]:
    return b.js(f"{VISIBLE}.map(c => c.id)")


def _set_search(b: Browser, text: str) -> None:
    b.js(f"var q = document.getElementById('q'); q.value = {text!r}; q.dispatchEvent(new Event('input'))")


def test_report_renders_and_its_controls_change_what_is_shown(report: tuple[Path, dict[str, Any]], browser: Browser) -> None:
    path, results = report
    cases = results["cases"]
    browser.open(path.as_uri())
    assert browser.js("document.title").startswith("Conformance netns")
    assert browser.js("document.querySelectorAll('details.case').length") == len(cases)
    assert browser.js("document.getElementById('controls').hidden") is False, "the script must reveal the controls"
    assert len(_visible_ids(browser)) == len(cases)
    assert browser.js("document.querySelectorAll('.matrix tbody tr').length") == 3
    assert browser.js("document.querySelectorAll('.bar-row').length") == len(results["summary"]["by_protocol"])
    assert browser.js("document.querySelectorAll('.case .kd').length") == 3, "known deviations must be marked"

    # search: one id, then an RFC number
    _set_search(browser, "tcp-synth-0005")
    browser.wait_for(f"{VISIBLE}.length === 1")
    assert _visible_ids(browser) == ["case-TCP-SYNTH-0005"]
    assert browser.js("document.getElementById('count').textContent") == f"1 of {len(cases)} cases shown"
    _set_search(browser, "rfc 826")
    want = sum(1 for c in cases if c["rfc"] == 826)
    browser.wait_for(f"{VISIBLE}.length === {want}")
    _set_search(browser, "")
    browser.wait_for(f"{VISIBLE}.length === {len(cases)}")

    # failures only
    browser.js("document.getElementById('failonly').click()")
    bad = {c["id"] for c in cases if c["outcome"] in ("fail", "error")}
    assert {i.removeprefix("case-") for i in _visible_ids(browser)} == bad
    browser.js("document.getElementById('failonly').click()")

    # a verdict chip, then a level chip
    browser.js("document.querySelector('input[name=v][value=pass]').click()")
    assert len(_visible_ids(browser)) == sum(1 for c in cases if c["outcome"] != "pass")
    browser.js("document.querySelector('input[name=v][value=pass]').click()")
    browser.js("document.querySelector('input[name=l][value=MUST]').click()")
    assert len(_visible_ids(browser)) == sum(1 for c in cases if c["level"] != "MUST")
    browser.js("document.querySelector('input[name=l][value=MUST]').click()")

    # differences from the baseline only: the failures that are not known deviations, and the like
    browser.js("document.getElementById('newonly').click()")
    new = {c["id"] for c in cases if not c["baseline"]["match"]}
    assert {i.removeprefix("case-") for i in _visible_ids(browser)} == new
    browser.js("document.getElementById('newonly').click()")

    # group by RFC: every case moves into its RFC's group, in section order
    browser.js("var g = document.getElementById('groupby'); g.value = 'rfc'; g.dispatchEvent(new Event('change'))")
    groups = browser.js("Array.from(document.querySelectorAll('#groups > section.group:not([hidden])')).map(s => s.id)")
    assert groups == [f"g-rfc-{r}" for r in sorted({c['rfc'] for c in cases})]
    keys = browser.js("Array.from(document.querySelectorAll('#g-rfc-1122 details.case')).map(c => c.dataset.sk)")
    assert keys == sorted(keys) and len(keys) == sum(1 for c in cases if c["rfc"] == 1122)
    browser.js("var g = document.getElementById('groupby'); g.value = 'layer'; g.dispatchEvent(new Event('change'))")
    assert browser.js("document.querySelectorAll('#groups > section.group[id^=g-rfc]').length") == 0
    assert len(_visible_ids(browser)) == len(cases)

    # a link to a case opens it, with its ladder and a decoded frame
    failing = next(c for c in cases if c["outcome"] == "fail" and c["protocol"] == "routing")
    browser.js(f"location.hash = 'case-{failing['id']}'")
    browser.wait_for(f"document.getElementById('case-{failing['id']}').open")
    frames = browser.js(f"document.querySelectorAll('#case-{failing['id']} details.fr').length")
    assert frames == len(failing["frames"])
    assert browser.js(f"document.querySelectorAll('#case-{failing['id']} .ladder .lh .lanes span').length") == 3
    assert browser.js(f"document.querySelector('#case-{failing['id']} .dec').checkVisibility()") is False
    browser.js(f"document.querySelector('#case-{failing['id']} details.fr').open = true")
    assert browser.js(f"document.querySelector('#case-{failing['id']} .dec').checkVisibility()") is True
    assert "IP" in browser.js(f"document.querySelector('#case-{failing['id']} .layers').innerText")

    # the hex dump is drawn when opened, the same as the suite's own hexdump of the pcap's bytes
    hx = f"document.querySelector('#case-{failing['id']} details.hx')"
    browser.js(f"{hx}.open = true")
    data = pcap.read(path.parent / failing["pcap"])[0].data
    assert browser.wait_for(f"{hx}.querySelector('pre').textContent.startsWith('0000') && {hx}.querySelector('pre').textContent") == hexdump(data)

    _screenshot(browser, failing["id"])
    assert browser.console_errors() == []


def _screenshot(browser: Browser, case_id: str) -> None:
    """The summary at the top, then the opened failing case with its ladder, as one picture."""
    ARTIFACTS.mkdir(exist_ok=True)
    browser.js("window.scrollTo(0, 0)")
    browser.screenshot(ARTIFACTS / "report-summary.png")
    _set_search(browser, case_id.lower())
    browser.wait_for(f"{VISIBLE}.length === 1")
    browser.js(f"document.querySelectorAll('#case-{case_id} details.fr').forEach((f, i) => {{ f.open = i === 1; }})")
    browser.js(f"document.getElementById('case-{case_id}').scrollIntoView()")
    browser.js("window.scrollBy(0, -60)")
    browser.screenshot(ARTIFACTS / "report-case-ladder.png")


def test_report_is_readable_without_javascript(report: tuple[Path, dict[str, Any]], browser: Browser) -> None:
    path, results = report
    browser.send("Emulation.setScriptExecutionDisabled", {"value": True})
    browser.open(path.as_uri())
    assert browser.js("document.getElementById('controls').hidden") is True, "controls that cannot work stay hidden"
    assert len(_visible_ids(browser)) == len(results["cases"])
    assert browser.js("document.querySelector('noscript') !== null")
    assert browser.console_errors() == []


def test_large_report_opens_and_filters_quickly(tmp_path: Path, browser: Browser) -> None:
    path, results = _render(tmp_path, 2000)
    took = browser.open(path.as_uri())
    assert browser.js("document.querySelectorAll('details.case').length") == 2000
    assert took < 20, f"2,000 cases took {took:.1f} s to load"
    t = time.monotonic()
    browser.js("document.getElementById('failonly').click()")
    assert time.monotonic() - t < 3, "filtering 2,000 cases must not freeze the page"
    assert len(_visible_ids(browser)) == sum(1 for c in results["cases"] if c["outcome"] in ("fail", "error"))
    assert browser.console_errors() == []


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
