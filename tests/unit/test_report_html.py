"""The HTML report rendered from synthetic results: content, escaping, self-containment, the data
the script draws from, the failing cases without JavaScript, the ladder's numbers and history."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.report import baseline, history, html, rfcs
from conformance.report.frames import Frame, hexdump, ladder, mark_focus
from conformance.report.model import write_results
from conformance.report.synthetic import make_run

HOSTILE = '<script>alert(1)</script>"onmouseover=alert(2)'


class Elements(HTMLParser):
    """The elements a browser with JavaScript builds: <noscript> content is text to it."""

    def __init__(self, scripting=True):
        super().__init__()
        self.found = []
        self.scripts = []
        self.scripting = scripting
        self._in = None

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))
        self._in = tag

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)


def parse(page):
    p = Elements()
    p.feed(page)
    return p


def page_data(page):
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m, "the page carries its data"
    return json.loads(m.group(1))


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
    for name in ("results.json", "junit.xml", "run.pcapng"):
        (run_dir / name).write_text("x")
    out = tmp / "out" / "report.html"
    out.parent.mkdir()
    html.write(results, out, run_dir=run_dir)
    return results, out.read_text(), first_fail


def test_nothing_from_the_data_is_markup(rendered):
    _, page, first_fail = rendered
    assert HOSTILE not in page and "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;onmouseover=alert(2)" in page
    parsed = parse(page)
    scripts = [attrs for tag, attrs in parsed.found if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "report-data"}, {}], "one data block, one script of the suite's"
    assert not [a for _, attrs in parsed.found for a in attrs if a.startswith("on")]
    block = re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in block and ">" not in block and "&" not in block, "the JSON cannot end its script element"
    titles = {c["i"]: c["t"] for c in page_data(page)["cases"]}
    assert titles[first_fail["id"]] == HOSTILE, "the data holds the text as it is; the script shows it as text"
    script = (Path(html.TEMPLATES) / "report.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script


def test_the_page_fetches_nothing(rendered):
    _, page, _ = rendered
    for tag, attrs in parse(page).found:
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is None or value.startswith("#") or value.startswith("data:"):
                continue
            if tag == "a":  # links a person may follow: RFCs, the pcaps and files beside the report
                assert value.startswith("https://www.rfc-editor.org/rfc/") or value.startswith("../run/"), value
            else:
                pytest.fail(f"<{tag} {name}={value!r}> would fetch something")
    assert "@import" not in page and "url(" not in page


def test_header_links_the_runs_files(rendered):
    _, page, _ = rendered
    for name in ("results.json", "junit.xml", "run.pcapng"):
        assert f'<a href="../run/{name}">{name}</a>' in page


def test_summary_header_and_every_case_are_there(rendered):
    results, page, first_fail = rendered
    data = page_data(page)
    assert sorted(c["k"] for c in data["cases"]) == sorted(c["id"] for c in results["cases"])
    for c in results["cases"]:
        assert f'href="{c["rfc_url"]}"' in page or c["outcome"] not in ("fail", "error")
    assert "synthetic results (no SUT was run)" in page and "6.18.0-synthetic" in page
    assert "conformance run -n 2" in page and "net.ipv4.tcp_syn_retries" in page
    must_fails = [c for c in results["cases"] if c["level"] == "MUST" and c["outcome"] in ("fail", "error")]
    assert f"MUST requirements not met ({len(must_fails)}:" in page
    assert 'class="kd">known deviation<' in page
    assert f'href="../run/pcap/{first_fail["id"]}.pcapng"' in page


def test_failing_cases_are_readable_without_javascript(rendered):
    results, page, _ = rendered
    noscript = page[page.index("<noscript>\n<p"):page.rindex("</noscript>")]
    bad = [c for c in results["cases"] if c["outcome"] in ("fail", "error") or not c["baseline"]["match"]]
    assert noscript.count('<details class="case"') == len(bad)
    for c in bad:
        assert f'id="case-{c["id"]}"' in noscript
        assert f'<p class="req">{c["requirement"]}</p>' in noscript
    assert noscript.count("<li>§") == len(results["cases"]), "the index by RFC lists every case"


def test_matrix_splits_known_deviations_from_new_failures(rendered):
    results, page, _ = rendered
    table = page[page.index('<table class="matrix">'):page.index("</table>", page.index('<table class="matrix">'))]
    heads = re.findall(r"<th class=\"[^\"]*\">([^<]*)</th>", table)
    assert heads == ["pass", "fail · new", "fail · known deviation", "not-implemented", "skip", "inconclusive",
                     "error · new", "error · known deviation"]
    rows = re.findall(r"<tr><th>(MUST|SHOULD|MAY)</th>(.*?)</tr>", table)
    for level, cells in rows:
        counts = [0 if v == "·" else int(v) for v in re.findall(r"<td[^>]*>([^<]*)</td>", cells)]
        mine = [c for c in results["cases"] if c["level"] == level]
        known = [c for c in mine if c["baseline"]["deviation"] and c["baseline"]["match"]]
        want = results["summary"]["by_level"][level]
        assert counts[0] == want["pass"] and counts[1] + counts[2] == want["fail"]
        assert counts[2] == sum(1 for c in known if c["outcome"] == "fail")
        assert counts[-1] == len(mine)


def test_tcp_ladder_shows_relative_numbers_ports_window_and_options(tmp_path):
    results = make_run(tmp_path / "run", 14, seed=5)
    c = next(c for c in results["cases"] if c["protocol"] == "tcp")
    lad = ladder(c["frames"], tmp_path / "run" / c["pcap"])
    labels = [f.label for f in lad.frames[:5]]
    assert labels[0].startswith("40000 → 80 [SYN] seq=0 win=65535 len=0 <MSS 1460, SACK permitted, TS val ")
    assert labels[0].endswith(", NOP, WS 7>")
    assert labels[1] == "80 → 40000 [SYN, ACK] seq=0 ack=1 win=64240 len=0 <MSS 1460>"
    assert labels[2] == "40000 → 80 [PSH, ACK] seq=1 ack=1 win=65535 len=11"
    assert labels[3] == "80 → 40000 [ACK] seq=1 ack=12 win=64240 len=0"
    tcp = dict(next(layer.fields for layer in lad.frames[1].layers if layer.name == "TCP"))
    assert re.fullmatch(r"0x[0-9a-f]+ \(relative 0\)", tcp["seq"]) and tcp["ack"].endswith("(relative 1)")
    assert tcp["sport"] == "80" and tcp["flags"] == "SA (SYN, ACK)" and tcp["window"] == "64240"
    assert tcp["options"] == "MSS 1460" and tcp["chksum"].startswith("0x")
    ip = dict(next(layer.fields for layer in lad.frames[1].layers if layer.name == "IP"))
    assert ip["proto"] == "tcp (6)" and ip["ttl"] == "64" and ip["id"].startswith("0x")


def test_one_number_base_the_messages_and_the_decode_share(tmp_path):
    """The cases write sequence numbers and identifiers in hex ({:#x}); the decode writes them so."""
    results = make_run(tmp_path / "run", 14, seed=5)
    c = next(c for c in results["cases"] if c["protocol"] == "tcp")
    lad = ladder(c["frames"], tmp_path / "run" / c["pcap"])
    from scapy.layers.l2 import Ether

    from conformance import pcap

    seg = Ether(pcap.read(tmp_path / "run" / c["pcap"])[1].data)["TCP"]
    message = f"the SYN-ACK must carry <SEQ={seg.seq:#x}>"  # as cases/tcp write it
    tcp = dict(next(layer.fields for layer in lad.frames[1].layers if layer.name == "TCP"))
    assert message.split("SEQ=")[1].rstrip(">") in tcp["seq"]
    icmp = next(c for c in results["cases"] if c["protocol"] == "icmp")
    fields = dict(next(layer.fields for layer in ladder(icmp["frames"], tmp_path / "run" / icmp["pcap"]).frames[0].layers
                       if layer.name == "ICMP"))
    assert fields["type"] == "echo-request (8)" and re.fullmatch(r"0x[0-9a-f]+", fields["id"])
    ether = dict(ladder(icmp["frames"], tmp_path / "run" / icmp["pcap"]).frames[0].layers[0].fields)
    assert ether["type"] == "IPv4 (0x800)"


def test_the_frame_an_assertion_is_about_is_marked():
    def frames(*spec):
        return [Frame(n=i + 1, t_ms=0, port="tester", direction=d, length=60, summary=s, note=note)
                for i, (d, s, note) in enumerate(spec)]

    quoted = frames(("out", "probe", ""), ("in", "reply A", ""), ("in", "reply B", ""))
    mark_focus(quoted, "a frame like X arrived, and the requirement says none may: reply A")
    assert [f.focus != "" for f in quoted] == [False, True, False]
    silent = frames(("out", "stimulus", ""), ("in", "arp", ""), ("out", "fence", "fence"), ("in", "ans", "fence answer"))
    mark_focus(silent, "conformance.wire.NoMatch: no frame like echo reply arrived on tester within 1 s")
    assert silent[0].focus == "the frame the expected answer never came to"
    judged = frames(("out", "Ether / IP / ICMP 198.18.0.2 > 198.18.0.1 echo-request 0", ""),
                    ("in", "Ether / IP / ICMP 198.18.0.1 > 198.18.0.2 echo-reply 0", ""), ("out", "fence", "fence"))
    mark_focus(judged, "AssertionError: the reply's TTL must be 64")
    assert judged[1].focus.startswith("the SUT's last frame")


def test_hexdump_layout():
    assert hexdump(b"<ab>" + bytes(range(14))) == (
        "0000  3c 61 62 3e 00 01 02 03 04 05 06 07 08 09 0a 0b  <ab>............\n"
        "0010  0c 0d                                            ..")


def test_sections_sort_in_document_order():
    keys = sorted(["3.2.10", "3.2.9", "Packet Reception", "3.2", "10"], key=html.section_sort_key)
    assert keys == ["3.2", "3.2.9", "3.2.10", "10", "Packet Reception"]


def test_a_case_without_pcap_or_frames_still_renders(tmp_path):
    results = make_run(tmp_path / "run", 3, outcome_of={0: "fail", 1: "fail", 2: "fail"})
    results["cases"][0]["pcap"] = None
    results["cases"][1]["frames"] = []
    (tmp_path / "run" / results["cases"][2]["pcap"]).write_bytes(b"garbage")
    page = html.render(results, run_dir=tmp_path / "run", out_path=tmp_path / "x.html")
    assert "No frames were captured for this case." in page
    cases = {c["i"]: c for c in page_data(page)["cases"]}
    assert "dc" not in cases[results["cases"][2]["id"]], "a pcap that does not match is not decoded"
    assert "L" not in cases[results["cases"][2]["id"]]["f"][0], "no decode without the pcap's bytes"


def test_diff_section_is_included(tmp_path):
    from conformance.report import diff

    old = make_run(tmp_path / "old", 10, seed=1)
    new = make_run(tmp_path / "new", 12, seed=2)
    page = html.render(new, run_dir=tmp_path / "new", out_path=tmp_path / "x.html", diff=diff.compare(old, new))
    assert 'id="diff"' in page and "Appeared (2)" in page


def test_every_rfc_the_catalog_cites_has_its_title(repo):
    from conformance.cli import collect

    cited = {r for e in collect(repo / "cases") for r in (e.info.rfc, *e.info.extra_rfcs)}
    assert sorted(r for r in cited if not rfcs.title(r)) == [], "add the titles to conformance/report/rfcs.py"


def _history_runs(tmp_path):
    """Four runs of one SUT in one report directory, a fifth of another SUT, and a later one."""
    reports = tmp_path / "reports"
    base = make_run(reports / "20260101-000000-0000", 12, seed=9, started="2026-01-01T00:00:00.000+00:00")
    flip = base["cases"][0]["id"]
    runs = []
    for n, outcome in enumerate(["pass", "fail", "pass", "fail"]):
        r = json.loads(json.dumps(base))
        run_id = f"2026010{n + 1}-000000-000{n}"
        r["run"]["id"] = run_id
        r["run"]["started"] = f"2026-01-0{n + 1}T00:00:00.000+00:00"
        r["cases"][0]["outcome"] = outcome
        (reports / run_id).mkdir(parents=True, exist_ok=True)
        write_results(reports / run_id / "results.json", r)
        runs.append(r)
    other = json.loads(json.dumps(base))
    other["run"].update(id="20260102-120000-00ff", started="2026-01-02T12:00:00.000+00:00")
    other["run"]["sut"]["kind"] = "tap"
    (reports / "20260102-120000-00ff").mkdir()
    write_results(reports / "20260102-120000-00ff" / "results.json", other)
    return reports, runs, flip


def test_history_reads_the_earlier_runs_of_the_same_sut(tmp_path):
    reports, runs, flip = _history_runs(tmp_path)
    current = runs[2]  # the third run: two earlier ones, the fourth is later and the tap run is another SUT
    h = history.build(current, reports / current["run"]["id"], reports)
    assert [r.id for r in h.runs] == [runs[0]["run"]["id"], runs[1]["run"]["id"], runs[2]["run"]["id"]]
    assert h.strips[flip] == "PFP" and flip in h.flipped
    assert all(k == flip or k not in h.flipped for k in h.strips)
    area = h.areas[current["cases"][0]["protocol"]]
    assert [p["flips"] for p in area] == [0, 1, 1]
    line = history.sparkline(area)
    assert len(line["points"]) == 3 and line["points"][1]["flips"] == 1


def test_the_report_shows_history_and_trends(tmp_path):
    reports, runs, flip = _history_runs(tmp_path)
    current = runs[3]
    page = html.render(current, run_dir=reports / current["run"]["id"], out_path=reports / current["run"]["id"] / "index.html")
    assert '<svg class="trend"' in page and 'class="flip"' in page
    assert "History: this run and the 3 runs before it" in page
    data = {c["k"]: c for c in page_data(page)["cases"]}
    assert data[flip]["h"] == "PFPF" and data[flip]["fl"] == 1
    assert 'id="fliponly"' in page
