"""The agent: requests in, answers out. `Agent.handle` serves one request (a dict) and is what
both the stream servers below and the suite's in-process channel call."""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from conformance_agent import __version__, knobs
from conformance_agent.apps import Apps
from conformance_agent.protocol import (
    FAILED,
    INVALID,
    PROTOCOL_VERSION,
    UNSUPPORTED,
    AgentError,
    decode,
    encode,
)
from conformance_agent.system import System


def _args(args: dict[str, Any], *required: str) -> None:
    missing = [name for name in required if name not in args]
    if missing:
        raise AgentError(INVALID, f"missing argument(s): {', '.join(missing)}")


class Agent:
    """One SUT's agent. Not thread-safe: a session is one request at a time."""

    def __init__(self) -> None:
        self.system = System()
        self.apps = Apps()
        s, a = self.system, self.apps
        self.verbs: dict[str, Callable[[dict[str, Any]], Any]] = {
            "hello": lambda _: self.hello(),
            "interfaces": lambda _: s.interfaces(),
            "sysctl_get": lambda x: {"value": s.sysctl_get(x["key"])},
            "sysctl_set": lambda x: s.sysctl_set(x["key"], str(x["value"])),
            "knob_get": lambda x: {"value": s.knob_get(x["name"], x.get("interface"))},
            "knob_set": lambda x: s.knob_set(x["name"], str(x["value"]), x.get("interface")),
            "addresses": lambda x: s.addresses(x.get("interface")),
            "address_add": lambda x: s.address("add", x["cidr"], x["interface"], bool(x.get("dad", False)),
                                               x.get("preferred_s"), x.get("valid_s")),
            "address_del": lambda x: s.address("del", x["cidr"], x["interface"]),
            "link_set": lambda x: s.link_set(x["interface"], x.get("up"), x.get("mtu"), x.get("mac")),
            "route_add": lambda x: s.route("add", **_route_args(x)),
            "route_del": lambda x: s.route("del", **_route_args(x)),
            "route_get": lambda x: s.route_get(x["dst"]),
            "rule_add": lambda x: s.rule("add", x["priority"], x["table"], x.get("selectors") or {}),
            "rule_del": lambda x: s.rule("del", x["priority"], x["table"], x.get("selectors") or {}),
            "neighbours": lambda x: s.neighbours(x.get("interface"), x.get("family", "ipv4")),
            "neighbour_add": lambda x: s.neighbour("add", x["ip"], x["interface"], x.get("mac"), x.get("state", "PERMANENT")),
            "neighbour_del": lambda x: s.neighbour("del", x["ip"], x["interface"], None, "PERMANENT"),
            "counters": lambda x: s.counters(x.get("table", "snmp")),
            "tcp_connections": lambda _: s.tcp_connections(),
            "tcp_listen": lambda x: a.tcp_listen(x["ip"], x["port"], x.get("backlog", 8), x.get("options", [])),
            "tcp_connect": lambda x: a.tcp_connect(x["ip"], x["port"], x.get("src_ip", "0.0.0.0"), x.get("src_port", 0),
                                                   x.get("options", [])),
            "udp_open": lambda x: a.udp_open(x["ip"], x.get("port", 0), x.get("connect"), x.get("options", [])),
            "accept": lambda x: a.accept(x["handle"], x.get("timeout", 1.0)),
            "recv": lambda x: a.recv(x["handle"], x.get("size", 65535), x.get("timeout", 1.0), x.get("flags", [])),
            "read": lambda x: a.read(x["handle"], x["size"], x.get("timeout", 1.0)),
            "read_available": lambda x: a.read_available(x["handle"], x.get("size", 65535)),
            "recvmsg": lambda x: a.recvmsg(x["handle"], x.get("size", 65535), x.get("ancbufsize", 1024),
                                           x.get("flags", []), x.get("timeout", 1.0)),
            "send": lambda x: a.send(x["handle"], x["data"], x.get("flags", [])),
            "sendto": lambda x: a.sendto(x["handle"], x["data"], x["address"], x.get("flags", [])),
            "shutdown": lambda x: a.shutdown(x["handle"], x.get("how", "write")),
            "setsockopt": lambda x: a.setsockopt(x["handle"], x["level"], x["name"], x["value"]),
            "getsockopt": lambda x: a.getsockopt(x["handle"], x["level"], x["name"], x.get("size", 0)),
            "socket_error": lambda x: a.error(x["handle"]),
            "sockname": lambda x: a.sockname(x["handle"]),
            "tcp_info": lambda x: a.tcp_info(x["handle"]),
            "close": lambda x: a.close(x["handle"], bool(x.get("abort", False))),
            "close_all": lambda _: a.close_all(),
            "reset": lambda _: self.reset(),
        }

    def hello(self) -> dict[str, Any]:
        return {"protocol": PROTOCOL_VERSION, "agent": f"conformance-agent {__version__}", **self.system.describe(),
                "verbs": sorted(self.verbs), "knobs": {k.name: k.meaning for k in knobs.KNOBS.values()},
                "raw_sysctls": True}

    def reset(self) -> dict[str, Any]:
        """Back to the state the session found: sockets closed, changes undone, caches flushed."""
        self.apps.close_all()
        return {"problems": self.system.reset()}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        rid = request.get("id")
        try:
            verb = request.get("verb")
            args = request.get("args") or {}
            if not isinstance(verb, str) or not isinstance(args, dict):
                raise AgentError(INVALID, "a request needs a 'verb' string and an 'args' object")
            fn = self.verbs.get(verb)
            if fn is None:
                raise AgentError(UNSUPPORTED, f"this agent does not offer the verb {verb!r}")
            try:
                result = fn(args)
            except KeyError as exc:
                raise AgentError(INVALID, f"{verb}: missing argument {exc}") from None
            except TypeError as exc:
                raise AgentError(INVALID, f"{verb}: {exc}") from None
            return {"id": rid, "ok": True, "result": result}
        except AgentError as exc:
            return {"id": rid, "ok": False, "error": exc.as_dict()}
        except OSError as exc:
            return {"id": rid, "ok": False, "error": AgentError.from_os_error(exc).as_dict()}
        except Exception as exc:  # a bug of the agent must not end the session
            return {"id": rid, "ok": False, "error": {"kind": FAILED, "message": f"{exc.__class__.__name__}: {exc}"}}

    def close(self) -> None:
        self.apps.close_all()
        self.system.close()


def _route_args(x: dict[str, Any]) -> dict[str, Any]:
    keep = ("dst", "gateway", "interface", "kind", "table", "metric", "prefsrc", "nexthops", "append")
    unknown = set(x) - set(keep)
    if unknown:
        raise AgentError(UNSUPPORTED, f"route attributes {sorted(unknown)} are not offered")
    return {k: x[k] for k in keep if k in x}


def serve(reader: BinaryIO, writer: BinaryIO, agent: Agent | None = None) -> None:
    """Answer requests from `reader` on `writer` until the stream ends. Each line is one
    request; each answer is written and flushed before the next request is read. An agent made
    here ends with the stream; one passed in lives on."""
    own = agent is None
    agent = agent or Agent()
    try:
        while True:
            line = reader.readline()
            if not line:
                return
            if not line.strip():
                continue
            try:
                answer = agent.handle(decode(line))
            except AgentError as exc:
                answer = {"id": None, "ok": False, "error": exc.as_dict()}
            writer.write(encode(answer))
            writer.flush()
    finally:
        if own:
            agent.close()


def serve_socket(listener: socket.socket) -> None:
    """One session at a time; a new connection starts from a reset agent."""
    agent = Agent()
    while True:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as r, conn.makefile("wb") as w:
            try:
                serve(r, w, agent)
            except (ConnectionError, OSError):
                pass
        agent.reset()


def serve_device(path: str) -> None:
    """Serve on a character device (a serial or virtio-serial port), forever. The port is
    opened once, read-write (a virtio port takes one opener), and kept open: when the host side
    goes away reads see end-of-file, the agent puts the SUT back as it found it (reset), and
    waits for the next session on the same descriptor, so nothing the next host sends is lost."""
    import time

    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    agent = Agent()
    with os.fdopen(fd, "rb") as reader, os.fdopen(os.dup(fd), "wb", buffering=0) as writer:
        while True:
            serve(reader, writer, agent)
            agent.reset()
            time.sleep(0.2)  # a port without a host reads EOF at once: do not spin


def enter_netns(path: str) -> None:
    """Move this (single-threaded) process into the network namespace at `path` (setns)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="conformance-agent", description=(
        "Serve the conformance suite's SUT agent protocol (docs/agent.md) on stdio (the default), a "
        "character device (a serial or virtio port), a unix socket or a TCP port. It runs only its "
        "verbs: there is no shell pass-through."))
    where = p.add_mutually_exclusive_group()
    where.add_argument("--device", metavar="PATH", help="serve on a character device, e.g. /dev/virtio-ports/NAME")
    where.add_argument("--unix", metavar="PATH", help="listen on a unix socket")
    where.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP port (a management link)")
    p.add_argument("--netns", metavar="PATH", help="enter this network namespace first (e.g. /run/netns/sut)")
    p.add_argument("--version", action="version", version=f"conformance-agent {__version__} (protocol {PROTOCOL_VERSION})")
    args = p.parse_args(argv)
    try:
        if args.netns:
            enter_netns(args.netns)
        if args.device:
            serve_device(args.device)
        elif args.unix or args.tcp:
            if args.unix:
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    os.unlink(args.unix)
                except FileNotFoundError:
                    pass
                listener.bind(args.unix)
            else:
                host, _, port = args.tcp.rpartition(":")
                listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((host.strip("[]"), int(port)))
            listener.listen(1)
            serve_socket(listener)
        else:
            serve(sys.stdin.buffer, sys.stdout.buffer)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"conformance-agent: {exc.strerror or exc} ({errno.errorcode.get(exc.errno or 0, '')})", file=sys.stderr)
        return 1
    return 0
