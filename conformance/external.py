"""The tester's side of an external SUT (kinds `tap` and `iface`) for one session.

For `tap` with a command, the suite makes a private namespace, creates a persistent TAP device
there and starts the user's command inside it; the command finds the TAP's name in `{tap}` or
$CONFORMANCE_TAP and the namespace as `{netns}` or $CONFORMANCE_NETNS (a path that setns()
accepts). Otherwise the suite attaches an AF_PACKET socket to the existing interface and
changes nothing on it.

The SUT is checked before the first case (its MAC is learned by ARP unless given) and after
every case; once it has exited or stopped answering, the remaining cases are INCONCLUSIVE with
that reason.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import shlex
import signal
import struct
import subprocess
import time
from typing import Any

from scapy.layers.l2 import ARP, Ether

from conformance import runs
from conformance.match import like
from conformance.netns import Namespace
from conformance.sut import ALLOW_HOST_IFACE_FLAG, ExternalSut, SutError
from conformance.topology import IFF_NO_PI, IFF_TAP, QUIET_DEFAULTS, TUNSETIFF, TUNSETPERSIST
from conformance.wire import Capture, NoMatch, Port

TESTER_TAP_MAC = "02:00:00:00:02:02"
START_TIMEOUT = 10.0  # a user-space stack or VM may take a while to start answering
PROBE_TIMEOUT = 1.0
BROADCAST = "ff:ff:ff:ff:ff:ff"


class Attachment:
    def __init__(self, target: ExternalSut) -> None:
        self.target = target
        self.ns: Namespace | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.tester_mac = TESTER_TAP_MAC
        self.sut_mac = target.sut_mac
        self.learned = ""  # how the SUT's MAC became known, for the report
        self.dead = ""  # why the SUT can no longer be tested, once it cannot
        self.log: list[str] = []

    # --- life cycle -----------------------------------------------------------------------

    def open(self) -> None:
        t = self.target
        if t.kind == "tap" and t.command:
            self._make_tap()
            self._start_command()
        else:
            self.tester_mac = self.existing_interface_mac()
        self._learn_sut(START_TIMEOUT if self.proc else PROBE_TIMEOUT * 3)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.ns is not None:
            self.ns.close()

    def _make_tap(self) -> None:
        from pyroute2 import IPRoute

        self.ns = Namespace("tester")
        with self.ns.entered():
            for key, value in QUIET_DEFAULTS.items():
                self.ns.write_sysctl(key, value)
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
            try:
                fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", self.target.iface.encode(), IFF_TAP | IFF_NO_PI))
                fcntl.ioctl(fd, TUNSETPERSIST, 1)  # the SUT's process attaches to it by name
            finally:
                os.close(fd)
            with IPRoute() as ipr:
                index = ipr.link_lookup(ifname=self.target.iface)[0]
                ipr.link("set", index=index, address=self.tester_mac, state="up")
                ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")

    def _start_command(self) -> None:
        assert self.ns is not None and self.target.command is not None
        netns_path = f"/proc/{os.getpid()}/fd/{self.ns.fd}"
        command = self.target.command.replace("{tap}", self.target.iface).replace("{netns}", netns_path)
        env = {"CONFORMANCE_TAP": self.target.iface, "CONFORMANCE_NETNS": netns_path}
        os.environ.update(env)  # spawn() passes the environment on
        try:
            self.proc = runs.spawn(self.ns, shlex.split(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(self.ns.fd,))
        except FileNotFoundError:
            raise SutError(f"--sut-command: {shlex.split(command)[0]!r} was not found") from None
        finally:
            for key in env:
                os.environ.pop(key, None)
        self.log.append(f"started the SUT: {command} (pid {self.proc.pid})")

    def existing_interface_mac(self) -> str:
        """The MAC of the interface the suite attaches to, once it is known to be safe to use."""
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            found = ipr.link_lookup(ifname=self.target.iface)
            if not found:
                raise SutError(f"there is no interface {self.target.iface!r} on this machine")
            link = ipr.get_links(found[0])[0]
            if link.get_attr("IFLA_OPERSTATE") not in ("UP", "UNKNOWN") or not link["flags"] & 1:
                raise SutError(f"interface {self.target.iface} is down; bring it up first (the suite does not change it)")
            if self.target.kind == "iface" and not self.target.allow_host_traffic_iface:
                used = host_traffic(ipr, found[0])
                if used:
                    raise SutError(f"interface {self.target.iface} carries this machine's own traffic ({used}); crafted "
                                   f"frames must not go out on it. Use an interface dedicated to the device, or say "
                                   f"so explicitly with {ALLOW_HOST_IFACE_FLAG}")
            return str(link.get_attr("IFLA_ADDRESS"))

    # --- the SUT's liveness ---------------------------------------------------------------

    def _arp_probe(self, timeout: float) -> str | None:
        capture = Capture()
        port = self.port(capture)
        t = self.target
        request = Ether(src=self.tester_mac, dst=BROADCAST) / ARP(op=1, hwsrc=self.tester_mac, psrc=t.tester_ip, pdst=t.sut_ip)
        try:
            reply = port.exchange(request, expect=like(ARP(op="is-at", psrc=t.sut_ip)), timeout=timeout)
        except NoMatch:
            return None
        finally:
            capture.close()
        return str(reply[ARP].hwsrc)

    def _learn_sut(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        mac = None
        while mac is None and time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise SutError(f"the SUT command exited with status {self.proc.returncode} before it answered: {self._stderr()}")
            mac = self._arp_probe(min(PROBE_TIMEOUT, max(deadline - time.monotonic(), 0.05)))
        if mac is None:
            raise SutError(f"the SUT at {self.target.sut_ip} did not answer ARP on {self.target.iface} within {timeout:g} s")
        if self.sut_mac is None:
            self.sut_mac = mac
            self.learned = f"learned by ARP: {self.target.sut_ip} is at {mac}"
        elif self.sut_mac != mac:
            self.learned = f"WARNING: --sut-mac is {self.sut_mac} but {self.target.sut_ip} answered ARP from {mac}"
        else:
            self.learned = f"given with --sut-mac and confirmed by ARP: {mac}"
        self.log.append(self.learned)

    def check(self) -> str:
        """Is the SUT still there? Returns (and remembers) why not, or ''."""
        if self.dead:
            return self.dead
        if self.proc is not None and self.proc.poll() is not None:
            self.dead = f"the SUT process exited with status {self.proc.returncode}"
        elif self._arp_probe(PROBE_TIMEOUT) is None:
            self.dead = f"the SUT stopped answering ARP for {self.target.sut_ip}"
        if self.dead:
            self.log.append(self.dead)
        return self.dead

    def _stderr(self) -> str:
        if self.proc is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace").strip()[-300:]

    # --- what cases get -------------------------------------------------------------------

    def port(self, capture: Capture) -> Port:
        t = self.target
        port = Port("tester", capture, ns=self.ns, ifname=t.iface, mac=self.tester_mac, ip=t.tester_ip)
        port.guard = self._guard
        return port

    def _guard(self, data: bytes) -> None:
        """On an external SUT the suite sends only to the SUT: unicast to its MAC, or broadcast;
        and IPv4 only to its address (or a broadcast/multicast address on its segment)."""
        dst_mac = ":".join(f"{b:02x}" for b in data[:6])
        if dst_mac not in (self.sut_mac, BROADCAST) and not data[0] & 1:
            raise SutError(f"refusing to send to {dst_mac}: on the {self.target.kind} SUT the suite sends only to the SUT")
        if data[12:14] == b"\x08\x00" and len(data) >= 34:
            dst = ipaddress.IPv4Address(data[30:34])
            net = ipaddress.IPv4Network(f"{self.target.sut_ip}/{self.target.prefixlen}", strict=False)
            if str(dst) != self.target.sut_ip and not (dst.is_multicast or dst == net.broadcast_address
                                                       or str(dst) == "255.255.255.255"):
                raise SutError(f"refusing to send to {dst}: on the {self.target.kind} SUT the suite sends only to {self.target.sut_ip}")

    def describe(self) -> dict[str, Any]:
        return {"interface": self.target.iface, "sut_ip": self.target.sut_ip, "sut_mac": self.sut_mac,
                "tester_ip": self.target.tester_ip, "tester_mac": self.tester_mac, "learned": self.learned,
                "log": list(self.log)}


def host_traffic(ipr: Any, index: int) -> str:
    """What of this machine's own traffic uses the interface `index`: its addresses (IPv4, or IPv6
    beyond link-local), a default route through it, or the route to a configured nameserver.
    '' when none does. Read-only: it only asks the kernel."""
    import socket as sk

    uses = []
    addrs = [a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=index)
             if a["family"] == sk.AF_INET or not str(a.get_attr("IFA_ADDRESS")).lower().startswith("fe80:")]
    if addrs:
        uses.append("addresses " + ", ".join(sorted(addrs)))
    for family in (sk.AF_INET, sk.AF_INET6):
        for route in ipr.get_routes(family=family, table=254):
            oifs = {route.get_attr("RTA_OIF")} | {hop.get("oif") for hop in route.get_attr("RTA_MULTIPATH") or ()}
            if route["dst_len"] == 0 and index in oifs:
                uses.append("a default route")
                break
    for server in _nameservers():
        try:
            route = ipr.route("get", dst=server)[0]
        except Exception:  # an unreachable nameserver has no route to use this interface
            continue
        if route.get_attr("RTA_OIF") == index:
            uses.append(f"the route to nameserver {server}")
    return "; ".join(dict.fromkeys(uses))


def _nameservers(path: str = "/etc/resolv.conf") -> list[str]:
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                ipaddress.ip_address(words[1].split("%")[0])
            except ValueError:
                continue
            out.append(words[1].split("%")[0])
    return out


class Unavailable:
    """Stands in for what an external SUT cannot offer: any use skips the case with the reason."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def __getattr__(self, name: str) -> Any:
        import pytest

        pytest.skip(self._reason)


class ExternalListener(Unavailable):
    """A port the user said listens on the SUT; the suite cannot accept or read on it."""

    def __init__(self, port: int, kind: str) -> None:
        super().__init__(f"the {kind} SUT's application cannot be driven by the suite (accept, read, write)")
        self.port = port


class ExternalApps(Unavailable):
    """SutApps for an external SUT: only the listening ports the user named."""

    def __init__(self, target: ExternalSut) -> None:
        super().__init__(f"the {target.kind} SUT cannot run the suite's applications")
        self._target = target

    def listen(self, port: int, *args: Any, **kw: Any) -> ExternalListener:
        import pytest

        if self._target.tcp_port is None:
            pytest.skip(f"the case needs a listening TCP port on the SUT: pass --sut-tcp-port {port} if it offers one")
        if self._target.tcp_port != port:
            pytest.skip(f"the case listens on TCP port {port}, the SUT offers {self._target.tcp_port} (--sut-tcp-port)")
        return ExternalListener(port, self._target.kind)

    def udp(self, port: int = 0, *args: Any, **kw: Any) -> ExternalListener:
        import pytest

        if self._target.udp_port is None or self._target.udp_port != port:
            pytest.skip(f"the case needs UDP port {port} bound on the SUT: pass --sut-udp-port {port} if it offers one")
        return ExternalListener(port, self._target.kind)
