"""A full run leaves the root namespace as it found it; parallel runs do not collide; verdicts
do not depend on the order of the cases."""

import json
import subprocess
import sys

import pytest

from tests.integration import rootns


def start_run(report_dir, *options):
    return subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report_dir), *options, "--", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def verdicts(report_dir):
    results = json.loads((report_dir / "latest" / "results.json").read_text())
    return results["run"]["id"], {c["nodeid"]: c["outcome"] for c in results["cases"]}


def finish(proc):
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode in (0, 1), out[-3000:]


@pytest.mark.parametrize("options", [[], ["--sut-profile", "hardened-host"]], ids=["defaults", "profile"])
def test_a_full_run_leaves_the_root_namespace_and_every_host_sysctl_untouched(tmp_path, options):
    before = rootns.snapshot()
    finish(start_run(tmp_path, "-n", "2", *options))
    _, got = verdicts(tmp_path)
    assert len(got) > 100, "the whole catalog ran"
    assert rootns.differences(before, rootns.snapshot()) == []


def test_two_runs_at_once_do_not_collide(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    runs = [start_run(a, "--protocol", "arp", "--protocol", "icmp"), start_run(b, "--protocol", "arp", "--protocol", "icmp")]
    for proc in runs:
        finish(proc)
    (id_a, va), (id_b, vb) = verdicts(a), verdicts(b)
    assert id_a != id_b
    assert va == vb
    assert len(va) > 20


def test_verdicts_do_not_depend_on_the_order_of_the_cases(tmp_path):
    got = []
    for seed in ("1", "2"):
        finish(start_run(tmp_path / seed, "--protocol", "arp", "--protocol", "udp", "--shuffle", seed))
        got.append(verdicts(tmp_path / seed)[1])
    assert got[0] == got[1]
