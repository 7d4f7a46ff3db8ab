"""The SUT VM (scripts/vm-sut): Debian's Linux 6.1 booted from Debian packages, wired to two TAPs
in a private namespace and reached through the agent on its virtio-serial socket.

This is the proof that the suite reaches a stack that is not the machine's own kernel: the
kernel that answers hello, holds the addresses and replies to ARP is 6.1, whatever runs the
machine. One VM serves the hello, wiring and silence checks; the stop checks boot their own.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scapy.layers.l2 import ARP, Ether

from conformance import runs
from conformance.match import like
from conformance.netns import Namespace
from conformance.topology import QUIET_DEFAULTS
from conformance.wire import Capture, Port

REPO = Path(__file__).resolve().parents[2]
VM_SUT = REPO / "scripts" / "vm-sut"
TAPS = ("vmt0", "vmt1")
TESTER_MACS = ("02:00:00:00:61:aa", "02:00:00:00:62:aa")
SUBNETS = ("198.18.61", "198.18.62")
BOOT_TIMEOUT = 60.0  # qemu's CPU emulator (TCG) boots it in ~4 s; a loaded machine may take longer


def _missing_packages() -> str | None:
    missing = []
    if shutil.which("qemu-system-x86_64") is None:
        missing.append("qemu-system-x86")
    if not list(Path("/boot").glob("vmlinuz-*-cloud-amd64")):
        missing.append("linux-image-cloud-amd64")
    if not Path("/usr/bin/python3.11").exists():
        missing.append("python3.11-minimal")
    if subprocess.run(["dpkg-query", "-W", "busybox-static"], capture_output=True).returncode != 0:
        missing.append("busybox-static")
    return f"needs {', '.join(missing)}: scripts/bootstrap --vm" if missing else None


pytestmark = pytest.mark.skipif(_missing_packages() is not None, reason=_missing_packages() or "")


@dataclass
class Vm:
    ns: Namespace
    proc: subprocess.Popen[bytes]
    socket_path: str
    console: Path
    capture: Capture | None = None

    def qemu_pid(self) -> int:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        assert len(children) == 1, f"vm-sut should have one child, qemu; it has {children}"
        comm = Path(f"/proc/{children[0]}/comm").read_text().strip()
        assert comm.startswith("qemu-system"), f"vm-sut's child is {comm}, not qemu"
        return int(children[0])


def make_taps(ns: Namespace, names: tuple[str, ...]) -> None:
    """Persistent TAPs inside `ns`, up, as the suite makes them for an external SUT."""
    import fcntl
    import struct

    from pyroute2 import IPRoute

    from conformance.topology import IFF_NO_PI, IFF_TAP, TUNSETIFF, TUNSETPERSIST

    with ns.entered():
        for key, value in QUIET_DEFAULTS.items():
            ns.write_sysctl(key, value)
        for name in names:
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
            try:
                fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
                fcntl.ioctl(fd, TUNSETPERSIST, 1)  # qemu attaches to it by name
            finally:
                os.close(fd)
        with IPRoute() as ipr:
            for name, mac in zip(names, TESTER_MACS, strict=True):
                ipr.link("set", index=ipr.link_lookup(ifname=name)[0], address=mac, state="up")
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def boot(tmp_path: Path, ns: Namespace, taps: tuple[str, ...], capture: Capture | None = None) -> Vm:
    sock = str(tmp_path / "agent.sock")
    console = tmp_path / "console.log"
    argv = [str(VM_SUT), "--agent-socket", sock, "--console-log", str(console), "--boot-timeout", str(BOOT_TIMEOUT)]
    for tap in taps:
        argv += ["--tap", tap]
    proc = runs.spawn(ns, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    vm = Vm(ns, proc, sock, console, capture)
    deadline = time.monotonic() + BOOT_TIMEOUT + 30  # + a cold build of the image
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""  # type: ignore[union-attr]
        if not chunk:
            stop(vm)
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""  # type: ignore[union-attr]
            pytest.fail(f"vm-sut did not get ready: {line!r}\n{err}")
        line += chunk
    assert line == b"vm-sut: ready\n", f"vm-sut's stdout is one line, 'vm-sut: ready'; it printed {line!r}"
    return vm


def stop(vm: Vm) -> None:
    if vm.proc.poll() is None:
        vm.proc.send_signal(signal.SIGTERM)
        try:
            vm.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            vm.proc.kill()
            vm.proc.wait()


class Agent:
    """A client of the agent's socket: one JSON line out, one back."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(15)
        self.reader = self.sock.makefile("rb")
        self.next_id = 1

    def call(self, verb: str, **args: object) -> dict:
        rid, self.next_id = self.next_id, self.next_id + 1
        self.sock.sendall(json.dumps({"id": rid, "verb": verb, "args": args}).encode() + b"\n")
        answer = json.loads(self.reader.readline())
        assert answer["id"] == rid, answer
        assert answer["ok"], f"{verb} {args}: {answer}"
        return answer["result"]

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture(scope="module")
def vm(tmp_path_factory) -> Iterator[Vm]:
    """One VM on two TAPs; every frame on them is captured from before qemu starts."""
    ns = Namespace("vm-tester")
    make_taps(ns, TAPS)
    capture = Capture()
    for tap, mac in zip(TAPS, TESTER_MACS, strict=True):
        Port(tap, capture, ns=ns, ifname=tap, mac=mac)
    started = time.monotonic()
    machine = boot(tmp_path_factory.mktemp("vm"), ns, TAPS, capture)
    print(f"vm-sut ready after {time.monotonic() - started:.1f} s")
    try:
        yield machine
    finally:
        stop(machine)
        capture.close()
        ns.close()


def test_the_agent_in_the_vm_runs_linux_6_1_not_this_machines_kernel(vm):
    agent = Agent(vm.socket_path)
    try:
        hello = agent.call("hello")
    finally:
        agent.close()
    assert hello["system"] == "Linux"
    assert hello["release"].startswith("6.1."), f"the VM runs Debian's cloud kernel 6.1, not {hello['release']}"
    assert hello["release"] != os.uname().release, "the SUT's kernel must not be the machine's own"
    assert "address_add" in hello["verbs"]


def test_nics_are_eth0_eth1_in_tap_order_silent_up_without_addresses_and_reach_the_taps(vm):
    """Nothing arrives on either TAP from before the boot until 1 s after ready; then, once the
    suite gives eth0 and eth1 an address through the agent, each answers ARP on its own TAP
    (the positive control: frames from the VM do reach the capture on that path)."""
    deadline = time.monotonic() + 1.0
    while (left := deadline - time.monotonic()) > 0:
        vm.capture.ports[0].poll(left / 2)
        vm.capture.drain()
    heard = [(f.port, f.packet.summary()) for f in vm.capture.frames if f.direction == "in"]
    assert heard == [], f"the VM must be silent until configured; it sent {heard}"

    agent = Agent(vm.socket_path)
    try:
        interfaces = {i["name"]: i for i in agent.call("interfaces")}
        assert set(interfaces) == {"lo", "eth0", "eth1"}, interfaces
        for index, name in enumerate(("eth0", "eth1")):
            nic = interfaces[name]
            assert nic["mac"] == f"02:00:00:00:{index:02x}:01", f"{name} has the default MAC of NIC {index}: {nic}"
            assert nic["up"], f"{name} is up: {nic}"
            assert not nic.get("addresses"), f"{name} has no address until the suite gives one: {nic}"
        assert agent.call("sysctl_get", key="net.ipv6.conf.all.disable_ipv6")["value"] == "1"
        assert agent.call("sysctl_get", key="net.ipv6.conf.eth0.disable_ipv6")["value"] == "1"

        for index, (name, port) in enumerate(zip(("eth0", "eth1"), vm.capture.ports, strict=True)):
            sut_ip, tester_ip = f"{SUBNETS[index]}.2", f"{SUBNETS[index]}.1"
            sut_mac = f"02:00:00:00:{index:02x}:01"
            agent.call("address_add", cidr=f"{sut_ip}/24", interface=name)
            reply = port.exchange(
                Ether(src=TESTER_MACS[index], dst="ff:ff:ff:ff:ff:ff")
                / ARP(op=1, hwsrc=TESTER_MACS[index], psrc=tester_ip, pdst=sut_ip),
                expect=like(Ether(dst=TESTER_MACS[index]) / ARP(op=2, psrc=sut_ip)), timeout=5)
            assert reply[ARP].hwsrc == sut_mac, f"{name} sits behind {port.name} with MAC {sut_mac}"
        agent.call("reset")
    finally:
        agent.close()


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _await_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _gone(pid)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_qemu_does_not_outlive_vm_sut(tmp_path, sig):
    ns = Namespace("vm-stop")
    try:
        machine = boot(tmp_path, ns, ())
        qemu = machine.qemu_pid()
        machine.proc.send_signal(sig)
        status = machine.proc.wait(timeout=10)
        if sig == signal.SIGTERM:
            assert status == 0, f"vm-sut stopped by SIGTERM exits 0, not {status}"
            assert not os.path.exists(machine.socket_path), "vm-sut removes the agent's socket"
        assert _await_gone(qemu, 5), f"qemu (pid {qemu}) still runs after vm-sut got signal {sig.name}"
    finally:
        ns.close()


def test_the_image_is_built_once_and_again_when_the_agent_changes(tmp_path):
    agent = tmp_path / "conformance_agent"
    shutil.copytree(REPO / "conformance_agent", agent, ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"

    def build() -> tuple[dict, str]:
        done = subprocess.run([str(VM_SUT), "--build-only", "--cache-dir", str(cache), "--agent-package", str(agent)],
                              capture_output=True, text=True, timeout=120, check=True)
        return json.loads(done.stdout), done.stderr

    first, said = build()
    assert "vm-sut: built" in said and Path(first["initrd"]).exists()
    again, said = build()
    assert again["key"] == first["key"] and "built" not in said, "unchanged inputs reuse the cached image"
    (agent / "protocol.py").write_text((agent / "protocol.py").read_text() + "\n# changed\n")
    changed, said = build()
    assert changed["key"] != first["key"] and "vm-sut: built" in said, "a changed agent source makes a new image"
    assert not Path(first["initrd"]).exists(), "the image of inputs that are gone is removed"
