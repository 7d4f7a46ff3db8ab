"""The HTML report rendered from synthetic results: content, escaping, self-containment, grouping."""

import re
from html.parser import HTMLParser

import pytest

from conformance.report import baseline, html
from conformance.report.frames import hexdump, ladder
from conformance.report.synthetic import make_run

HOSTILE = '<script>alert(1)</script>"onmouseover=alert(2)'


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def parse(page):
    p = Elements()
    p.feed(page)
    return p.found


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    run_dir = tmp / "run"
    results = make_run(run_dir, 60, seed=5, payload=HOSTILE.encode())
    first_fail = next(c for c in results["cases"] if c["outcome"] == "fail")
    first_fail["message"] = f"expected {HOSTILE}, got it"
    first_fail["title"] = HOSTILE
    first_fail["preconditions"] = [HOSTILE]
    results["run"]["sysctls"][HOSTILE] = HOSTILE
    (tmp / "b.toml").write_text(f'[[deviation]]\nid = "{first_fail["id"]}"\nverdict = "fail"\nrfc = "x"\nreason = "{HOSTILE.replace(chr(34), "")}"\n')
    baseline.annotate(results, baseline.load(tmp / "b.toml"))
    out = tmp / "out" / "report.html"
    out.parent.mkdir()
    html.write(results, out, run_dir=run_dir)
    return results, out.read_text(), first_fail


def test_nothing_from_the_data_is_markup(rendered):
    _, page, _ = rendered
    assert HOSTILE not in page and "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;onmouseover=alert(2)" in page
    elements = parse(page)
    assert [t for t, _ in elements].count("script") == 1
    assert not [a for _, attrs in elements for a in attrs if a.startswith("on")]


def test_the_page_fetches_nothing(rendered):
    _, page, _ = rendered
    for tag, attrs in parse(page):
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is None or value.startswith("#") or value.startswith("data:"):
                continue
            if tag == "a":  # links a person may follow: RFCs and the pcaps beside the report
                assert value.startswith("https://www.rfc-editor.org/rfc/") or value.startswith("../run/pcap/"), value
            else:
                pytest.fail(f"<{tag} {name}={value!r}> would fetch something")
    assert "@import" not in page and "url(" not in page


def test_summary_header_and_every_case_are_there(rendered):
    results, page, first_fail = rendered
    assert page.count('<details class="case"') == len(results["cases"])
    for c in results["cases"]:
        assert f'id="case-{c["id"]}"' in page
        assert f'href="{c["rfc_url"]}"' in page
    assert "synthetic results (no SUT was run)" in page and "6.18.0-synthetic" in page
    assert "conformance run -n 2" in page and "net.ipv4.tcp_syn_retries" in page
    must_fails = [c for c in results["cases"] if c["level"] == "MUST" and c["outcome"] in ("fail", "error")]
    assert f"MUST requirements not met ({len(must_fails)})" in page
    assert page.count('class="kd">known deviation<') >= 1
    assert "new failure" in page or not [c for c in results["cases"] if c["outcome"] == "fail" and not c["baseline"]["match"]]
    assert f'href="../run/pcap/{first_fail["id"]}.pcapng"' in page


def test_matrix_counts_match_the_summary(rendered):
    results, page, _ = rendered
    table = page[page.index('<table class="matrix">'):page.index("</table>", page.index('<table class="matrix">'))]
    rows = re.findall(r"<tr><th>(MUST|SHOULD|MAY)</th>(.*?)</tr>", table)
    for level, cells in rows:
        counts = [0 if v == "·" else int(v) for v in re.findall(r"<td[^>]*>([^<]*)</td>", cells)]
        want = results["summary"]["by_level"][level]
        assert counts[:6] == [want[o] for o in ("pass", "fail", "not-implemented", "skip", "inconclusive", "error")]


def test_ladder_decodes_the_pcap_frames(rendered, tmp_path):
    results, page, _ = rendered
    routed = next(c for c in results["cases"] if c["protocol"] == "routing")
    lad = ladder(routed["frames"], tmp_path / "missing.pcapng")
    assert lad.lanes == ["tester", "SUT", "far"] and not lad.decoded
    assert [(f.src_lane, f.dst_lane) for f in lad.frames][:3] == [(0, 1), (1, 0), (1, 2)]
    assert lad.frames[0].t_ms == 0.0
    assert "time-exceeded" in page and "IP in ICMP" in page


def test_hexdump_layout():
    assert hexdump(b"<ab>" + bytes(range(14))) == (
        "0000  3c 61 62 3e 00 01 02 03 04 05 06 07 08 09 0a 0b  <ab>............\n"
        "0010  0c 0d                                            ..")


def test_sections_sort_in_document_order():
    keys = sorted(["3.2.10", "3.2.9", "Packet Reception", "3.2", "10"], key=html.section_sort_key)
    assert keys == ["3.2", "3.2.9", "3.2.10", "10", "Packet Reception"]


def test_a_case_without_pcap_or_frames_still_renders(tmp_path):
    results = make_run(tmp_path / "run", 3)
    results["cases"][0]["pcap"] = None
    results["cases"][1]["frames"] = []
    (tmp_path / "run" / results["cases"][2]["pcap"]).write_bytes(b"garbage")
    page = html.render(results, run_dir=tmp_path / "run", out_path=tmp_path / "x.html")
    assert "No frames were captured for this case." in page
    assert "the case's pcap is missing or does not match" in page


def test_diff_section_is_included(tmp_path):
    from conformance.report import diff

    old = make_run(tmp_path / "old", 10, seed=1)
    new = make_run(tmp_path / "new", 12, seed=2)
    page = html.render(new, run_dir=tmp_path / "new", out_path=tmp_path / "x.html", diff=diff.compare(old, new))
    assert 'id="diff"' in page and "Appeared (2)" in page
