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

PyTCP logs to stdout (pytcp/lib/logger.py, the channels of --log). The agent serves the suite's
JSON-lines protocol on a unix socket, one session at a time, once the stack is up; a new
session starts with every socket of the last one closed. SIGTERM stops the stack's threads and
exits.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pytcp_agent import PyTcpApps

from conformance_agent.protocol import AgentError, decode, encode

DEFAULT_MAC = "02:00:00:00:01:01"  # the lan topology's SUT MAC
DEFAULT_LOG = "stack,socket,tcp-ss"  # PyTCP's own default logs every frame of every layer


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tap", required=True, help="the TAP device to attach to (it must exist in this namespace)")
    p.add_argument("--ip", required=True, metavar="ADDR/LEN", help="the stack's IPv4 address and prefix length")
    p.add_argument("--gateway", metavar="ADDR", help="the stack's default gateway")
    p.add_argument("--mac", default=DEFAULT_MAC, help=f"the stack's MAC (default {DEFAULT_MAC})")
    p.add_argument("--agent", metavar="PATH", help="serve the suite's agent protocol on this unix socket")
    p.add_argument("--ipv6", action="store_true", help="leave PyTCP's IPv6 on (link-local autoconfiguration)")
    p.add_argument("--log", default=DEFAULT_LOG, metavar="CHANNELS",
                   help=f"PyTCP's log channels, comma-separated, '' for none (default {DEFAULT_LOG})")
    args = p.parse_args(argv)
    ipaddress.IPv4Interface(args.ip)  # a bad address ends here, with argparse's own words

    from pytcp import TcpIpStack, config
    from pytcp.lib import socket as pytcp_socket

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
    stack.start()  # returns once the address is claimed (ARP probes and announcement sent)
    if args.agent:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(args.agent)
        listener.listen(1)
        serve(listener, PyTcpApps(pytcp_socket, version("pytcp")))
    else:
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
