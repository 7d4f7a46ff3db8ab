"""The tester's side of an external SUT (kinds `tap` and `iface`) for one session: its wires,
its process, its agent, and its life.

For `tap` with a start command, the suite makes a private namespace, creates one persistent TAP
device per link there and starts the command inside it; the command finds the TAPs' names in
`{tap:ROLE}` (or `{tap}` and $CONFORMANCE_TAP for the lan link) and the namespace as `{netns}`
or $CONFORMANCE_NETNS (a path that setns() accepts). Its stdout and stderr go to files in the
run's directory. Otherwise the suite attaches AF_PACKET sockets to the existing interfaces and
changes nothing on them.

With an agent, the SUT's state and applications are reached through it, and after every case
the agent puts the SUT back as it found it (`reset`: sockets closed, changes undone, learned
neighbours and route exceptions forgotten).

The SUT is checked before the first case (its MACs are learned by ARP unless given) and after
every case. A SUT that dies or stops answering is announced at once, with its exit status
decoded; the case that was running is blamed; the remaining cases are INCONCLUSIVE with that
reason, or, with --sut-restart, the SUT is started again and the run goes on.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scapy.layers.l2 import ARP, Ether

from conformance import runs, sut_file
from conformance.agent import AgentLost, Channel, StreamChannel
from conformance.match import like
from conformance.netns import Namespace
from conformance.sut import ALLOW_HOST_IFACE_FLAG, ExternalSut, Link, SutError
from conformance.topology import IFF_NO_PI, IFF_TAP, QUIET_DEFAULTS, TUNSETIFF, TUNSETPERSIST
from conformance.verdict import NotApplicable
from conformance.wire import Capture, NoMatch, Port

# The tester's MAC on a TAP the suite makes, by the role of the first link on it (as in the
# netns topologies, so that frames look the same in every kind of run).
TESTER_MACS = {"lan": "02:00:00:00:02:02", "near": "02:00:00:00:11:02", "far": "02:00:00:00:12:02"}
PROBE_TIMEOUT = 1.0
BROADCAST = "ff:ff:ff:ff:ff:ff"
# IPv4 destinations the suite may send to through an external SUT besides its links' own
# subnets: addresses nothing routes (this network, loopback, multicast, reserved, broadcast),
# and, where the SUT runs in the suite's private namespace with nothing but the suite's TAPs, the
# whole test range. A stack that forwards beyond its links (a router with an uplink, a NAT like
# libslirp) must never be handed a datagram for an address a real host could have.
UNROUTED = tuple(ipaddress.IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3"))
TEST_RANGE = ipaddress.IPv4Network("198.18.0.0/15")
# The same for IPv6: link-local unicast, interface- and link-scope multicast (no router sends
# them beyond the link), loopback and unspecified; the documentation prefix only in private.
UNROUTED6 = tuple(ipaddress.IPv6Network(n) for n in ("fe80::/10", "ff01::/16", "ff02::/16", "::1/128", "::/128"))
TEST_RANGE6 = ipaddress.IPv6Network("2001:db8::/32")


class GuardRefusal(NotApplicable):
    """A frame the send guard will not put on an external SUT's wire: the case does not apply."""


def exit_status(code: int | None) -> str:
    """A process's exit status in words: 'status 3', or 'SIGBUS (status -7)'."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"{signal.Signals(-code).name} (status {code})"
        except ValueError:
            return f"signal {-code} (status {code})"
    return f"status {code}"


class Attachment:
    def __init__(self, target: ExternalSut, run_dir: Path | None = None, restart: bool = False,
                 say: Callable[[str], None] | None = None) -> None:
        self.target = target
        self.run_dir = run_dir
        self.restart = restart
        self.say = say or (lambda text: print(text, file=sys.stderr))
        self.ns: Namespace | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: Channel | None = None
        self.tester_macs: dict[str, str] = {}  # interface -> the tester's MAC on it
        self.sut_macs: dict[str, str] = {}  # interface -> the SUT's MAC there
        self.learned = ""  # how the SUT's MACs became known, for the report
        self.dead = ""  # why the SUT can no longer be tested, once it cannot
        self.died_in_case = ""  # set when the SUT died during the case that just ran
        self.log: list[str] = []  # the SUT's life: starts, deaths, restarts
        self.outputs: list[str] = []  # files holding the SUT's stdout and stderr
        self.cases_run = 0
        self._tmp_dir: Path | None = None

    @property
    def _tmp(self) -> Path:
        """A private directory for the agent's socket and, without a run directory, the SUT's
        output; made when first needed."""
        if self._tmp_dir is None:
            self._tmp_dir = Path(tempfile.mkdtemp(prefix="conformance-sut-"))
        return self._tmp_dir

    @property
    def agent_socket(self) -> str:
        return str(self._tmp / "agent.sock")

    # --- life cycle -----------------------------------------------------------------------

    def open(self) -> None:
        t = self.target
        if t.kind == "tap" and t.command:
            self._make_taps()
        else:
            for link in t.links:
                self.tester_macs[link.interface] = self.existing_interface_mac(link.interface)
        self._start()

    def _start(self) -> None:
        t = self.target
        if t.command:
            self._start_command()
            if t.ready:
                self._await_ready(t.ready)
        if t.agent:
            self._connect_agent()
        self._learn_macs(t.start_timeout if t.command else PROBE_TIMEOUT * 3)

    def close(self) -> None:
        self._stop()
        if self.ns is not None:
            self.ns.close()
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)

    def _stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass

    def _make_taps(self) -> None:
        from pyroute2 import IPRoute

        self.ns = Namespace("tester")
        with self.ns.entered():
            for key, value in QUIET_DEFAULTS.items():
                self.ns.write_sysctl(key, value)
            with IPRoute() as ipr:
                ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
                for link in self.target.links:
                    if link.interface in self.tester_macs:
                        continue  # two roles on one wire (lan and near, for a SUT the suite configures)
                    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
                    try:
                        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", link.interface.encode(), IFF_TAP | IFF_NO_PI))
                        fcntl.ioctl(fd, TUNSETPERSIST, 1)  # the SUT's process attaches to it by name
                    finally:
                        os.close(fd)
                    mac = TESTER_MACS.get(link.role, "02:00:00:00:02:02")
                    ipr.link("set", index=ipr.link_lookup(ifname=link.interface)[0], address=mac, state="up")
                    self.tester_macs[link.interface] = mac

    def _placeholders(self) -> dict[str, str]:
        netns = f"/proc/{os.getpid()}/fd/{self.ns.fd}" if self.ns is not None else "/proc/self/ns/net"
        here = str(Path(self.target.source).resolve().parent) if self.target.source else os.getcwd()
        return {"netns": netns, "agent_socket": self.agent_socket, "run_dir": str(self.run_dir or self._tmp),
                "here": here, "python": sys.executable}

    def _start_command(self) -> None:
        assert self.target.command is not None
        values = self._placeholders()
        command = sut_file.expand(self.target.command, values, self.target.links)
        env = {"CONFORMANCE_TAP": self.target.lan.interface, "CONFORMANCE_NETNS": values["netns"]}
        out_dir = self.run_dir or self._tmp
        out_dir.mkdir(parents=True, exist_ok=True)
        stdout, stderr = out_dir / "sut-stdout.log", out_dir / "sut-stderr.log"
        self.outputs = [stdout.name, stderr.name]
        os.environ.update(env)  # spawn() passes the environment on
        try:
            with open(stdout, "ab") as out, open(stderr, "ab") as err:
                if self.ns is not None:
                    self.proc = runs.spawn(self.ns, shlex.split(command), stdout=out, stderr=err, pass_fds=(self.ns.fd,))
                else:
                    self.proc = subprocess.Popen(shlex.split(command), stdout=out, stderr=err, start_new_session=True)
        except FileNotFoundError:
            raise SutError(f"the SUT's start command: {shlex.split(command)[0]!r} was not found") from None
        finally:
            for key in env:
                os.environ.pop(key, None)
        self.log.append(f"started the SUT: {command} (pid {self.proc.pid})")

    def _await_ready(self, line: str) -> None:
        """Wait until the start command says the SUT is up (a line on its stdout)."""
        out = (self.run_dir or self._tmp) / self.outputs[0]
        deadline = time.monotonic() + self.target.start_timeout
        while time.monotonic() < deadline:
            if line in out.read_text(errors="replace"):
                self.log.append(f"ready: {line!r} after {time.monotonic() - deadline + self.target.start_timeout:.2f} s")
                return
            if self.proc is not None and self.proc.poll() is not None:
                self._fail_start(f"it exited before it printed {line!r}")
            time.sleep(0.05)
        self._fail_start(f"it did not print {line!r} within {self.target.start_timeout:g} s")

    def _connect_agent(self) -> None:
        assert self.target.agent is not None
        address = sut_file.expand(self.target.agent, self._placeholders(), self.target.links)
        deadline = time.monotonic() + self.target.start_timeout
        try:
            if address.startswith("cmd:"):
                channel = StreamChannel.command(shlex.split(address[4:]), start_new_session=True)
            else:
                channel = StreamChannel.connect(address, timeout=self.target.start_timeout)
            channel.start()
        except (OSError, AgentLost) as exc:
            self._fail_start(f"its agent ({address}) did not answer within {self.target.start_timeout:g} s: {exc}")
        self.channel = channel
        hello = channel.hello
        self.log.append(f"agent: {hello.get('agent')} on {hello.get('system', '?')} {hello.get('release', '')} "
                        f"({time.monotonic() - deadline + self.target.start_timeout:.2f} s after the start)")

    def _fail_start(self, why: str) -> None:
        status = ""
        if self.proc is not None and self.proc.poll() is not None:
            status = f"; the SUT exited with {exit_status(self.proc.returncode)}"
        raise SutError(f"the SUT did not come up: {why}{status}{self._stderr_tail()}")

    def existing_interface_mac(self, name: str | None = None) -> str:
        """The MAC of an interface the suite attaches to, once it is known to be safe to use."""
        from pyroute2 import IPRoute

        name = name or self.target.iface
        with IPRoute() as ipr:
            found = ipr.link_lookup(ifname=name)
            if not found:
                raise SutError(f"there is no interface {name!r} on this machine")
            link = ipr.get_links(found[0])[0]
            if link.get_attr("IFLA_OPERSTATE") not in ("UP", "UNKNOWN") or not link["flags"] & 1:
                raise SutError(f"interface {name} is down; bring it up first (the suite does not change it)")
            if self.target.kind == "iface" and not self.target.allow_host_traffic_iface:
                used = host_traffic(ipr, found[0])
                if used:
                    raise SutError(f"interface {name} carries this machine's own traffic ({used}); crafted "
                                   f"frames must not go out on it. Use an interface dedicated to the device, or say "
                                   f"so explicitly with {ALLOW_HOST_IFACE_FLAG}")
            return str(link.get_attr("IFLA_ADDRESS"))

    # --- the SUT's MACs and liveness ------------------------------------------------------

    def _arp_probe(self, link: Link, timeout: float) -> str | None:
        capture = Capture()
        port = self._port(capture, link)
        port.guard = None
        request = Ether(src=port.mac, dst=BROADCAST) / ARP(op=1, hwsrc=port.mac, psrc=port.ip, pdst=link.sut_ip)
        try:
            reply = port.exchange(request, expect=like(ARP(op="is-at", psrc=link.sut_ip)), timeout=timeout)
        except NoMatch:
            return None
        finally:
            capture.close()
        return str(reply[ARP].hwsrc)

    def _learn_macs(self, timeout: float) -> None:
        """Ask each wire's SUT address for its MAC (a SUT the suite configures gets the address
        of the wire's first role for the question, and loses it again)."""
        notes = []
        for link in self.target.links:
            if link.interface in self.sut_macs:
                continue
            if self.target.configure:
                self.configure(link.role, [])
            try:
                mac = self._learn(link, timeout)
            finally:
                if self.target.configure and self.channel is not None:
                    self.channel.call("reset")
            self.sut_macs[link.interface] = mac
            notes.append(f"{link.sut_ip} is at {mac} on {link.interface}")
        self.learned = "; ".join(notes)
        self.log.append(f"MACs: {self.learned}")

    def _learn(self, link: Link, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        mac = None
        while mac is None and time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                self._fail_start("it exited before it answered ARP")
            mac = self._arp_probe(link, min(PROBE_TIMEOUT, max(deadline - time.monotonic(), 0.05)))
        if mac is None:
            self._fail_start(f"{link.sut_ip} did not answer ARP on {link.interface} within {timeout:g} s")
        assert mac is not None
        if link.sut_mac is not None and link.sut_mac != mac:
            self.log.append(f"WARNING: the SUT file gives {link.sut_mac} for {link.sut_ip} but it answered ARP from {mac}")
        return mac

    def configure(self, role: str, preconditions: list[str], *, ipv6: bool = False) -> None:
        """Give a SUT the suite configures what the role needs: the link's address, its default
        gateway, forwarding for a router; with `ipv6` (an IPv6 topology), IPv6 on and the link's
        IPv6 address. The agent undoes it at the case's reset. An IPv4 case leaves IPv6 as the
        reset left it (off, on a SUT that starts IPv6-silent), as the suite's own IPv4
        topologies do: no MLD or Router Solicitation among the frames an IPv4 case reads."""
        link = self.target.link(role)
        if link is None or not self.target.configure or self.channel is None:
            return
        ifname = link.sut_ifname or "eth0"
        self.channel.call("address_add", cidr=f"{link.sut_ip}/{link.prefixlen}", interface=ifname)
        done = [f"address {link.sut_ip}/{link.prefixlen} on {ifname}"]
        if link.gateway:
            self.channel.call("route_add", dst="default", gateway=link.gateway, interface=ifname)
            done.append(f"default via {link.gateway}")
        if link.sut_ip6 and ipv6:
            # IPv6 on, as the suite's own topologies turn it on: without DAD, so that the
            # link-local address is usable at once (a SUT that starts IPv6-silent, like the VM).
            for knob, value in (("ipv6.accept_dad", "0"), ("ipv6.disable", "0")):
                if self.channel.call("knob_get", name=knob, interface=ifname)["value"] != value:
                    self.channel.call("knob_set", name=knob, interface=ifname, value=value)
                    done.append(f"{knob}={value}")
            self.channel.call("address_add", cidr=f"{link.sut_ip6}/64", interface=ifname)
            done.append(f"address {link.sut_ip6}/64 on {ifname}")
        if role == "far":
            self.channel.call("knob_set", name="ipv4.forwarding", value="1")
            done.append("ipv4.forwarding=1")
            if link.sut_ip6 and ipv6:
                self.channel.call("knob_set", name="ipv6.forwarding", interface="all", value="1")
                done.append("ipv6.forwarding=1")
        preconditions.append(f"configured through the agent for role {role}: " + ", ".join(done))

    def check(self) -> str:
        """After a case: is the SUT still there? Put it back as it was found (agent reset).
        Returns (and remembers) why it is gone, or ''. With restart, it comes back."""
        self.died_in_case = ""
        self.cases_run += 1
        if self.dead:
            return self.dead
        why, blame = "", True
        if self.proc is not None and self.proc.poll() is not None:
            why = f"the SUT process exited with {exit_status(self.proc.returncode)}"
        elif self.channel is not None:
            try:
                problems = self.channel.call("reset")["problems"]
                if problems:
                    self.log.append("reset left: " + "; ".join(problems))
            except AgentLost as exc:
                # The agent, not necessarily the stack, is gone: nothing more can be judged, but
                # the case is not blamed for what may be the agent's own end.
                why, blame = exc.reason, False
        elif self._arp_probe(self.target.lan, PROBE_TIMEOUT) is None:
            why = f"the SUT stopped answering ARP for {self.target.lan.sut_ip}"
        if why:
            self._died(why, blame)
        return self.dead

    def _died(self, why: str, blame: bool = True) -> None:
        if blame:
            self.died_in_case = why + self._stderr_tail()
        self.log.append(f"died: {why}")
        self.say(f"conformance: THE SUT DIED: {why}{self._stderr_tail()}")
        if not self.restart:
            self.dead = why
            self._stop()
            return
        self._stop()
        self.sut_macs.clear()
        try:
            self._start()
        except SutError as exc:
            self.dead = f"{why}; the restart failed: {exc}"
            self.say(f"conformance: the SUT could not be restarted: {exc}")
            return
        self.log.append("restarted")
        self.say("conformance: the SUT was restarted (--sut-restart); the run goes on")

    def _stderr_tail(self) -> str:
        if not self.outputs:
            return ""
        path = (self.run_dir or self._tmp) / self.outputs[1]
        try:
            lines = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f"; its last words on stderr: {lines[-1][:200]}" if lines else ""

    # --- what cases get -------------------------------------------------------------------

    def port(self, capture: Capture, role: str = "lan", name: str = "tester") -> Port:
        link = self.target.link(role)
        if link is None:
            raise SutError(f"the SUT has no {role} link")
        return self._port(capture, link, name)

    def tester_ip(self, link: Link) -> str:
        """The tester's address on a link for this case. A SUT the suite does not rebuild keeps
        what earlier cases left in it that no reset reaches (ICMP rate-limit tokens and other
        per-peer state); so on the tester's own side of a segment (lan, near) each case speaks
        from a fresh address, 198.18.x.100 to .199, as if to a fresh SUT. The far host keeps its
        address: cases name it as a gateway."""
        net = ipaddress.IPv4Network(f"{link.sut_ip}/{link.prefixlen}", strict=False)
        if link.role == "far" or net.prefixlen > 24:
            return link.tester_ip
        taken = {link.sut_ip, link.gateway}
        for step in range(100):
            candidate = str(net.network_address + 100 + (self.cases_run + step) % 100)
            if candidate not in taken:
                return candidate
        return link.tester_ip

    def tester_ip6(self, link: Link) -> str | None:
        """The tester's IPv6 address on a link for this case: as `tester_ip`, a fresh one per case
        on the tester's own side of a segment (the link's /64, ::100 to ::163 hex), so that
        per-peer state the SUT keeps across cases (ICMPv6 rate-limit tokens) starts anew."""
        if link.tester_ip6 is None or link.sut_ip6 is None:
            return None
        if link.role == "far":
            return link.tester_ip6
        net = ipaddress.IPv6Network(f"{link.sut_ip6}/64", strict=False)
        taken = {ipaddress.IPv6Address(link.sut_ip6)}
        for step in range(100):
            candidate = net.network_address + 0x100 + (self.cases_run + step) % 100
            if candidate not in taken:
                return str(candidate)
        return link.tester_ip6

    def _port(self, capture: Capture, link: Link, name: str = "tester") -> Port:
        port = Port(name, capture, ns=self.ns, ifname=link.interface, mac=self.tester_macs[link.interface],
                    ip=self.tester_ip(link))
        port.guard = lambda data: self._guard(link, data)
        port.patience = self.target.patience
        return port

    @contextmanager
    def tester_mtu(self, role: str, mtu: int) -> Iterator[None]:
        """The tester's end of the role's wire with another MTU, for the case; only on a TAP the
        suite made (an interface of the machine is never changed)."""
        link = self.target.link(role)
        assert link is not None
        if self.ns is None:
            raise NotApplicable(f"the case needs the MTU of {link.interface} changed, which the suite does not own")
        from pyroute2 import IPRoute

        with self.ns.entered(), IPRoute() as ipr:
            index = ipr.link_lookup(ifname=link.interface)[0]
            before = ipr.get_links(index)[0].get_attr("IFLA_MTU")
            ipr.link("set", index=index, mtu=mtu)
        try:
            yield
        finally:
            with self.ns.entered(), IPRoute() as ipr:
                ipr.link("set", index=index, mtu=before)

    def sut_mac(self, role: str = "lan") -> str:
        link = self.target.link(role)
        assert link is not None
        return self.sut_macs[link.interface]

    @property
    def tester_mac(self) -> str:
        return self.tester_macs[self.target.lan.interface]

    def _guard(self, link: Link, data: bytes) -> None:
        """What the suite may send on an external SUT's wire: to the SUT's MAC or a group MAC
        (any unicast MAC on a TAP the suite made, where the SUT is the only other station), and
        IPv4 and IPv6 only to the links' subnets or to addresses nothing routes."""
        dst_mac = ":".join(f"{b:02x}" for b in data[:6])
        private = self.target.kind == "tap" and bool(self.target.command)
        if not data[0] & 1 and dst_mac != self.sut_macs.get(link.interface) and not private:
            raise GuardRefusal(f"the case sends to the MAC {dst_mac}, another station than the SUT; on the "
                               f"{self.target.kind} SUT's wire the suite sends only to the SUT")
        if data[12:14] == b"\x08\x00" and len(data) >= 34 and data[14] >> 4 == 4:
            dst = ipaddress.IPv4Address(data[30:34])
            subnets = [ipaddress.IPv4Network(f"{x.sut_ip}/{x.prefixlen}", strict=False) for x in self.target.links]
            if private:
                subnets.append(TEST_RANGE)
            if not any(dst in net for net in (*subnets, *UNROUTED)):
                raise GuardRefusal(f"the case sends to {dst}, outside the SUT's links and the suite's ranges; through "
                                   f"an external SUT the suite never sends where a real host could be reached")
        if data[12:14] == b"\x86\xdd" and len(data) >= 54 and data[14] >> 4 == 6:
            dst6 = ipaddress.IPv6Address(data[38:54])
            subnets6 = [ipaddress.IPv6Network(f"{x.sut_ip6}/64", strict=False) for x in self.target.links if x.sut_ip6]
            if private:
                subnets6.append(TEST_RANGE6)
            if not any(dst6 in net for net in (*subnets6, *UNROUTED6)):
                raise GuardRefusal(f"the case sends to {dst6}, outside the SUT's links and the suite's ranges; through "
                                   f"an external SUT the suite never sends where a real host could be reached")

    def describe(self) -> dict[str, Any]:
        t = self.target
        return {"links": [{"role": x.role, "interface": x.interface, "sut_ip": x.sut_ip, "tester_ip": x.tester_ip,
                           "sut_mac": self.sut_macs.get(x.interface), "tester_mac": self.tester_macs.get(x.interface)}
                          for x in t.links],
                "interface": t.iface, "sut_ip": t.sut_ip, "sut_mac": self.sut_macs.get(t.iface),
                "tester_ip": t.tester_ip, "tester_mac": self.tester_macs.get(t.iface), "learned": self.learned,
                "agent": dict(self.channel.hello) if self.channel is not None else None,
                "outputs": list(self.outputs), "log": list(self.log)}


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

        raise NotApplicable(self._reason)


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

        if self._target.tcp_port is None:
            raise NotApplicable(f"the case needs a listening TCP port on the SUT: pass --sut-tcp-port {port} if it offers one")
        if self._target.tcp_port != port:
            raise NotApplicable(f"the case listens on TCP port {port}, the SUT offers {self._target.tcp_port} (--sut-tcp-port)")
        return ExternalListener(port, self._target.kind)

    def udp(self, port: int = 0, *args: Any, **kw: Any) -> ExternalListener:

        if self._target.udp_port is None or self._target.udp_port != port:
            raise NotApplicable(f"the case needs UDP port {port} bound on the SUT: pass --sut-udp-port {port} if it offers one")
        return ExternalListener(port, self._target.kind)
