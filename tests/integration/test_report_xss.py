"""Hostile bytes from the wire reach the report only as text, never as markup.

A real case sends an echo whose data is `<script>alert(1)</script>"onmouseover=...` through
the SUT; the SUT mirrors it back; the case fails with the payload in its message. The run, in a
subprocess, renders index.html and junit.xml. The page must contain the payload only escaped.
"""

import html.parser
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "xss_echo_case.py"
HOSTILE = ("<script>alert(1)</script>", '"onmouseover=alert(2)', "<img src=x onerror=alert(3)>", "<b>unchanged</b>")


class Markup(html.parser.HTMLParser):
    """Every tag and attribute the browser would build from the page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.attrs = []
        self.scripts = []
        self.data_blocks = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]
        self._in_script = tag == "script" and not dict(attrs).get("type")  # an executable script, not data
        if tag == "script" and dict(attrs).get("type"):
            self.data_blocks.append(dict(attrs)["type"])

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


@pytest.mark.root
def test_hostile_payload_appears_in_the_report_only_as_text(tmp_path):
    baseline = tmp_path / "baseline.toml"
    baseline.write_text('[[deviation]]\nid = "ICMP-XSS-ECHO"\nverdict = "fail"\n'
                        'rfc = "RFC 792: <script>alert(4)</script>"\nreason = "\\"onmouseover=alert(5) <i>x</i>"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(DATA), "--report-dir", str(tmp_path), "--baseline", str(baseline), "-q"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, f"the known deviation must match the baseline:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    run = (tmp_path / "latest").resolve()
    whole = (run / "index.html").read_text()
    # The cases as JSON for the page's script: a string there is data the script shows as text.
    # It must not be able to end its element ('<' is written \u003c), and it holds the payload whole.
    start = whole.index('<script type="application/json" id="report-data">')
    end = whole.index("</script>", start)
    block = whole[start:end].split(">", 1)[1]
    assert "<" not in block and ">" not in block
    assert HOSTILE[0] in json.dumps(json.loads(block), ensure_ascii=False)
    page = whole[:start] + whole[end:]  # the markup: everything else

    # the bytes went through the SUT and back, and the page shows them (escaped)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;onmouseover=alert(2)" in page
    for text in HOSTILE:
        assert text not in page, f"{text!r} is in the page unescaped"
    assert "alert(4)" in page and "<script>alert(4)" not in page
    assert "onmouseover=alert(5)" in page and '"onmouseover=alert(5)' not in page

    parsed = Markup()
    parsed.feed(whole)
    assert set(parsed.tags) <= ALLOWED_TAGS, f"unexpected elements: {set(parsed.tags) - ALLOWED_TAGS}"
    assert not [a for a in parsed.attrs if a.startswith("on")], "no event-handler attribute may exist"
    assert parsed.tags.count("script") == 2 and parsed.data_blocks == ["application/json"], (
        "the page's own script is its only script; the other holds the cases as JSON data")
    assert "alert(" not in "".join(parsed.scripts)

    # the frame decode and the hex dump are in the page, the pcap is linked
    assert "ICMP-XSS-ECHO.pcapng" in page
    assert "echo-reply" in page

    # JUnit: well-formed XML whose testcase carries the case id and RFC
    suite = ET.parse(run / "junit.xml").getroot()
    tc = suite.find(".//testcase")
    assert tc is not None and tc.get("name").startswith("ICMP-XSS-ECHO")
    assert tc.get("classname").endswith("RFC792")
    known = tc.find("skipped")  # --baseline decides the exit status: a known deviation is skipped, with its reason
    assert known is not None and known.get("type") == "known deviation"
    assert "<script>alert(1)</script>" in known.text, "the XML carries the payload as text"


ALLOWED_TAGS = {
    "html", "head", "meta", "link", "title", "style", "body", "header", "main", "footer", "section", "h1", "h2", "h3",
    "p", "dl", "dt", "dd", "code", "details", "summary", "table", "caption", "thead", "tbody", "tr", "th", "td",
    "span", "b", "i", "br", "ul", "li", "a", "div", "pre", "form", "input", "label", "select", "option", "button",
    "output", "noscript", "script", "svg", "polyline", "circle",
}
