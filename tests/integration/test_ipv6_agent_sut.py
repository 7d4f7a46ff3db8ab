"""The IPv6 cases on an external SUT: a Linux namespace the suite did not build, reached through
the reference agent over a pipe, with IPv6 addresses from the SUT file's sut_ip6/tester_ip6 keys
(given to it per case, as to a VM). The cases that apply give the verdicts they give in-process."""

import json
import os
import subprocess
import sys

import pytest
from pyroute2 import IPRoute

from conformance import runs
from conformance.netns import Namespace
from conformance.topology import ETHTOOL_STXCSUM, _ethtool_set

SELECTION = ["IP6-VERSION-*", "IP6-OPT-*", "IP6-RH-*", "IP6-FRAG-REASSEMBLY", "IP6-FRAG-ATOMIC*", "IP6-FWD-HLIM-*",
             "ICMP6-ECHO-*", "ICMP6-DU-PORT", "ICMP6-TE-*", "ICMP6-PP-NEXT-HEADER*", "ICMP6-NOERR-*", "ICMP6-ERR-SOURCE",
             "PMTU6-HOST-LOWERS", "TCP6-EST-*", "UDP6-ZERO-CHECKSUM-DISCARDED",
             # the Neighbor Discovery topologies, given their plan through the agent
             "ND-RESOLVE-*", "ND-NUD-*", "SLAAC-DAD-*", "MLD-*", "ND-RTR-REDIRECT-*", "ADDRSEL-*"]
LINKS = (("lan", "m0", "d0", "198.18.0.1", "198.18.0.2", "198.18.0.254", "2001:db8::1", "2001:db8::2"),
         ("near", "m0", "d0", "198.18.1.1", "198.18.1.2", None, "2001:db8:1::1", "2001:db8:1::2"),
         ("far", "m1", "d1", "198.18.2.1", "198.18.2.2", None, "2001:db8:2::1", "2001:db8:2::2"))


@pytest.fixture
def device():
    """A machine namespace (the suite's side, IPv6 off so its kernel stays silent) wired to a
    device namespace (the SUT, IPv6 on, no address until the agent gives one)."""
    machine, dev = Namespace("machine"), Namespace("device")
    with machine.entered(), IPRoute() as ipr:
        for key in ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"):
            machine.write_sysctl(key, 1)
        for a, b in (("m0", "d0"), ("m1", "d1")):
            ipr.link("add", ifname=a, kind="veth", peer={"ifname": b, "net_ns_fd": dev.fd})
            ipr.link("set", index=ipr.link_lookup(ifname=a)[0], state="up")
    with dev.entered(), IPRoute() as ipr:
        for key in ("net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad", "net.ipv6.conf.d0.accept_dad",
                    "net.ipv6.conf.d1.accept_dad"):
            dev.write_sysctl(key, 0)
        for name in ("d0", "d1", "lo"):
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
        for name in ("d0", "d1"):
            _ethtool_set(name, ETHTOOL_STXCSUM, 0)
    yield machine, dev, f"/proc/{os.getpid()}/fd/{dev.fd}"
    machine.close()
    dev.close()


def sut_file(path, agent: str):
    links = "".join(f'\n[links.{role}]\niface = "{iface}"\nsut_ifname = "{ifname}"\nsut_ip = "{ip}"\ntester_ip = "{tester}"\n'
                    + (f'gateway = "{gw}"\n' if gw else "") + f'sut_ip6 = "{ip6}"\ntester_ip6 = "{tester6}"\n'
                    for role, iface, ifname, ip, tester, gw, ip6, tester6 in LINKS)
    path.write_text(f'description = "a Linux namespace with IPv6, through its agent"\nkind = "iface"\nagent = "{agent}"\n'
                    f"configure = true\n{links}")
    return path


def run(machine, report_dir, *argv):
    selection = [arg for pattern in SELECTION for arg in ("--case", pattern)]
    proc = runs.spawn(machine, [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report_dir),
                                *selection, *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate(timeout=600)[0].decode()
    results = json.loads((report_dir / "latest" / "results.json").read_text())
    return out, {c["id"]: c for c in results["cases"]}


def test_ipv6_cases_give_the_same_verdicts_through_an_agent(tmp_path, device):
    machine, _, path = device
    agent = f"cmd:{sys.executable} -m conformance_agent --netns {path}"
    out, remote = run(machine, tmp_path / "remote", "--sut-file", str(sut_file(tmp_path / "dut.toml", agent)))
    _, local = run(machine, tmp_path / "local")
    ran = {k: c["outcome"] for k, c in remote.items() if c["outcome"] != "skip"}
    assert len(ran) >= 45, out[-3000:]
    differ = {k: (c, local[k]["outcome"], remote[k]["message"][:300]) for k, c in ran.items() if local[k]["outcome"] != c}
    assert not differ, differ
