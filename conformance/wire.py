"""The wire: Ports that send and observe frames, and the Capture that records all of them.

A Port is an AF_PACKET socket bound to one interface inside a namespace (or the fd of a TAP/TUN
device). The socket exists from the moment the Port does, so capture is armed before any
stimulus: frames queue in the socket until `expect` reads them. Nothing here sleeps.

Every frame that a Port sends or receives is kept in the case's Capture with a nanosecond
timestamp (the kernel's receive stamp where there is one) for the pcap and the packet ladder.

A Port may claim IPv4 and IPv6 addresses for the tester: it answers the SUT's ARP requests and
Neighbor Solicitations for them itself, since the tester's kernel owns no address and stays
silent (no RSTs, no ARP replies or Neighbor Advertisements of its own in the exchange).

A silence check (`expect_none`) ends on a probe whose answer must arrive on the same Port.
Where the SUT would forward the forbidden frame to this Port, that probe is the Port's
`control`: a valid datagram another Port sends through the SUT to this one, so the check shows
the very path the forbidden frame would have taken open; elsewhere it is the Port's `fence`, an
echo the SUT answers on this Port's link.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import queue
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scapy.layers.inet import IP
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Packet

from conformance.match import Matcher, closest
from conformance.netns import Namespace
from conformance.verdict import Inconclusive

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35
PACKET_IGNORE_OUTGOING = 23
SOL_PACKET = 263
PACKET_STATISTICS = 6
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101

DEFAULT_TIMEOUT = 1.0
FENCE_TIMEOUT = 1.0
# A control's first crossing may wait for the SUT to resolve the far neighbour, whose
# solicitations come about 1 s apart (ARP: RFC 1122 2.3.2.1, at most one a second per address;
# ND: RetransTimer 1 s, MAX_MULTICAST_SOLICIT 3, RFC 4861 10): one solicitation lost or answered
# late must not make an open path look closed.
PRIME_TIMEOUT = 3 * FENCE_TIMEOUT
PROBE_ANSWERS = ("fence answer", "control")  # notes of frames that ended a silence check


class NoMatch(AssertionError):
    """An expected frame did not arrive: the SUT did not do what the requirement demands."""


class UnwantedFrame(AssertionError):
    """A frame arrived that the requirement forbids."""


@dataclass
class Frame:
    t_ns: int
    port: str
    direction: str  # "in" or "out"
    data: bytes
    note: str = ""
    consumed: bool = False
    _packet: Packet | None = field(default=None, repr=False)

    @property
    def packet(self) -> Packet:
        if self._packet is None:
            self._packet = self.decode(self.data)
        return self._packet

    decode: Callable[[bytes], Packet] = field(default=Ether, repr=False)


Fence = Callable[[], tuple[Packet, Matcher]]
"""Makes one fence probe: a frame the SUT always answers, and a matcher for that answer."""


@dataclass(frozen=True)
class Control:
    """A positive control for silence on a Port: `sender` sends what `make()` builds, a valid
    datagram the SUT forwards, and the matcher it returns finds it on the Port that holds the
    control. `path` names the way it takes, for the reasons the report gives.

    The SUT handles what arrives on one link in order, so once the control (sent after the
    stimulus, on the stimulus's link) has crossed, a forbidden frame the stimulus caused on the
    same path has crossed before it."""

    sender: Port
    make: Fence
    path: str


def decode_raw(data: bytes) -> Packet:
    """A packet without a link header (a TUN device): IPv6 or IPv4 by its version."""
    return IPv6(data) if data and data[0] >> 4 == 6 else IP(data)


class Capture:
    """All frames of one case, across its Ports, in arrival order."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.ports: list[Port] = []
        self.started_ns = time.time_ns()

    def add(self, frame: Frame) -> None:
        self.frames.append(frame)

    def drain(self) -> None:
        for port in self.ports:
            port.poll(0)

    def close(self) -> None:
        for port in self.ports:
            port.close()


class _Reaper:
    """Closes sockets on a background thread: closing a packet socket waits for an RCU grace
    period (8-30 ms) that the case has no reason to pay."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def close(self, obj: Any) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="conformance-reaper", daemon=True)
                self._thread.start()
        self._queue.put(obj)

    def _run(self) -> None:
        while True:
            obj = self._queue.get()
            try:
                if isinstance(obj, int):
                    os.close(obj)
                else:
                    obj.close()
            except OSError:
                pass


reaper = _Reaper()


class Port:
    """One observation and injection point of the tester."""

    def __init__(
        self,
        name: str,
        capture: Capture,
        *,
        ns: Namespace | None = None,
        ifname: str | None = None,
        fd: int | None = None,
        mac: str | None = None,
        ip: str | None = None,
        ip6: str | None = None,
        linktype: int = LINKTYPE_ETHERNET,
    ) -> None:
        self.name = name
        self.ifname = ifname or name
        self.capture = capture
        self.mac = mac
        self.ip = ip
        self.ip6 = ip6  # the tester's IPv6 address on this link (a claim, like `ip`)
        self.linktype = linktype
        self.claims: dict[str, str] = {}  # IPv4 or IPv6 address -> MAC the Port answers ARP / NS for
        self.answer_arp = True
        # How many times the usual waits (an expected frame, a fence's answer) a slow SUT gets:
        # an emulated VM or a small device may take longer than a kernel to work through a burst.
        self.patience = 1.0
        self.answer_nd = True  # answer Neighbor Solicitations for claimed IPv6 addresses
        self.nd_routers: set[str] = set()  # claimed IPv6 addresses whose NAs carry the Router flag
        self.fence: Fence | None = None  # an echo the SUT answers on this Port's link
        self.control: Control | None = None  # a datagram the SUT forwards to this Port: ends silence checks here
        self.sut_mac: str | None = None  # the SUT's MAC on this link: frames from it are held to conformance.invariants
        self.sut_link = False  # every frame arriving here was sent by the SUT (a veth, TAP or TUN to it alone)
        self.guard: Callable[[bytes], None] | None = None  # refuses frames a SUT kind must not get
        self._sock: socket.socket | None = None
        self._fd: int
        if fd is not None:
            self._fd = fd
            self._own_fd = False
        else:
            if ifname is None:
                raise ValueError("a Port needs an interface (in `ns`, or in this thread's namespace), or a TAP fd")
            with ns.entered() if ns is not None else contextlib.nullcontext():
                sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                # Our own frames are recorded at send time; the loop-back copy would be a duplicate.
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                sock.bind((ifname, ETH_P_ALL))
            except BaseException:
                sock.close()
                raise
            sock.setblocking(False)
            self._sock = sock
            self._fd = sock.fileno()
            self._own_fd = True
        self._mark_ns = 0
        self._fence_index = 0  # where in the capture the last fence answer stands
        self._first_crossed: dict[str, int] = {}  # control path -> when a control first arrived on it
        self._decode: Callable[[bytes], Packet] = Ether if linktype == LINKTYPE_ETHERNET else decode_raw
        if ip is not None and mac is not None:
            self.claims[ip] = mac
        if ip6 is not None and mac is not None:
            self.claims[ip6] = mac
        capture.ports.append(self)

    # --- sending --------------------------------------------------------------------------

    def send(self, frame: Packet | bytes, note: str = "") -> None:
        """Put one frame on the wire. Frames that arrived before it are no longer 'replies'."""
        data = bytes(frame)
        if self.guard is not None:
            self.guard(data)
        self.capture.drain()
        now = time.time_ns()
        for port in self.capture.ports:
            port._mark_ns = now
        self._transmit(data, note)

    def _transmit(self, data: bytes, note: str) -> None:
        self.capture.add(Frame(time.time_ns(), self.name, "out", data, note, decode=self._decode))
        if self._sock is not None:
            self._sock.send(data)
        else:
            os.write(self._fd, data)

    # --- receiving ------------------------------------------------------------------------

    def poll(self, timeout: float) -> bool:
        """Read whatever is queued (waiting up to `timeout` for the first frame). True if any."""
        got = False
        if timeout > 0:
            ready, _, _ = select.select([self._fd], [], [], timeout)
            if not ready:
                return False
        while True:
            item = self._read()
            if item is None:
                return got
            data, t_ns = item
            got = True
            frame = Frame(t_ns, self.name, "in", data, decode=self._decode)
            self.capture.add(frame)
            self._answer_arp(data)
            self._answer_nd(data)

    def _read(self) -> tuple[bytes, int] | None:
        try:
            if self._sock is None:
                data = os.read(self._fd, 65535)
                return data, time.time_ns()
            data, anc, _flags, _addr = self._sock.recvmsg(65535, 64)
        except (BlockingIOError, InterruptedError):
            return None
        t_ns = time.time_ns()
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", value[:16])
                t_ns = sec * 1_000_000_000 + nsec
        return data, t_ns

    def _answer_arp(self, data: bytes) -> None:
        # Fast path on raw bytes: Ethernet ARP request (op 1) for an address this Port claims.
        if not self.answer_arp or self.linktype != LINKTYPE_ETHERNET or len(data) < 42:
            return
        if data[12:14] != b"\x08\x06" or data[20:22] != b"\x00\x01":
            return
        target = socket.inet_ntoa(data[38:42])
        mac = self.claims.get(target)
        if mac is None:
            return
        req = Ether(data)
        reply = Ether(src=mac, dst=req[ARP].hwsrc) / ARP(
            op="is-at", hwsrc=mac, psrc=target, hwdst=req[ARP].hwsrc, pdst=req[ARP].psrc
        )
        self._transmit(bytes(reply), note="tester ARP reply")

    def _answer_nd(self, data: bytes) -> None:
        """Answer a Neighbor Solicitation for a claimed IPv6 address as a node of RFC 4861 7.2.4
        does: a solicited Neighbor Advertisement with the Override flag and the target's
        link-layer address, to the soliciting node (to all-nodes when the solicitation came from
        the unspecified address, with Solicited clear). Only a solicitation that is valid in the
        ways a receiver must check (7.1.1: hop limit 255, ICMP code 0, no multicast target) is
        answered, and only when it is the first header after IPv6 (Next Header 58)."""
        # Fast path on raw bytes: Ethernet / IPv6 / ICMPv6 type 135, hop limit 255, code 0.
        if not self.answer_nd or self.linktype != LINKTYPE_ETHERNET or len(data) < 78:
            return
        if data[12:14] != b"\x86\xdd" or data[20] != 58 or data[21] != 255 or data[54] != 135 or data[55] != 0:
            return
        target = data[62:78]
        if target[0] == 0xFF:
            return
        mac = self.claimed_mac(target)
        if mac is None:
            return
        target_ip = str(ipaddress.IPv6Address(target))
        source = ipaddress.IPv6Address(data[22:38])
        if source.is_unspecified:  # a DAD probe: the answer goes to all-nodes, not solicited
            dst_ip, dst_mac, solicited = "ff02::1", "33:33:00:00:00:01", 0
        else:
            dst_ip, dst_mac, solicited = str(source), ":".join(f"{b:02x}" for b in data[6:12]), 1
        router = int(any(ipaddress.ip_address(a).packed == target for a in self.nd_routers))
        reply = (Ether(src=mac, dst=dst_mac) / IPv6(src=target_ip, dst=dst_ip, hlim=255)
                 / ICMPv6ND_NA(R=router, S=solicited, O=1, tgt=target_ip) / ICMPv6NDOptDstLLAddr(lladdr=mac))
        self._transmit(bytes(reply), note="tester neighbor advertisement")

    def claimed_mac(self, packed: bytes) -> str | None:
        """The MAC this Port claims the IPv6 address `packed` (16 octets) for, or None."""
        for addr, mac in self.claims.items():
            if ":" in addr and ipaddress.IPv6Address(addr).packed == packed:
                return mac
        return None

    def arrived(self) -> list[Frame]:
        """Frames received since the last send on any Port of this case, not yet matched."""
        return [f for f in self.capture.frames if f.port == self.name and f.direction == "in" and f.t_ns >= self._mark_ns]

    def expect(self, matcher: Matcher, timeout: float = DEFAULT_TIMEOUT, *, fenced: bool = False) -> Packet:
        """Wait for a frame like `matcher` that arrived after the last send; return it. The
        wait is `timeout` times the SUT's patience (a slow SUT's file may ask for more).

        `fenced`: where the SUT answers the stimulus at once, in order, the answer would come
        before the answer to a fence sent after it. If the frame is not in yet, the Port's fence
        is sent, and the check fails as soon as the fence's answer arrives with no such frame
        before it, instead of waiting out `timeout` (which still bounds it when the fence gets
        no answer). Only for answers no timer or other neighbour's resolution delays: the case
        says why it is sound."""
        timeout *= self.patience
        if fenced:
            return self._expect_fenced(matcher, timeout)
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            frames = self.arrived()
            for frame in frames[checked:]:
                if not frame.consumed and matcher(frame.packet):
                    frame.consumed = True
                    return frame.packet
            checked = len(frames)
            left = deadline - time.monotonic()
            if left <= 0:
                raise NoMatch(self._no_match_message(matcher, timeout))
            self.poll(left)

    def exchange(self, frame: Packet | bytes, expect: Matcher, timeout: float = DEFAULT_TIMEOUT, *,
                 fenced: bool = False) -> Packet:
        """Send `frame` and return the answer like `expect` (`fenced`: see expect)."""
        self.send(frame)
        return self.expect(expect, timeout, fenced=fenced)

    def _expect_fenced(self, matcher: Matcher, timeout: float) -> Packet:
        if self.fence is None:
            raise ValueError(f"a fenced expect on {self.name} needs the Port's fence, and it has none")
        deadline = time.monotonic() + timeout
        self.poll(0)
        checked = 0
        fence_answer: Matcher | None = None
        while True:
            frames = self.capture.frames
            for i in range(checked, len(frames)):
                f = frames[i]
                if f.port != self.name or f.direction != "in" or f.t_ns < self._mark_ns or f.consumed:
                    continue
                if fence_answer is not None and f.note not in PROBE_ANSWERS and fence_answer(f.packet):
                    f.note, f.consumed = "fence answer", True
                    self._fence_index = i
                    raise NoMatch(self._no_match_message(matcher, timeout, fenced=True))
                if f.note not in PROBE_ANSWERS and matcher(f.packet):
                    f.consumed = True
                    return f.packet
            checked = len(frames)
            if fence_answer is None:  # not in at once: the fence, and conclude on its answer
                probe, fence_answer = self.fence()
                self._transmit(bytes(probe), note="fence")
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise NoMatch(self._no_match_message(matcher, timeout))
            self.poll(left)

    def sync(self) -> Packet:
        """Send the Port's fence and wait for its answer: the SUT handles frames in order, so
        everything sent before has been dealt with (and answered) once it is in. Frames that
        arrived before no longer count as answers to what is sent next. Inconclusive when the
        fence is not answered."""
        if self.fence is None:
            raise ValueError(f"Port {self.name} has no fence to sync with")
        probe, answer = self.fence()
        self.send(probe, note="fence")
        self._await_fence(answer, len(self.capture.frames) - 1)
        return self.capture.frames[self._fence_index].packet

    def handled(self) -> None:
        """Send the fence and wait for its answer without starting a new exchange: what arrived
        since the last send still counts as caused by it. Once the answer is in, the SUT has
        dealt with everything sent before on this link (e.g. before a case changes the SUT
        again). Inconclusive when the fence is not answered."""
        if self.fence is None:
            raise ValueError(f"Port {self.name} has no fence")
        probe, answer = self.fence()
        mark = len(self.capture.frames)
        self._transmit(bytes(probe), note="fence")
        self._await_fence(answer, mark)

    def before_fence(self, matcher: Matcher, *, stimulus: Packet | bytes | None = None) -> Packet | None:
        """Send `stimulus` (if given), then the fence; return the first unconsumed frame like
        `matcher` that arrived after the last send and before the fence's answer, or None.

        For requirements that allow either an answer or silence, and for "at once": the order
        of the SUT's own answers decides, not a clock the tester's scheduling could disturb."""
        if stimulus is not None:
            self.send(stimulus)
        since = self._mark_ns
        self.sync()
        for frame in self.capture.frames[: self._fence_index]:
            if (frame.port == self.name and frame.direction == "in" and frame.t_ns >= since
                    and not frame.consumed and matcher(frame.packet)):
                frame.consumed = True
                return frame.packet
        return None

    def expect_none(
        self,
        matcher: Matcher,
        *,
        control: Control | None = None,
        fence: Fence | None = None,
        via: Port | None = None,
        window: float | None = None,
    ) -> None:
        """Assert that no frame like `matcher` arrives in answer to what was just sent.

        By default the check ends on the Port's control when it has one (a valid datagram sent
        through the SUT to this Port, on the path the forbidden frame would take: see Control),
        else on its fence (an echo the SUT answers on this link): once that is in, anything the
        stimulus caused has already arrived. A control that does not arrive makes the check
        INCONCLUSIVE, naming the path. `control` or `fence` choose another probe; `via` sends
        the fence from another Port, which shows only that the SUT has handled the stimulus and
        nothing about this Port's path: for the rare check where no control can reach this Port
        (say why in the case). Without any probe, `window` seconds are watched and that wait is
        the case's declared cost.
        """
        if window is not None:
            deadline = time.monotonic() + window
            while (left := deadline - time.monotonic()) > 0:
                self.poll(left)
            seen = self.arrived()
        elif fence is None and via is None and (control or self.control) is not None:
            seen = self._cross(control or self.control)  # type: ignore[arg-type]
        else:
            fence = fence or self.fence
            if fence is None:
                raise ValueError(f"expect_none on {self.name} needs a control, a fence (none is set for this Port) or a window")
            sender = via or self
            probe, answer = fence()
            mark = len(self.capture.frames)
            sender._transmit(bytes(probe), note="fence")
            seen = sender._await_fence(answer, mark)
            if sender is not self:
                self.poll(0)
                seen = [f for f in self.arrived() if f.t_ns <= time.time_ns()]
        for frame in seen:
            if frame.note in PROBE_ANSWERS:
                continue  # an earlier check's own fence answer or control, not the stimulus's doing
            if frame.port == self.name and frame.direction == "in" and matcher(frame.packet):
                raise UnwantedFrame(
                    f"a frame like {matcher.describe()} arrived on {self.name}, and the requirement "
                    f"says none may: {frame.packet.summary()}"
                )

    def prime(self, control: Control | None = None) -> None:
        """Send a control (the Port's own by default) through the SUT and wait for it here.

        Done before a stimulus, it shows the path open from the start and has the SUT resolve
        the neighbour at this end of it, so an unresolved neighbour cannot be why a forbidden
        frame stays away (a stack may hold only its newest datagram while it resolves).
        Silence checks that end on a control require it."""
        control = control or self.control
        if control is None:
            raise ValueError(f"Port {self.name} has no control to prime")
        probe, answer = control.make()
        mark = len(self.capture.frames)
        control.sender.send(probe, note="control")
        self._await(answer, mark, note="control", timeout=PRIME_TIMEOUT, failure=(
            f"the control datagram {control.path}, sent before the stimulus, did not arrive on {self.name} "
            f"within {PRIME_TIMEOUT * self.patience:g} s: the path is not open, so what does not cross it proves nothing"))
        self._first_crossed.setdefault(control.path, self.capture.frames[self._fence_index].t_ns)
        now = time.time_ns()  # what arrived until now answered the control, not what comes next
        for port in self.capture.ports:
            port._mark_ns = now

    def _cross(self, control: Control) -> list[Frame]:
        """Send `control` after the stimulus; the frames that arrived here before it."""
        first = self._first_crossed.get(control.path)
        if first is None or first > self._mark_ns:
            raise ValueError(
                f"the silence check on {self.name} ends on the control {control.path}, which never crossed "
                "before the stimulus: call prime() first, so the neighbour at this end is resolved"
            )
        probe, answer = control.make()
        mark = len(self.capture.frames)
        control.sender._transmit(bytes(probe), note="control")
        return self._await(answer, mark, note="control", failure=(
            f"the control datagram {control.path}, sent after the stimulus, did not arrive on {self.name} "
            f"within {FENCE_TIMEOUT * self.patience:g} s: the path the forbidden frame would take is not shown open, so its "
            "absence proves nothing"))

    def _await_fence(self, answer: Matcher, mark: int) -> list[Frame]:
        """Read until the fence's answer is in; return the frames that arrived before it."""
        return self._await(answer, mark, note="fence answer", failure=(
            f"the fence probe on {self.name} ({answer.describe()}) got no answer within "
            f"{FENCE_TIMEOUT * self.patience:g} s, so the absence of a reply cannot be concluded"))

    def _await(self, answer: Matcher, mark: int, *, note: str, failure: str, timeout: float = FENCE_TIMEOUT) -> list[Frame]:
        """Read until a frame like `answer` is in (INCONCLUSIVE with `failure` if none comes);
        return the frames that arrived here since the last send and before it."""
        deadline = time.monotonic() + timeout * self.patience
        checked = mark
        while True:
            frames = self.capture.frames
            for i in range(checked, len(frames)):
                f = frames[i]
                if f.port == self.name and f.direction == "in" and answer(f.packet):
                    f.note = note
                    f.consumed = True
                    self._fence_index = i
                    return [g for g in frames[:i] if g.port == self.name and g.t_ns >= self._mark_ns]
            checked = len(frames)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Inconclusive(failure)
            self.poll(left)

    def _no_match_message(self, matcher: Matcher, timeout: float, *, fenced: bool = False) -> str:
        frames = [f for f in self.arrived() if not f.consumed and f.note not in PROBE_ANSWERS]
        head = f"no frame like {matcher.describe()} arrived on {self.name} within {timeout:g} s"
        if fenced:
            head = (f"no frame like {matcher.describe()} arrived on {self.name} before the answer to a fence sent "
                    "after the stimulus (the SUT had dealt with the stimulus by then)")
        if not frames:
            return head + "; nothing else arrived either"
        lines = [head + f"; {len(frames)} other frame(s) arrived:"]
        for f in frames[:8]:
            lines.append(f"  {(f.t_ns - self._mark_ns) / 1e6:+8.3f} ms  {f.packet.summary()}")
        if len(frames) > 8:
            lines.append(f"  ... and {len(frames) - 8} more")
        best = closest(matcher, [f.packet for f in frames])
        if best is not None:
            lines.append("closest frame differs in: " + "; ".join(str(m) for m in best[1]))
        return "\n".join(lines)

    def dropped(self) -> int:
        """Frames the kernel dropped because this socket's buffer was full (0 for TAP fds)."""
        if self._sock is None:
            return 0
        _packets, drops = struct.unpack("II", self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        return int(drops)

    def close(self) -> None:
        if self._sock is not None:
            reaper.close(self._sock)
            self._sock = None

    def __repr__(self) -> str:
        return f"<Port {self.name} {self.mac} {self.ip or ''} {self.ip6 or ''}>"
