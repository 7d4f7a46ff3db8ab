"""Foreign stacks behind a TAP: PyTCP, lwIP and libslirp, each started from its SUT file
(examples/<stack>.toml), run on a representative selection of cases and held to its own baseline
(cases/baselines/<stack>): the run must exit 0, i.e. every verdict is the recorded one.

Until the suite reads SUT files (`--sut-file`), the file is turned into the `--sut tap
--sut-command` options it stands for. A stack that cannot be installed or built is skipped with
the reason."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Cases whose verdicts cover each stack's reception paths (ARP, Ethernet, ICMP, IPv4 options,
# TCP to a closed port), passes and baselined deviations alike; each run stays well under 60 s.
SELECTION = {
    "pytcp": ["ARP-REPLY-*", "ARP-BAD-OPCODE", "ETH-RFC1042-*", "ETH-BROADCAST-*", "ICMP-ECHO-MIRROR",
              "ICMP-ECHO-LARGE", "ICMP-PROTO-UNREACH", "IP4-OPT-LENGTH-*", "FRAG-REASM-END-OVERRUN",
              "TCP-RST-CLOSED-*"],
    "lwip": ["ARP-REPLY-*", "ARP-BAD-OPCODE", "ETH-RFC1042-*", "ETH-BROADCAST-*", "ICMP-ECHO-MIRROR", "ICMP-ECHO-LARGE",
             "ICMP-ECHO-FRAGMENTED", "ICMP-ECHO-RECORD-ROUTE", "ICMP-ERR-QUOTE", "ICMP-ERR-QUOTE-OPTIONS",
             "IP4-RESERVED-FLAG-ZERO", "FRAG-REASM-TINY", "FRAG-REASM-OPTIONS-FIRST-ONLY", "TCP-RST-CLOSED-*"],
    "slirp": ["ARP-REPLY-*", "ARP-BAD-*-TYPE", "ETH-RFC1042-*", "ETH-BROADCAST-*", "ICMP-ECHO-MIRROR",
              "ICMP-PROTO-UNREACH", "IP4-OPT-LENGTH-*", "TCP-RST-CLOSED-*"],
}


def _missing(stack: str) -> str | None:
    if stack == "pytcp" and importlib.util.find_spec("pytcp") is None:
        return "PyTCP is not installed (scripts/bootstrap --dev installs pytcp==2.7.6)"
    if stack == "lwip" and not os.access(ROOT / "build" / "lwip" / "lwip-sut", os.X_OK):
        return "the lwIP harness is not built (scripts/bootstrap --dev installs liblwip-dev and runs sut/lwip/build)"
    if stack == "slirp" and shutil.which("slirp4netns") is None:
        return "slirp4netns is not installed (scripts/bootstrap --dev installs it)"
    return None


def _supports_sut_file() -> bool:
    done = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--help"], capture_output=True, text=True,
                          cwd=ROOT)
    return "--sut-file" in done.stdout


def _sut_options(stack: str, run_dir: Path) -> list[str]:
    path = ROOT / "examples" / f"{stack}.toml"
    if _supports_sut_file():
        return ["--sut-file", str(path)]
    spec = tomllib.loads(path.read_text())
    lan = spec["links"]["lan"]
    command = (spec["start"].replace("{tap:lan}", "{tap}").replace("{agent_socket}", str(run_dir / "agent.sock"))
               .replace("{run_dir}", str(run_dir)))
    return ["--sut", "tap", "--iface", lan["tap"], "--sut-ip", lan["sut_ip"], "--tester-ip", lan["tester_ip"],
            "--sut-command", command]


@pytest.mark.parametrize("stack", sorted(SELECTION))
def test_stack_meets_its_baseline(stack, tmp_path):
    why = _missing(stack)
    if why:
        pytest.skip(why)
    cases = [arg for pattern in SELECTION[stack] for arg in ("--case", pattern)]
    argv = [sys.executable, "-m", "conformance.cli", "run", *_sut_options(stack, tmp_path), *cases,
            "--baseline", str(ROOT / "cases" / "baselines" / stack), "--report-dir", str(tmp_path / "report")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=90, cwd=ROOT)
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
    assert done.returncode == 0, f"{stack}: the run differs from cases/baselines/{stack}:\n{tail}"
    assert "every verdict matches" in done.stdout, tail
