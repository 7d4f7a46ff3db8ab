"""The agent seam end to end: a Linux namespace that is not the suite's own, reached only through
the reference agent over a pipe (its stdio, entered into that namespace) and wires to it. The
same cases give the same verdicts as in-process; a lost agent ends the run with reasons that name
it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyroute2 import IPRoute

from conformance import runs
from conformance.netns import Namespace
from conformance.topology import ETHTOOL_STXCSUM, _ethtool_set

DATA = Path(__file__).parent / "data"
SELECTION = ["ARP-REPLY-*", "ICMP-ECHO-*", "RT-FWD-*", "TCP-EST-*", "TCP-RST-CLOSED-*", "UDP-CSUM-*",
             "FRAG-REASM-IN-ORDER", "IP4-TTL-*", "UDP-PORT-*"]


@pytest.fixture
def device():
    """A machine namespace (where the suite runs) wired to a device namespace (the SUT): m0-d0 and
    m1-d1. The device starts blank, as a VM does; its agent gives it addresses per case."""
    machine, dev = Namespace("machine"), Namespace("device")
    with machine.entered(), IPRoute() as ipr:
        for a, b in (("m0", "d0"), ("m1", "d1")):
            ipr.link("add", ifname=a, kind="veth", peer={"ifname": b, "net_ns_fd": dev.fd})
            ipr.link("set", index=ipr.link_lookup(ifname=a)[0], state="up")
    with dev.entered(), IPRoute() as ipr:
        for key in ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"):
            dev.write_sysctl(key, 1)
        for name in ("d0", "d1", "lo"):
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
        for name in ("d0", "d1"):
            _ethtool_set(name, ETHTOOL_STXCSUM, 0)  # a real NIC sends finished checksums
    yield machine, dev, f"/proc/{os.getpid()}/fd/{dev.fd}"
    machine.close()
    dev.close()


def sut_file(path: Path, agent: str) -> Path:
    links = "".join(f'\n[links.{role}]\niface = "{iface}"\nsut_ifname = "{ifname}"\nsut_ip = "{ip}"\ntester_ip = "{tester}"\n'
                    + (f'gateway = "{gw}"\n' if gw else "")
                    for role, iface, ifname, ip, tester, gw in (
                        ("lan", "m0", "d0", "198.18.0.1", "198.18.0.2", "198.18.0.254"),
                        ("near", "m0", "d0", "198.18.1.1", "198.18.1.2", None),
                        ("far", "m1", "d1", "198.18.2.1", "198.18.2.2", None)))
    path.write_text(f'description = "a Linux namespace through its agent"\nkind = "iface"\nagent = "{agent}"\n'
                    f"configure = true\n{links}")
    return path


def run(machine, report_dir, *argv):
    selection = [arg for pattern in SELECTION for arg in ("--case", pattern)]
    proc = runs.spawn(machine, [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report_dir),
                                *selection, *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                      )
    out = proc.communicate(timeout=600)[0].decode()
    results = json.loads((report_dir / "latest" / "results.json").read_text())
    return out, {c["nodeid"]: c for c in results["cases"]}, results


def test_the_cases_give_the_same_verdicts_through_an_agent_over_a_pipe(tmp_path, device):
    machine, _, path = device
    agent = f"cmd:{sys.executable} -m conformance_agent --netns {path}"
    out, remote, results = run(machine, tmp_path / "remote", "--sut-file", str(sut_file(tmp_path / "dut.toml", agent)))
    assert results["run"]["sut"]["attachment"]["agent"]["agent"].startswith("conformance-agent"), out[-2000:]
    _, local, _ = run(machine, tmp_path / "local")
    assert len(remote) > 60
    assert {k: c["outcome"] for k, c in remote.items()} == {k: c["outcome"] for k, c in local.items()}, out[-3000:]


def test_a_lost_agent_leaves_the_rest_inconclusive_naming_it(tmp_path, device):
    machine, _, path = device
    agent = f"cmd:{sys.executable} {DATA / 'mortal_agent.py'} {path} 60"
    out, cases, _ = run(machine, tmp_path, "--sut-file", str(sut_file(tmp_path / "dut.toml", agent)))
    outcomes = [c["outcome"] for c in cases.values()]
    assert outcomes.count("pass") > 3, "the cases before the loss ran"
    lost = [c for c in cases.values() if c["outcome"] == "inconclusive"]
    assert lost, out[-2000:]
    assert all("the agent of `" in c["message"] and "was lost" in c["message"] for c in lost), lost[0]["message"]
    assert "fail" not in outcomes or all("died" not in (c["message"] or "") for c in cases.values())
    assert "THE SUT DIED" in out and "status 3" in out
