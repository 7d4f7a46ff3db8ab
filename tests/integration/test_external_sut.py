"""External SUTs: a real user-space stack (libslirp, through slirp4netns) behind a TAP device,
an existing TAP, and a device on an interface. The same cases run unchanged against each."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyroute2 import IPRoute

from conformance import runs
from conformance.netns import Namespace

DATA = Path(__file__).parent / "data" / "external_cases.py"
SLIRP = shutil.which("slirp4netns")
needs_slirp = pytest.mark.skipif(SLIRP is None, reason="needs slirp4netns (scripts/bootstrap --dev installs it)")
# libslirp plays the SUT at 198.18.7.2; host loopback and DNS forwarding are off, so nothing it is
# sent can leave the namespace.
SLIRP_ARGS = "--cidr 198.18.7.0/24 --disable-host-loopback --disable-dns"


def run_cases(tmp_path, *options, ns=None):
    argv = [sys.executable, "-m", "pytest", str(DATA), "--report-dir", str(tmp_path), "-q", "-rs", *options]
    if ns is None:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        out, code = done.stdout + done.stderr, done.returncode
    else:
        proc = runs.spawn(ns, argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        raw, _ = proc.communicate(timeout=120)
        out, code = raw.decode(), proc.returncode
    results = json.loads((tmp_path / "latest" / "results.json").read_text())
    return code, out, results, {c["id"]: c for c in results["cases"]}


@needs_slirp
def test_tap_sut_started_by_the_suite_and_lost_mid_run(tmp_path):
    _, out, results, cases = run_cases(
        tmp_path, "--sut", "tap", "--sut-command", f"{SLIRP} --netns-type=path {SLIRP_ARGS} {{netns}} {{tap}}",
        "--sut-ip", "198.18.7.2", "--tester-ip", "198.18.7.100")
    assert results["run"]["sut"]["kind"] == "tap"
    attachment = results["run"]["sut"]["attachment"]
    assert attachment["learned"].startswith("198.18.7.2 is at "), attachment
    assert cases["ARP-EXT-ANSWERS"]["outcome"] == "pass", out
    # The TAP is the suite's own, in a private namespace: an address of the test range is safe.
    assert cases["ICMP-EXT-GUARD"]["outcome"] == "pass"
    assert cases["ICMP-EXT-READS-CONTROL"]["outcome"] == "skip"
    assert "the tap SUT does not offer its state to the suite" in cases["ICMP-EXT-READS-CONTROL"]["message"]
    assert cases["ICMP-EXT-ZAFTER"]["outcome"] == "inconclusive"
    assert "the SUT process exited" in cases["ICMP-EXT-ZAFTER"]["message"]
    assert (tmp_path / "latest" / "index.html").exists(), "the run still writes its report"


@pytest.fixture
def machine():
    """A namespace that plays a whole machine with an interface `m0` leading to a Linux box."""
    ns_machine, ns_device = Namespace("machine"), Namespace("device")
    with ns_machine.entered(), IPRoute() as ipr:
        ipr.link("add", ifname="m0", kind="veth", peer={"ifname": "d0", "net_ns_fd": ns_device.fd})
        ipr.link("set", index=ipr.link_lookup(ifname="m0")[0], state="up")
    with ns_device.entered(), IPRoute() as ipr:
        index = ipr.link_lookup(ifname="d0")[0]
        ipr.addr("add", index=index, address="198.18.8.1", prefixlen=24)
        ipr.link("set", index=index, state="up")
    yield ns_machine
    ns_machine.close()
    ns_device.close()


def interface_state(ns, name):
    with ns.entered(), IPRoute() as ipr:
        link = ipr.get_links(ipr.link_lookup(ifname=name)[0])[0]
        addrs = sorted(a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=link["index"]))
        return link["flags"], link.get_attr("IFLA_MTU"), link.get_attr("IFLA_ADDRESS"), addrs


def test_iface_sut_is_reached_only_through_its_interface_which_stays_unchanged(tmp_path, machine):
    before = interface_state(machine, "m0")
    _, out, results, cases = run_cases(
        tmp_path, "--sut", "iface", "--iface", "m0", "--sut-ip", "198.18.8.1", "--tester-ip", "198.18.8.2",
        "-k", "not kills", ns=machine)
    assert results["run"]["sut"]["kind"] == "iface"
    assert cases["ARP-EXT-ANSWERS"]["outcome"] == "pass", out
    assert cases["ICMP-EXT-ZAFTER"]["outcome"] == "pass", out
    guard = cases["ICMP-EXT-GUARD"]  # a real wire: only the SUT's subnet, never beyond it
    assert guard["outcome"] == "skip" and guard["message"].startswith("not applicable: the case sends to 198.18.99.99")
    assert interface_state(machine, "m0") == before, "the suite must not change the interface"


@needs_slirp
def test_tap_sut_held_by_another_process_is_attached_to(tmp_path, machine):
    stack = runs.spawn(machine, [SLIRP, "--netns-type=path", *SLIRP_ARGS.split(), "/proc/self/ns/net", "st0"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with machine.entered(), IPRoute() as ipr:  # the user's own preparation: the TAP is up
            for _ in range(200):
                if ipr.link_lookup(ifname="st0"):
                    break
                subprocess.run(["sleep", "0.01"], check=True)
            ipr.link("set", index=ipr.link_lookup(ifname="st0")[0], state="up")
        _, out, results, cases = run_cases(
            tmp_path, "--sut", "tap", "--iface", "st0", "--sut-ip", "198.18.7.2", "--tester-ip", "198.18.7.100",
            "-k", "answers", ns=machine)
        assert cases["ARP-EXT-ANSWERS"]["outcome"] == "pass", out
        assert "st0" in results["run"]["sut"]["description"]
    finally:
        stack.kill()
        stack.wait()


@pytest.mark.parametrize(("options", "sentence"), [
    (["--sut", "tap", "--sut-ip", "198.18.7.300"], "--sut-ip '198.18.7.300' is not an IPv4 address"),
    (["--sut", "iface", "--iface", "nosuch0", "--sut-ip", "198.18.8.1", "--tester-ip", "198.18.8.2"],
     "there is no interface 'nosuch0' on this machine"),
    (["--sut", "iface", "--sut-ip", "198.18.8.1"], "--sut iface needs --iface NAME"),
    (["--sut", "tap", "--sut-command", "no-such-stack {tap}", "--sut-ip", "198.18.7.2"], "'no-such-stack' was not found"),
    (["--sut", "tap", "--sut-ip", "198.18.7.2", "-n", "2", "--sut-command", "true"], "run it without -n"),
    (["--sut-profile", "nosuch.toml"], "cannot read the profile"),
    (["--sut-sysctl", "net.ipv4.no_such=1"], "sysctl net.ipv4.no_such does not exist in a network namespace"),
])
def test_bad_sut_arguments_are_one_sentence_and_exit_2(options, sentence):
    done = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--case", "ARP-REPLY-UNICAST", *options],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert sentence in done.stderr


@pytest.mark.parametrize("use", ["address", "default route"])
def test_iface_that_carries_the_machines_own_traffic_is_refused_unless_the_user_says_so(tmp_path, machine, use):
    """Crafted frames must not go out on an interface the machine itself uses."""
    with machine.entered(), IPRoute() as ipr:
        index = ipr.link_lookup(ifname="m0")[0]
        if use == "address":
            ipr.addr("add", index=index, address="198.18.8.50", prefixlen=24)
        else:
            ipr.route("add", dst="0.0.0.0/0", oif=index)
    argv = [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(tmp_path), "--case", "ARP-REPLY-UNICAST",
            "--sut", "iface", "--iface", "m0", "--sut-ip", "198.18.8.1", "--tester-ip", "198.18.8.2"]
    proc = runs.spawn(machine, argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 2, out
    assert "interface m0 carries this machine's own traffic" in out and use in out
    assert "--allow-host-traffic-iface" in out
    _, out, _, cases = run_cases(tmp_path / "allowed", "--sut", "iface", "--iface", "m0", "--sut-ip", "198.18.8.1",
                                 "--tester-ip", "198.18.8.2", "--allow-host-traffic-iface", "-k", "answers", ns=machine)
    assert cases["ARP-EXT-ANSWERS"]["outcome"] == "pass", out
