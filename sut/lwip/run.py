"""Run lwIP as a SUT on a TAP with the suite's agent: starts the C harness (build/lwip/lwip-sut)
with its control channel on a pipe and serves the agent protocol on a unix socket, turning each
application verb into the harness's commands on lwIP's sockets API.

    .venv/bin/python sut/lwip/run.py --tap cftap0 --ip 198.18.0.1/24 --gateway 198.18.0.254 \
        --agent /run/lwip.sock

What is offered is what lwIP's sockets API does; socket options travel by their Linux numbers
(Debian's lwIP is built against the system's socket headers) and an option lwIP does not know
(ENOPROTOOPT) answers "unsupported". recvmsg (no ancillary data in lwIP for IPv4 beyond
IP_PKTINFO) and tcp_info (lwIP has no TCP_INFO) are not offered. SIGTERM ends the harness too.
"""

from __future__ import annotations

import argparse
import errno
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance_agent.protocol import (
    FAILED,
    INVALID,
    OS,
    PROTOCOL_VERSION,
    TIMEOUT,
    UNSUPPORTED,
    AgentError,
    b64,
    decode,
    encode,
    flag_number,
    level_number,
    option_number,
    unb64,
)

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "build" / "lwip" / "lwip-sut"
HOW = {"read": 0, "write": 1, "both": 2}
# lwIP 2.1.3 keeps TIME-WAIT for 2 * TCP_MSL, TCP_MSL 60 s by default (lwip/priv/tcp_priv.h).
LWIP_MSL_S = 60.0
READY = "lwip-sut: ready"  # on stdout once the harness runs and the agent listens


class Harness:
    """The C harness's control channel: one command line out, one answer line back. Any other
    line the harness prints (lwIP's own diagnostics and failed assertions go to its stdout) is
    passed on to this process's stderr, the SUT's log."""

    ANSWERS = ("ok", "err", "timeout")

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.lock = threading.Lock()
        self.last_words = ""

    def diagnostic(self, line: bytes) -> None:
        text = line.decode(errors="replace").rstrip()
        self.last_words = text
        print(f"lwip: {text}", file=sys.stderr, flush=True)

    def drain(self) -> None:
        """Pass on what the harness printed before it exited."""
        with self.lock:
            for line in self.stdout:
                if line.strip():
                    self.diagnostic(line)

    def call(self, *words: Any, wait: float = 0.0) -> list[str]:
        with self.lock:
            try:
                self.stdin.write((" ".join(str(w) for w in words) + "\n").encode())
                self.stdin.flush()
            except BrokenPipeError:
                pass  # it is gone; the read below says how
            line: list[str] | None = None
            while line is None:
                ready, _, _ = select.select([self.stdout], [], [], wait + 10.0)
                raw = self.stdout.readline() if ready else b""
                if not raw:
                    break
                if raw.split()[:1] and raw.split()[0].decode(errors="replace") in self.ANSWERS:
                    line = raw.decode().split()
                elif raw.strip():
                    self.diagnostic(raw)
        if not line:
            status = self.proc.poll()
            raise AgentError(FAILED, f"the lwIP harness did not answer {words[0]}"
                             + (f" (it exited with status {status})" if status is not None else "")
                             + (f"; its last words: {self.last_words}" if self.last_words else ""))
        if line[0] == "ok":
            return line[1:]
        if line[0] == "timeout":
            raise AgentError(TIMEOUT, f"{words[0]}: nothing happened within {wait:g} s")
        code = int(line[1])
        name = errno.errorcode.get(code, str(code))
        message = " ".join(line[2:])
        if name == "ENOPROTOOPT":
            raise AgentError(UNSUPPORTED, f"lwIP does not offer this socket option ({message})")
        raise AgentError(OS, message, name)


def _hex(data: bytes) -> str:
    return data.hex() or "-"


def _unhex(text: str) -> bytes:
    return b"" if text == "-" else bytes.fromhex(text)


def _ms(timeout: float) -> int:
    return max(int(timeout * 1000), 1)


class LwipApps:
    def __init__(self, harness: Harness) -> None:
        self.h = harness
        self.kinds: dict[int, str] = {}  # handle (the harness's fd) -> "tcp", "listener" or "udp"
        self.verbs: dict[str, Callable[[dict[str, Any]], Any]] = {
            "hello": lambda _: self.hello(),
            "tcp_listen": lambda x: self.tcp_listen(x["ip"], x["port"], x.get("backlog", 8), x.get("options", [])),
            "tcp_connect": lambda x: self.tcp_connect(x["ip"], x["port"], x.get("src_ip", "0.0.0.0"),
                                                      x.get("src_port", 0), x.get("options", [])),
            "udp_open": lambda x: self.udp_open(x["ip"], x.get("port", 0), x.get("connect"), x.get("options", [])),
            "accept": lambda x: self.accept(x["handle"], x.get("timeout", 1.0)),
            "recv": lambda x: self.recv(x["handle"], x.get("size", 65535), x.get("timeout", 1.0), x.get("flags", [])),
            "read": lambda x: self.read(x["handle"], x["size"], x.get("timeout", 1.0)),
            "read_available": lambda x: self.read_available(x["handle"], x.get("size", 65535)),
            "send": lambda x: self.send(x["handle"], x["data"], x.get("flags", [])),
            "sendto": lambda x: self.sendto(x["handle"], x["data"], x["address"], x.get("flags", [])),
            "shutdown": lambda x: self.shutdown(x["handle"], x.get("how", "write")),
            "setsockopt": lambda x: self.setsockopt(x["handle"], x["level"], x["name"], x["value"]),
            "getsockopt": lambda x: self.getsockopt(x["handle"], x["level"], x["name"], x.get("size", 0)),
            "socket_error": lambda x: self.socket_error(x["handle"]),
            "sockname": lambda x: {"local": self._addr("sockname", self._fd(x["handle"]))},
            "close": lambda x: self.close(x["handle"], bool(x.get("abort", False))),
            "close_all": lambda _: {"problems": self.close_all()},
            "reset": lambda _: self.reset(),
        }

    def hello(self) -> dict[str, Any]:
        return {"protocol": PROTOCOL_VERSION, "agent": "lwip-agent (Debian liblwip0 2.1.3)", "system": "lwIP",
                "release": "2.1.3", "machine": os.uname().machine, "node": "lwip", "tcp_msl_s": LWIP_MSL_S,
                "verbs": sorted(self.verbs), "knobs": {}, "raw_sysctls": False}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        rid = request.get("id")
        try:
            verb, args = request.get("verb"), request.get("args") or {}
            if not isinstance(verb, str) or not isinstance(args, dict):
                raise AgentError(INVALID, "a request needs a 'verb' string and an 'args' object")
            fn = self.verbs.get(verb)
            if fn is None:
                raise AgentError(UNSUPPORTED, f"the lwIP agent does not offer the verb {verb!r}")
            try:
                return {"id": rid, "ok": True, "result": fn(args)}
            except KeyError as exc:
                raise AgentError(INVALID, f"{verb}: missing argument {exc}") from None
        except AgentError as exc:
            return {"id": rid, "ok": False, "error": exc.as_dict()}
        except Exception as exc:  # a bug of the agent must not end the session
            return {"id": rid, "ok": False, "error": {"kind": FAILED, "message": f"{exc.__class__.__name__}: {exc}"}}

    # --- helpers ----------------------------------------------------------------------------

    def _fd(self, handle: Any) -> int:
        if handle not in self.kinds:
            raise AgentError(INVALID, f"no socket {handle!r} (closed, or never opened)")
        return int(handle)

    def _addr(self, what: str, fd: int) -> list[Any]:
        ip, port = self.h.call(what, fd)
        return [ip, int(port)]

    def _option(self, fd: int, level: str, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | dict):
            raise AgentError(INVALID, "an option value is an integer or {\"b64\": ...}")
        raw = struct.pack("i", value) if isinstance(value, int) else unb64(value["b64"])
        self.h.call("setsockopt", fd, level_number(level), option_number(level, name), _hex(raw))

    def _new(self, kind: str, options: list[list[Any]]) -> int:
        fd = int(self.h.call("socket", kind)[0])
        self.kinds[fd] = kind
        try:
            for level, name, value in options:
                self._option(fd, level, name, value)
        except BaseException:
            self.close(fd, False)
            raise
        return fd

    # --- opening ----------------------------------------------------------------------------

    def tcp_listen(self, ip: str, port: int, backlog: int, options: list[list[Any]]) -> dict[str, Any]:
        fd = self._new("tcp", options)
        try:
            self.h.call("setsockopt", fd, socket.SOL_SOCKET, socket.SO_REUSEADDR, _hex(struct.pack("i", 1)))
            self.h.call("bind", fd, ip, port)
            self.h.call("listen", fd, backlog)
            self.kinds[fd] = "listener"
        except BaseException:
            self.close(fd, False)
            raise
        return {"handle": fd, "local": self._addr("sockname", fd)}

    def tcp_connect(self, ip: str, port: int, src_ip: str, src_port: int, options: list[list[Any]]) -> dict[str, Any]:
        fd = self._new("tcp", options)
        try:
            self.h.call("bind", fd, src_ip, src_port)
            local = self._addr("sockname", fd)  # lwIP binds the port now; a refused connect frees the pcb
            self.h.call("connect", fd, ip, port, 1)
        except BaseException:
            self.close(fd, False)
            raise
        return {"handle": fd, "local": local}

    def udp_open(self, ip: str, port: int, connect: list[Any] | None, options: list[list[Any]]) -> dict[str, Any]:
        fd = self._new("udp", options)
        try:
            self.h.call("bind", fd, ip, port)
            if connect is not None:
                self.h.call("connect", fd, connect[0], connect[1], 0)
        except BaseException:
            self.close(fd, False)
            raise
        return {"handle": fd, "local": self._addr("sockname", fd)}

    # --- using ------------------------------------------------------------------------------

    def accept(self, handle: int, timeout: float) -> dict[str, Any]:
        new, ip, port = self.h.call("accept", self._fd(handle), _ms(timeout), wait=timeout)
        self.kinds[int(new)] = "tcp"
        return {"handle": int(new), "peer": [ip, int(port)]}

    def recv(self, handle: int, size: int, timeout: float, flags: list[str]) -> dict[str, Any]:
        data = self.h.call("recv", self._fd(handle), size, _ms(timeout), flag_number(flags), wait=timeout)[0]
        return {"data": b64(_unhex(data))}

    def read(self, handle: int, size: int, timeout: float) -> dict[str, Any]:
        fd = self._fd(handle)
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < size and (left := deadline - time.monotonic()) > 0:
            try:
                chunk = _unhex(self.h.call("recv", fd, size - len(got), _ms(left), 0, wait=left)[0])
            except AgentError as exc:
                if exc.kind == TIMEOUT:
                    break
                raise
            if not chunk:
                break
            got += chunk
        return {"data": b64(got)}

    def read_available(self, handle: int, size: int) -> dict[str, Any]:
        try:
            return {"data": b64(_unhex(self.h.call("recv", self._fd(handle), size, 0, 0)[0]))}
        except AgentError as exc:
            if exc.kind == TIMEOUT:
                return {"data": ""}
            raise

    def send(self, handle: int, data: str, flags: list[str]) -> dict[str, Any]:
        return {"sent": int(self.h.call("send", self._fd(handle), _hex(unb64(data)), flag_number(flags))[0])}

    def sendto(self, handle: int, data: str, address: list[Any], flags: list[str]) -> dict[str, Any]:
        sent = self.h.call("sendto", self._fd(handle), _hex(unb64(data)), address[0], address[1], flag_number(flags))
        return {"sent": int(sent[0])}

    def shutdown(self, handle: int, how: str) -> None:
        self.h.call("shutdown", self._fd(handle), HOW[how])

    def setsockopt(self, handle: int, level: str, name: str, value: Any) -> None:
        self._option(self._fd(handle), level, name, value)

    def getsockopt(self, handle: int, level: str, name: str, size: int) -> dict[str, Any]:
        raw = _unhex(self.h.call("getsockopt", self._fd(handle), level_number(level), option_number(level, name),
                                 size or 4)[0])
        if size:
            return {"value": {"b64": b64(raw)}}
        return {"value": struct.unpack("i", raw[:4].ljust(4, b"\0"))[0]}

    def socket_error(self, handle: int) -> dict[str, Any]:
        raw = _unhex(self.h.call("getsockopt", self._fd(handle), socket.SOL_SOCKET, socket.SO_ERROR, 4)[0])
        code = struct.unpack("i", raw[:4].ljust(4, b"\0"))[0]
        return {"errno": errno.errorcode.get(code, str(code)) if code else None}

    def close(self, handle: int, abort: bool) -> None:
        """close(2), or with abort SO_LINGER 0 first, as an application asks for an abortive
        close (lwIP sends an RST only if data is still queued; otherwise it closes with a FIN).
        A listener is closed plainly: it has no connection to abort (its unaccepted ones are
        aborted by the close itself), and lwIP 2.1.3 must not be given SO_LINGER 0 on one: its
        close path (api_msg.c lwip_netconn_do_close_internal) then reads the send queues of a
        connection's pcb from the smaller listening pcb and may call tcp_abort() on it, which
        fails the assertion "don't call tcp_abort/tcp_abandon for listen-pcbs" (tcp.c) and
        aborts the process."""
        if handle not in self.kinds:
            return
        fd = int(handle)
        if abort and self.kinds[fd] != "listener":
            try:
                self.h.call("setsockopt", fd, socket.SOL_SOCKET, socket.SO_LINGER, _hex(struct.pack("ii", 1, 0)))
            except AgentError:
                pass
        self.kinds.pop(fd, None)
        self.h.call("close", fd)

    def close_all(self) -> list[str]:
        """Every connection aborted (an RST for each open one, no TIME-WAIT), then every socket
        closed. lwIP's SO_LINGER 0 would abort only a connection with data still queued, so the
        harness aborts the connections itself (its abortall command, tcp_abort)."""
        problems = []
        self.h.call("abortall")
        for fd in list(self.kinds):
            try:
                self.close(fd, False)
            except AgentError as exc:
                problems.append(f"socket {fd}: {exc}")
        return problems

    def reset(self) -> dict[str, Any]:
        """After a case: every connection aborted and every socket closed, the ARP cache's
        learned entries forgotten."""
        problems = self.close_all()
        self.h.call("arpflush")
        return {"problems": problems}


def serve(listener: socket.socket, apps: LwipApps) -> None:
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
    p.add_argument("--tap", required=True)
    p.add_argument("--ip", required=True, metavar="ADDR/LEN")
    p.add_argument("--gateway", metavar="ADDR")
    p.add_argument("--mac", default="02:00:00:00:01:01")
    p.add_argument("--agent", required=True, metavar="PATH", help="serve the agent protocol on this unix socket")
    p.add_argument("--harness", default=str(HARNESS), help=f"the built harness (default {HARNESS})")
    args = p.parse_args(argv)
    if not os.access(args.harness, os.X_OK):
        print(f"lwip agent: {args.harness} is not built; run sut/lwip/build", file=sys.stderr)
        return 2
    argv_h = [args.harness, "--tap", args.tap, "--ip", args.ip, "--mac", args.mac, "--control"]
    if args.gateway:
        argv_h += ["--gateway", args.gateway]
    harness = Harness(argv_h)

    def stop(*_: Any) -> None:
        harness.proc.kill()
        os._exit(0)

    def follow_harness() -> None:
        """The stack is the harness: when it dies, this process dies the same death, so that
        whoever started the SUT sees the harness's own exit status (SIGSEGV, SIGABRT, ...)."""
        status = harness.proc.wait()
        harness.drain()
        how = f"of {signal.Signals(-status).name}" if status < 0 else f"with status {status}"
        words = f"; its last words: {harness.last_words}" if harness.last_words else ""
        print(f"lwip agent: the lwIP harness died {how}{words}", file=sys.stderr, flush=True)
        if status < 0 and -status not in (signal.SIGTERM, signal.SIGINT):
            os.kill(os.getpid(), -status)  # no handler here for it: the default action, the same end
        os._exit(status if status > 0 else 1)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=follow_harness, name="follow-harness", daemon=True).start()
    try:
        os.unlink(args.agent)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(args.agent)
    listener.listen(1)
    print(READY, flush=True)
    serve(listener, LwipApps(harness))
    return 0


if __name__ == "__main__":
    sys.exit(main())
