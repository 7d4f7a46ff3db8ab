"""Hostile bytes from the wire reach the report only as text, never as markup.

A real case sends an echo whose data is `<script>alert(1)</script>"onmouseover=...` through
the SUT; the SUT mirrors it back; the case fails with the payload in its message. The run, in a
subprocess, renders index.html and junit.xml. The page must contain the payload only escaped.
"""

import html.parser
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
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]
        self._in_script = tag == "script"

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
    page = (run / "index.html").read_text()

    # the bytes went through the SUT and back, and the page shows them (escaped)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;onmouseover=alert(2)" in page
    for text in HOSTILE:
        assert text not in page, f"{text!r} is in the page unescaped"
    assert "alert(4)" in page and "<script>alert(4)" not in page
    assert "onmouseover=alert(5)" in page and '"onmouseover=alert(5)' not in page

    parsed = Markup()
    parsed.feed(page)
    assert set(parsed.tags) <= ALLOWED_TAGS, f"unexpected elements: {set(parsed.tags) - ALLOWED_TAGS}"
    assert not [a for a in parsed.attrs if a.startswith("on")], "no event-handler attribute may exist"
    assert parsed.tags.count("script") == 1, "the page's own script is its only script"
    assert "alert(" not in "".join(parsed.scripts)

    # the frame decode and the hex dump are in the page, the pcap is linked
    assert "ICMP-XSS-ECHO.pcapng" in page
    assert "echo-reply" in page

    # JUnit: well-formed XML whose testcase carries the case id and RFC
    suite = ET.parse(run / "junit.xml").getroot()
    tc = suite.find(".//testcase")
    assert tc is not None and tc.get("name").startswith("ICMP-XSS-ECHO")
    assert tc.get("classname").endswith("RFC792")
    assert tc.find("failure") is not None


ALLOWED_TAGS = {
    "html", "head", "meta", "link", "title", "style", "body", "header", "main", "footer", "section", "h1", "h2", "h3",
    "p", "dl", "dt", "dd", "code", "details", "summary", "table", "caption", "thead", "tbody", "tr", "th", "td",
    "span", "b", "i", "br", "ul", "li", "a", "div", "pre", "form", "input", "label", "select", "option", "button",
    "output", "noscript", "script",
}
