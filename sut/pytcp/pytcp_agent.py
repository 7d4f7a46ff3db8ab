"""The application verbs of the suite's agent protocol, mapped onto PyTCP's own socket API
(pytcp.lib.socket: an in-process, BSD-like API whose calls block).

Only what PyTCP's API does is offered; everything else answers "unsupported" and the case is
skipped with that reason. Socket options: only TCP_NODELAY on, which is what PyTCP always does
(it has no Nagle algorithm). What this mapping adds, and why:

- bounded waits: PyTCP's accept() and TCP recv() block without a timeout. Before calling them
  the agent waits, with the request's timeout, on the very semaphore the call itself waits on
  (the listener's "session established" event, the session's "rx buffer" event) and gives it
  back at once, so the call that follows returns without blocking.
- a non-blocking connect: PyTCP's connect() blocks until the handshake ends; the agent runs it
  on a thread and keeps its outcome (ECONNREFUSED, ETIMEDOUT) as the socket's pending error.
- no abortive close: PyTCP has no SO_LINGER and no abort, so `close` with abort answers
  "unsupported" and `close_all` closes sockets the only way PyTCP can, gracefully (a FIN for
  an open connection); the answer to close_all says so.
- `reset` (after every case): the agent is PyTCP's only application, so every socket in the
  stack's table goes, with the sessions its listeners made that were never accepted, and so do
  the ARP cache's learned entries. PyTCP cannot abort a connection, and a graceful close would
  leave FINs retransmitted into later cases, so each TCP session is dropped without a word on
  the wire (its state set to CLOSED, its per-millisecond timer task stopped): as if the host
  had forgotten it. The next case starts from a stack with no sockets, as a fresh one would.
"""

from __future__ import annotations

import errno
import itertools
import threading
import time
from collections.abc import Callable
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
    unb64,
)

# PyTCP keeps TIME-WAIT for TIME_WAIT_DELAY = 30 s (pytcp/protocols/tcp/session.py): 2 x MSL of 15 s.
PYTCP_MSL_S = 15.0
CONNECT_WAIT_S = 5.0  # how long a send waits for a connect in progress


def _os_error(name: str, message: str) -> AgentError:
    return AgentError(OS, message, name)


class Handle:
    """One PyTCP socket and what the agent knows of it beyond PyTCP's API."""

    def __init__(self, sock: Any, kind: str) -> None:
        self.sock = sock
        self.kind = kind  # "tcp" or "udp"
        self.error: str | None = None  # pending error (SO_ERROR), as an errno name
        self.connecting: threading.Thread | None = None
        self.reset_reported = False  # ECONNRESET, like SO_ERROR, is reported once


class PyTcpApps:
    """Sockets on PyTCP, by handle. One request at a time (the server serialises them)."""

    def __init__(self, pytcp_socket: Any, version: str, stack: Any = None,
                 static_arp: list[tuple[str, str]] | None = None) -> None:
        self.api = pytcp_socket  # the module pytcp.lib.socket
        self.stack = stack  # the module pytcp.lib.stack: its socket table, timer and ARP cache (reset)
        self.static_arp = static_arp or []  # (address, MAC): permanent ARP entries the SUT is configured with
        self.version = version
        self.handles: dict[int, Handle] = {}
        self._ids = itertools.count(1)
        self.verbs: dict[str, Callable[[dict[str, Any]], Any]] = {
            "hello": lambda _: self.hello(),
            "tcp_listen": lambda x: self.tcp_listen(x["ip"], x["port"], x.get("options", [])),
            "tcp_connect": lambda x: self.tcp_connect(x["ip"], x["port"], x.get("src_ip", "0.0.0.0"),
                                                      x.get("src_port", 0), x.get("options", [])),
            "udp_open": lambda x: self.udp_open(x["ip"], x.get("port", 0), x.get("connect"), x.get("options", [])),
            "accept": lambda x: self.accept(x["handle"], x.get("timeout", 1.0)),
            "recv": lambda x: self.recv(x["handle"], x.get("size", 65535), x.get("timeout", 1.0), x.get("flags", [])),
            "read": lambda x: self.read(x["handle"], x["size"], x.get("timeout", 1.0)),
            "read_available": lambda x: self.read_available(x["handle"], x.get("size", 65535)),
            "send": lambda x: self.send(x["handle"], x["data"], x.get("flags", [])),
            "sendto": lambda x: self.sendto(x["handle"], x["data"], x["address"], x.get("flags", [])),
            "setsockopt": lambda x: self.setsockopt(x["handle"], x["level"], x["name"], x["value"]),
            "getsockopt": lambda x: self.getsockopt(x["handle"], x["level"], x["name"]),
            "socket_error": lambda x: self.socket_error(x["handle"]),
            "sockname": lambda x: self.sockname(x["handle"]),
            "close": lambda x: self.close(x["handle"], bool(x.get("abort", False))),
            "close_all": lambda _: self.close_all(),
            "reset": lambda _: self.reset(),
        }

    # --- the protocol -----------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        return {"protocol": PROTOCOL_VERSION, "agent": f"pytcp-agent (PyTCP {self.version})", "system": "PyTCP",
                "release": self.version, "machine": "python", "node": "pytcp", "tcp_msl_s": PYTCP_MSL_S,
                "verbs": sorted(self.verbs), "knobs": {}, "raw_sysctls": False}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        rid = request.get("id")
        try:
            verb, args = request.get("verb"), request.get("args") or {}
            if not isinstance(verb, str) or not isinstance(args, dict):
                raise AgentError(INVALID, "a request needs a 'verb' string and an 'args' object")
            fn = self.verbs.get(verb)
            if fn is None:
                raise AgentError(UNSUPPORTED, f"the PyTCP agent does not offer the verb {verb!r} "
                                 "(PyTCP's socket API has nothing it could be mapped onto)")
            try:
                result = fn(args)
            except KeyError as exc:
                raise AgentError(INVALID, f"{verb}: missing argument {exc}") from None
            return {"id": rid, "ok": True, "result": result}
        except AgentError as exc:
            return {"id": rid, "ok": False, "error": exc.as_dict()}
        except OSError as exc:
            return {"id": rid, "ok": False, "error": _from_pytcp_os_error(exc).as_dict()}
        except Exception as exc:  # a bug of the agent (or of PyTCP) must not end the session
            return {"id": rid, "ok": False, "error": {"kind": FAILED, "message": f"{exc.__class__.__name__}: {exc}"}}

    # --- helpers ----------------------------------------------------------------------------

    def _get(self, handle: Any) -> Handle:
        h = self.handles.get(handle)
        if h is None:
            raise AgentError(INVALID, f"no socket {handle!r} (closed, or never opened)")
        return h

    def _keep(self, sock: Any, kind: str) -> tuple[int, Handle]:
        number = next(self._ids)
        self.handles[number] = Handle(sock, kind)
        return number, self.handles[number]

    @staticmethod
    def _no_options(options: list[Any], what: str) -> None:
        """PyTCP's sockets take no options; the one an application may still ask for is
        TCP_NODELAY on, which is what PyTCP always does (see setsockopt)."""
        for level, name, value in options:
            if not (what != "a UDP socket" and _is_nodelay(level, name) and value == 1):
                raise AgentError(UNSUPPORTED, f"PyTCP's sockets have no socket options ({level}/{name} for {what})")

    def setsockopt(self, handle: int, level: str, name: str, value: Any) -> None:
        """PyTCP has no socket options. TCP_NODELAY = 1 is accepted as the no-op it is: PyTCP has
        no Nagle algorithm, its sessions send queued data as soon as the window allows
        (pytcp/protocols/tcp/session.py TcpSession._transmit_data), which is what TCP_NODELAY
        asks for. Everything else, TCP_NODELAY = 0 included, is unsupported."""
        h = self._get(handle)
        if h.kind == "tcp" and _is_nodelay(level, name):
            if value == 1:
                return
            raise AgentError(UNSUPPORTED, "PyTCP has no Nagle algorithm to turn on (TCP_NODELAY 0)")
        raise AgentError(UNSUPPORTED, f"PyTCP's sockets have no socket options ({level}/{name})")

    def getsockopt(self, handle: int, level: str, name: str) -> dict[str, Any]:
        h = self._get(handle)
        if h.kind == "tcp" and _is_nodelay(level, name):
            return {"value": 1}
        raise AgentError(UNSUPPORTED, f"PyTCP's sockets have no socket options ({level}/{name})")

    @staticmethod
    def _no_flags(flags: list[str]) -> None:
        if flags:
            raise AgentError(UNSUPPORTED, f"PyTCP's send/recv take no message flags ({', '.join(flags)})")

    @staticmethod
    def _local(sock: Any) -> list[Any]:
        return [str(sock.local_ip_address), sock.local_port]

    # --- opening ----------------------------------------------------------------------------

    def tcp_listen(self, ip: str, port: int, options: list[Any]) -> dict[str, Any]:
        # PyTCP's listen() takes no backlog: every SYN to a listener gets its own session.
        self._no_options(options, "a listener")
        sock = self.api.socket(self.api.AF_INET4, self.api.SOCK_STREAM)
        sock.bind((ip, port))
        sock.listen()
        number, _ = self._keep(sock, "tcp")
        return {"handle": number, "local": self._local(sock)}

    def tcp_connect(self, ip: str, port: int, src_ip: str, src_port: int, options: list[Any]) -> dict[str, Any]:
        self._no_options(options, "a connecting socket")
        sock = self.api.socket(self.api.AF_INET4, self.api.SOCK_STREAM)
        if src_ip != "0.0.0.0" or src_port:
            sock.bind((src_ip, src_port))
        number, h = self._keep(sock, "tcp")

        def connect() -> None:
            try:
                sock.connect((ip, port))
            except ConnectionRefusedError:
                h.error = "ECONNREFUSED"
            except TimeoutError:
                h.error = "ETIMEDOUT"
            except OSError as exc:
                h.error = errno.errorcode.get(exc.errno or 0, "EIO")

        h.connecting = threading.Thread(target=connect, name=f"pytcp-agent-connect-{number}", daemon=True)
        h.connecting.start()
        # connect() picks the local address and creates the session before it starts waiting.
        deadline = time.monotonic() + 1.0
        while sock.tcp_session is None and h.error is None and time.monotonic() < deadline:
            time.sleep(0.001)
        if h.error is not None:
            self.handles.pop(number, None)
            raise _os_error(h.error, f"connect to {ip}:{port} failed at once")
        return {"handle": number, "local": self._local(sock)}

    def udp_open(self, ip: str, port: int, connect: list[Any] | None, options: list[Any]) -> dict[str, Any]:
        self._no_options(options, "a UDP socket")
        sock = self.api.socket(self.api.AF_INET4, self.api.SOCK_DGRAM)
        sock.bind((ip, port))
        if connect is not None:
            sock.connect((connect[0], connect[1]))
        number, _ = self._keep(sock, "udp")
        return {"handle": number, "local": self._local(sock)}

    # --- using ------------------------------------------------------------------------------

    def accept(self, handle: int, timeout: float) -> dict[str, Any]:
        h = self._get(handle)
        event = h.sock._event_tcp_session_established  # what accept() itself waits on
        if not event.acquire(timeout=max(timeout, 0)):
            raise AgentError(TIMEOUT, f"no connection to accept on the SUT within {timeout:g} s")
        event.release()
        conn, peer = h.sock.accept()
        number, _ = self._keep(conn, "tcp")
        return {"handle": number, "peer": [peer[0], peer[1]]}

    def _tcp_wait(self, h: Handle, timeout: float) -> bool:
        """Wait until PyTCP's recv() would return at once: data, or the end of the stream."""
        session = h.sock.tcp_session
        if session is None:
            raise _os_error("ENOTCONN", "the socket is not connected")
        event = session._event_rx_buffer  # what TcpSession.receive() itself waits on
        if not event.acquire(timeout=max(timeout, 0)):
            return False
        event.release()
        return True

    def _udp_recv(self, h: Handle, size: int, timeout: float | None) -> bytes | None:
        try:
            data = h.sock.recv(None, timeout=timeout)
        except self.api.ReceiveTimeout:
            return None
        return bytes(data[:size])  # PyTCP returns whole datagrams; the rest is discarded, as recv(2) does

    def recv(self, handle: int, size: int, timeout: float, flags: list[str]) -> dict[str, Any]:
        h = self._get(handle)
        self._no_flags(flags)
        if h.kind == "udp":
            data = self._udp_recv(h, size, max(timeout, 0))
            if data is None:
                raise AgentError(TIMEOUT, f"nothing to read on the SUT socket within {timeout:g} s")
            return {"data": b64(data)}
        if not self._tcp_wait(h, timeout):
            raise AgentError(TIMEOUT, f"nothing to read on the SUT socket within {timeout:g} s")
        return {"data": b64(h.sock.recv(size))}

    def read(self, handle: int, size: int, timeout: float) -> dict[str, Any]:
        h = self._get(handle)
        if h.kind == "udp":
            raise AgentError(INVALID, "read is for stream sockets; use recv on a UDP socket")
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < size and (left := deadline - time.monotonic()) > 0:
            if not self._tcp_wait(h, left):
                break
            chunk = h.sock.recv(size - len(got))
            if not chunk:
                break
            got += chunk
        return {"data": b64(got)}

    def read_available(self, handle: int, size: int) -> dict[str, Any]:
        h = self._get(handle)
        if h.kind == "udp":
            data = self._udp_recv(h, size, 0)
            return {"data": b64(data or b"")}
        if not self._tcp_wait(h, 0):
            return {"data": ""}
        return {"data": b64(h.sock.recv(size))}

    def send(self, handle: int, data: str, flags: list[str]) -> dict[str, Any]:
        h = self._get(handle)
        self._no_flags(flags)
        if h.connecting is not None and h.connecting.is_alive():
            # A send on a connection still being opened waits for the handshake, as a blocking
            # socket's does (bounded). PyTCP sends the handshake's final ACK before its session
            # becomes ESTABLISHED, so a send that follows that ACK at once could otherwise find it
            # still in SYN-SENT and fail.
            h.connecting.join(timeout=CONNECT_WAIT_S)
        return {"sent": h.sock.send(unb64(data))}

    def sendto(self, handle: int, data: str, address: list[Any], flags: list[str]) -> dict[str, Any]:
        h = self._get(handle)
        self._no_flags(flags)
        if h.kind != "udp":
            raise AgentError(UNSUPPORTED, "PyTCP's TCP sockets have no sendto()")
        return {"sent": h.sock.sendto(unb64(data), (address[0], address[1]))}

    def socket_error(self, handle: int) -> dict[str, Any]:
        """The error PyTCP's API would report next, cleared as SO_ERROR is: a failed connect
        (refused, timed out), an ICMP unreachable on a UDP socket, a retransmission timeout, and
        a reset: PyTCP's API shows a reset connection as an ordinary end of stream, but its
        session is then CLOSED, which no connection the application still holds is otherwise."""
        h = self._get(handle)
        name, h.error = h.error, None
        if name is None and h.kind == "udp" and h.sock._unreachable:  # what the next recv() raises
            h.sock._unreachable = False
            name = "ECONNREFUSED"
        session = h.sock.tcp_session if h.kind == "tcp" else None
        if name is None and session is not None and str(session._connection_error) == "TIMEOUT":
            name = "ETIMEDOUT"
        if (name is None and session is not None and session._connection_error is None and not h.reset_reported
                and str(session.state) == "CLOSED"):
            # A connection the application has not closed (close() forgets the handle) is CLOSED
            # only after a reset: PyTCP's sessions go there from an acceptable RST and nothing else
            # but the failed connects counted above (pytcp/protocols/tcp/session.py).
            h.reset_reported = True
            name = "ECONNRESET"
        return {"errno": name}

    def sockname(self, handle: int) -> dict[str, Any]:
        return {"local": self._local(self._get(handle).sock)}

    def _close(self, h: Handle) -> None:
        sock = h.sock
        if h.kind == "udp":
            sock.close()
            return
        # Connections the listener completed but the application never accepted are closed too.
        while sock._tcp_accept:
            if sock._event_tcp_session_established.acquire(blocking=False):
                child, _ = sock.accept()
                child.close()
            else:
                break
        if sock.tcp_session is not None:
            sock.close()

    def close(self, handle: int, abort: bool) -> None:
        if abort:
            raise AgentError(UNSUPPORTED, "PyTCP has no abortive close (SO_LINGER 0); only a graceful close()")
        h = self.handles.pop(handle, None)
        if h is not None:
            self._close(h)

    def close_all(self) -> dict[str, Any]:
        closed = 0
        for h in self.handles.values():
            try:
                self._close(h)
                closed += 1
            except Exception:  # a socket PyTCP already tore down
                pass
        self.handles.clear()
        return {"closed": closed, "how": "graceful close(): PyTCP has no abortive close"}

    def reset(self) -> dict[str, Any]:
        """Back to a stack without sockets: every socket PyTCP holds is dropped silently (see the
        module's docstring), learned ARP entries are forgotten."""
        problems: list[str] = []
        if self.stack is None:
            self.handles.clear()
            return {"problems": ["the agent was started without PyTCP's stack module: nothing reset"]}
        sessions = set()
        for key, sock in list(self.stack.sockets.items()):
            session = getattr(sock, "_tcp_session", None)
            if session is not None:
                sessions.add(session)
            self.stack.sockets.pop(key, None)
        for h in self.handles.values():
            if h.kind == "tcp" and h.sock.tcp_session is not None:
                sessions.add(h.sock.tcp_session)
        from pytcp.protocols.tcp.session import FsmState

        for session in sessions:
            session._state = FsmState.CLOSED  # no more segments: every FSM handler but CLOSED's sends
        for task in list(self.stack.timer._tasks):  # the sessions' per-millisecond FSM ticks
            if getattr(task._method, "__self__", None) in sessions:
                task._stop_condition = lambda: True  # the timer thread drops the task itself
        self.handles.clear()
        cache = getattr(self.stack.arp_cache, "_arp_cache", None)
        if cache is None:
            problems.append("PyTCP's ARP cache was not found: learned entries kept")
        else:
            cache.clear()
            self.install_static_arp()
        return {"problems": problems}

    def install_static_arp(self) -> None:
        """The configured permanent ARP entries (again: learning from a request replaces an
        entry, permanent or not, with a learned one)."""
        if self.stack is None or not self.static_arp:
            return
        from pytcp.lib.ip4_address import Ip4Address
        from pytcp.lib.mac_address import MacAddress

        entry = type(self.stack.arp_cache).CacheEntry
        for ip, mac in self.static_arp:
            self.stack.arp_cache._arp_cache[Ip4Address(ip)] = entry(MacAddress(mac), permanent=True)


def _is_nodelay(level: str, name: str) -> bool:
    return level in ("IPPROTO_TCP", "SOL_TCP") and name == "TCP_NODELAY"


def _from_pytcp_os_error(exc: OSError) -> AgentError:
    """PyTCP raises OSError subclasses with the errno only in the message ('[Errno 98] ...')."""
    if exc.errno:
        return AgentError.from_os_error(exc)
    text = str(exc)
    for name, cls in (("ECONNREFUSED", ConnectionRefusedError), ("EPIPE", BrokenPipeError), ("ETIMEDOUT", TimeoutError)):
        if isinstance(exc, cls):
            return _os_error(name, text)
    if text.startswith("[Errno "):
        number = int(text[7:text.index("]")])
        return _os_error(errno.errorcode.get(number, "EIO"), text)
    return _os_error("EIO", text)
