"""Run PyTCP 2.7.6 (pip package `pytcp`) as a SUT on a TAP device, with the suite's agent.

    .venv/bin/python sut/pytcp/run.py --tap cftap0 --ip 198.18.0.1/24 --gateway 198.18.0.254 \
        --agent /run/pytcp.sock

PyTCP attaches to the TAP itself (pytcp.TcpIpStack: TUNSETIFF IFF_TAP|IFF_NO_PI on
/dev/net/tun), so this runs inside the namespace that holds the TAP. It is configured here, not
by PyTCP's defaults: the given MAC and IPv4 address (no DHCP), and IPv6 off unless --ipv6.

What PyTCP sends on its own, with this configuration: three ARP Probes for its address, 1-2 s
apart (RFC 5227, pytcp/subsystems/packet_handler.py _create_stack_ip4_addressing), then one ARP
Announcement; it answers nothing until then. With --ipv6 it would also send MLD reports, a
DAD Neighbor Solicitation and a Router Solicitation for its link-local address.

PyTCP logs to stdout (pytcp/lib/logger.py, the channels of --log).

PyTCP drops a datagram whose next hop it has not resolved yet (it sends the ARP request and
keeps nothing: pytcp/protocols/ether/phtx.py _phtx_ether; RFC 1122 2.3.2.2 says SHOULD keep the
latest, which ARP-QUEUE-LATEST judges with an address of its own). The suite's tester speaks from
a fresh address for every case and never resolves the SUT first, so PyTCP's first answer of
every case would be lost to that one deviation. --static-arp gives PyTCP permanent entries for
the tester's addresses and its gateway (examples/pytcp.toml), as an administrator would with
`arp -s`; the cases that judge PyTCP's own resolution use addresses outside them.

Echo Requests are answered two ticks of PyTCP's timer late (EchoAfterTick: PyTCP sends the
segments a TCP segment calls for from its timer thread, and the suite's fence must not overtake
them).

The agent serves the suite's
JSON-lines protocol on a unix socket, one session at a time, once the stack is up; a new
session starts with every socket of the last one closed. Once the agent listens it prints
"pytcp-sut: ready" (the SUT file's ready line). SIGTERM stops the stack's threads and
exits. A PyTCP thread that dies of an exception ends the process (status 70) with the
exception as its last line on stderr: without its timer thread, say, PyTCP still answers ARP
and ICMP but no TCP session moves any more.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import signal
import socket
import sys
import threading
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pytcp_agent import PyTcpApps

from conformance_agent.protocol import AgentError, decode, encode

DEFAULT_MAC = "02:00:00:00:01:01"  # the lan topology's SUT MAC
DEFAULT_LOG = "stack,socket,tcp-ss"  # PyTCP's own default logs every frame of every layer
READY = "pytcp-sut: ready"  # on stdout once the address is claimed and the agent listens
ICMP_ECHO_REQUEST = 8
THREAD_DIED = 70  # the exit status when one of PyTCP's threads dies (EX_SOFTWARE)


def serve(listener: socket.socket, apps: PyTcpApps) -> None:
    while True:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as reader, conn.makefile("wb") as writer:
            try:
                while line := reader.readline():
                    if not line.strip():
                        continue
                    try:
                        answer = apps.handle(decode(line))
                    except AgentError as exc:
                        answer = {"id": None, "ok": False, "error": exc.as_dict()}
                    writer.write(encode(answer))
                    writer.flush()
            except OSError:
                pass
        apps.close_all()


def end_on_thread_death(args: threading.ExceptHookArgs) -> None:
    """PyTCP runs on threads of its own (timer, RX and TX rings, packet handler); one that dies of
    an exception leaves a process that still answers ARP and ICMP but whose TCP no longer runs
    (the timer thread drives every session). That is a dead stack: end the process so whoever
    started it sees the death, with the exception as its last words."""
    threading.__excepthook__(args)
    where = ""
    tb = args.exc_traceback
    while tb is not None:
        where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno} ({tb.tb_frame.f_code.co_name})"
        tb = tb.tb_next
    name = args.thread.name if args.thread is not None else "?"
    print(f"pytcp-sut: PyTCP's thread {name!r} died of {args.exc_type.__name__}: {args.exc_value}{where}; "
          "the stack cannot go on without it", file=sys.stderr, flush=True)
    os._exit(THREAD_DIED)


class EchoAfterTick:
    """Answers ICMP Echo Requests two ticks of PyTCP's timer late, so that an echo answers only
    after PyTCP has sent what the frames before it call for.

    PyTCP answers an Echo Request at once, on its packet-handler thread, but sends most of what a
    TCP segment calls for (a SYN-ACK, data, a FIN, a retransmission) from its sessions' tasks on
    the timer thread, at the next tick (about 1 ms; pytcp/protocols/tcp/session.py: every state
    handler transmits on `timer`). The suite's fence is an Echo Request that a SUT answers only
    once it has handled everything sent before it; on PyTCP the echo overtook the SYN-ACK of a
    SYN sent just before, and the suite judged the SYN-ACK missing. Here the echo waits in a
    queue that a timer task of its own, registered before any session's and so run first in
    each tick, empties of the echoes that arrived two ticks ago or earlier: every session task
    has run once since. Nothing else changes; ICMP other than Echo Request is handled at once."""

    def __init__(self, packet_handler_class: Any, timer: Any) -> None:
        self.original = packet_handler_class._phrx_icmp4
        self.queue: list[tuple[int, Any, Any]] = []
        self.lock = threading.Lock()
        self.tick = 0
        # a plain function, so that it binds to the packet handler as the original does
        packet_handler_class._phrx_icmp4 = lambda handler, packet_rx: self._receive(handler, packet_rx)
        timer.register_method(method=self._flush)  # every tick, first in the list: no session yet

    def _receive(self, handler: Any, packet_rx: Any) -> None:
        if len(packet_rx.frame) and packet_rx.frame[0] == ICMP_ECHO_REQUEST:
            with self.lock:
                self.queue.append((self.tick, handler, packet_rx))
            return
        self.original(handler, packet_rx)

    def _flush(self) -> None:
        with self.lock:
            self.tick += 1
            due = [(h, p) for t, h, p in self.queue if t <= self.tick - 2]
            self.queue = [item for item in self.queue if item[0] > self.tick - 2]
        for handler, packet_rx in due:
            self.original(handler, packet_rx)


def static_arp(text: str) -> list[tuple[str, str]]:
    """ADDR=MAC or FIRST-LAST=MAC: the (address, MAC) pairs of permanent ARP entries."""
    try:
        span, mac = text.split("=")
        first, _, last = span.partition("-")
        lo, hi = ipaddress.IPv4Address(first), ipaddress.IPv4Address(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not ADDR[-LAST]=MAC") from None
    if hi < lo or int(hi) - int(lo) > 1024 or not re.fullmatch(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", mac):
        raise argparse.ArgumentTypeError(f"{text!r}: a range of at most 1024 addresses and a MAC are needed")
    return [(str(ipaddress.IPv4Address(n)), mac.lower()) for n in range(int(lo), int(hi) + 1)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tap", required=True, help="the TAP device to attach to (it must exist in this namespace)")
    p.add_argument("--ip", required=True, metavar="ADDR/LEN", help="the stack's IPv4 address and prefix length")
    p.add_argument("--gateway", metavar="ADDR", help="the stack's default gateway")
    p.add_argument("--mac", default=DEFAULT_MAC, help=f"the stack's MAC (default {DEFAULT_MAC})")
    p.add_argument("--agent", metavar="PATH", help="serve the suite's agent protocol on this unix socket")
    p.add_argument("--ipv6", action="store_true", help="leave PyTCP's IPv6 on (link-local autoconfiguration)")
    p.add_argument("--static-arp", action="append", default=[], type=static_arp, metavar="ADDR[-LAST]=MAC",
                   help="a permanent ARP entry, or one per address of a range (repeatable); the agent's reset "
                        "keeps them")
    p.add_argument("--log", default=DEFAULT_LOG, metavar="CHANNELS",
                   help=f"PyTCP's log channels, comma-separated, '' for none (default {DEFAULT_LOG})")
    args = p.parse_args(argv)
    ipaddress.IPv4Interface(args.ip)  # a bad address ends here, with argparse's own words

    from pytcp import TcpIpStack, config
    from pytcp.lib import socket as pytcp_socket
    from pytcp.lib import stack as pytcp_stack
    from pytcp.subsystems.packet_handler import PacketHandler

    config.LOG_CHANEL = {c for c in args.log.split(",") if c}
    stack = TcpIpStack(interface=args.tap, mac_address=args.mac, ip4_address=args.ip, ip4_gateway=args.gateway)
    if not args.ipv6:
        # TcpIpStack turns IPv6 on with link-local autoconfiguration whatever it is given; this
        # switch makes the stack drop IPv6 frames and send none (ether/phrx.py, ip6/phtx.py).
        config.IP6_SUPPORT = False
    listener = None
    if args.agent:
        try:
            os.unlink(args.agent)
        except FileNotFoundError:
            pass

    def stop(*_: Any) -> None:
        stack.stop()
        os._exit(0)  # PyTCP's threads are not daemons

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.excepthook = end_on_thread_death
    EchoAfterTick(PacketHandler, pytcp_stack.timer)  # before the timer thread runs (stack.start)
    stack.start()  # returns once the address is claimed (ARP probes and announcement sent)
    if args.agent:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(args.agent)
        listener.listen(1)
        print(READY, flush=True)
        apps = PyTcpApps(pytcp_socket, version("pytcp"), pytcp_stack,
                         static_arp=[pair for pairs in args.static_arp for pair in pairs])
        apps.install_static_arp()
        serve(listener, apps)
    else:
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
