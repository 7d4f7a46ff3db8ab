"""Applications on the SUT: sockets the suite drives through the agent, by handle.

Every call is bounded: reads and accepts wait at most their timeout, connects return at once
(the handshake goes on in the SUT's kernel). Sockets are closed with SO_LINGER 0 when the suite
says so or the session resets, so no FIN/RST exchange or TIME-WAIT is left behind.
"""

from __future__ import annotations

import itertools
import select
import socket
import struct
import time
from typing import Any

from conformance_agent.protocol import (
    INVALID,
    TIMEOUT,
    AgentError,
    b64,
    flag_number,
    level_number,
    option_number,
    unb64,
)

TCP_INFO_FORMAT = "8B24I"  # struct tcp_info up to tcpi_total_retrans
TCP_INFO_FIELDS = ("state", "ca_state", "retransmits", "probes", "backoff", "options", "wscale", "delivery_rate_app_limited",
                   "rto", "ato", "snd_mss", "rcv_mss", "unacked", "sacked", "lost", "retrans", "fackets",
                   "last_data_sent", "last_ack_sent", "last_data_recv", "last_ack_recv", "pmtu", "rcv_ssthresh", "rtt",
                   "rttvar", "snd_ssthresh", "snd_cwnd", "advmss", "reordering", "rcv_rtt", "rcv_space", "total_retrans")


def _value(raw: Any) -> int | bytes:
    if isinstance(raw, bool) or not isinstance(raw, int | dict):
        raise AgentError(INVALID, "an option value is an integer or {\"b64\": ...}")
    return raw if isinstance(raw, int) else unb64(raw["b64"])


class Apps:
    def __init__(self) -> None:
        self.sockets: dict[int, socket.socket] = {}
        self._ids = itertools.count(1)

    def _sock(self, handle: Any) -> socket.socket:
        sock = self.sockets.get(handle)
        if sock is None:
            raise AgentError(INVALID, f"no socket {handle!r} (closed, or never opened)")
        return sock

    def _keep(self, sock: socket.socket) -> int:
        sock.setblocking(False)
        handle = next(self._ids)
        self.sockets[handle] = sock
        return handle

    def _new(self, kind: int, options: list[list[Any]], family: int = socket.AF_INET) -> socket.socket:
        sock = socket.socket(family, kind)
        try:
            for level, name, value in options:
                sock.setsockopt(level_number(level), option_number(level, name), _value(value))
        except BaseException:
            sock.close()
            raise
        return sock

    # --- opening --------------------------------------------------------------------------

    def tcp_listen(self, ip: str, port: int, backlog: int, options: list[list[Any]]) -> dict[str, Any]:
        sock = self._new(socket.SOCK_STREAM, options, family_of(ip))
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((ip, port))
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return {"handle": self._keep(sock), "local": endpoint(sock.getsockname())}

    def tcp_connect(self, ip: str, port: int, src_ip: str, src_port: int, options: list[list[Any]]) -> dict[str, Any]:
        family = family_of(ip)
        sock = self._new(socket.SOCK_STREAM, options, family)
        try:
            if family_of(src_ip) != family:  # a source of the other family: any address of this one
                src_ip = "::" if family == socket.AF_INET6 else "0.0.0.0"
            sock.bind((src_ip, src_port))
            sock.setblocking(False)
            err = sock.connect_ex((ip, port))
            if err not in (0, 115):  # EINPROGRESS
                raise OSError(err, f"connect to {ip}:{port} failed at once")
        except BaseException:
            sock.close()
            raise
        return {"handle": self._keep(sock), "local": endpoint(sock.getsockname())}

    def udp_open(self, ip: str, port: int, connect: list[Any] | None, options: list[list[Any]]) -> dict[str, Any]:
        sock = self._new(socket.SOCK_DGRAM, options, family_of(ip))
        try:
            sock.bind((ip, port))
            if connect is not None:
                sock.connect((connect[0], connect[1]))
        except BaseException:
            sock.close()
            raise
        return {"handle": self._keep(sock), "local": endpoint(sock.getsockname())}

    # --- using ----------------------------------------------------------------------------

    def _wait(self, sock: socket.socket, timeout: float, what: str) -> None:
        ready, _, _ = select.select([sock], [], [], max(timeout, 0))
        if not ready:
            raise AgentError(TIMEOUT, f"{what} within {timeout:g} s")

    def accept(self, handle: int, timeout: float) -> dict[str, Any]:
        sock = self._sock(handle)
        self._wait(sock, timeout, "no connection to accept on the SUT")
        conn, peer = sock.accept()
        return {"handle": self._keep(conn), "peer": endpoint(peer)}

    def recv(self, handle: int, size: int, timeout: float, flags: list[str]) -> dict[str, Any]:
        sock = self._sock(handle)
        number = flag_number(flags)
        if not number & socket.MSG_OOB:  # urgent data is not signalled as readable
            self._wait(sock, timeout, "nothing to read on the SUT socket")
        return {"data": b64(sock.recv(size, number))}

    def read(self, handle: int, size: int, timeout: float) -> dict[str, Any]:
        sock = self._sock(handle)
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < size and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            chunk = sock.recv(size - len(got))
            if not chunk:
                break
            got += chunk
        return {"data": b64(got)}

    def read_available(self, handle: int, size: int) -> dict[str, Any]:
        try:
            return {"data": b64(self._sock(handle).recv(size))}
        except BlockingIOError:
            return {"data": ""}

    def recvmsg(self, handle: int, size: int, ancbufsize: int, flags: list[str], timeout: float) -> dict[str, Any]:
        sock = self._sock(handle)
        if timeout > 0:
            self._wait(sock, timeout, "nothing to read on the SUT socket")
        data, anc, msg_flags, addr = sock.recvmsg(size, ancbufsize, flag_number(flags))
        from conformance_agent.protocol import flag_names, level_name, option_name

        ancillary = []
        for level, kind, raw in anc:
            ancillary.append([level_name(level), option_name(level, kind, prefer=("IP_TTL", "IP_TOS", "IP_RECVERR", "IPV6_HOPLIMIT", "IPV6_TCLASS", "IPV6_PKTINFO")), b64(raw)])
        return {"data": b64(data), "ancillary": ancillary, "flags": flag_names(msg_flags),
                "address": endpoint(addr) if addr else None}

    def send(self, handle: int, data: str, flags: list[str]) -> dict[str, Any]:
        return {"sent": self._sock(handle).send(unb64(data), flag_number(flags))}

    def sendto(self, handle: int, data: str, address: list[Any], flags: list[str]) -> dict[str, Any]:
        return {"sent": self._sock(handle).sendto(unb64(data), flag_number(flags), (address[0], address[1]))}

    def shutdown(self, handle: int, how: str) -> None:
        self._sock(handle).shutdown({"read": socket.SHUT_RD, "write": socket.SHUT_WR, "both": socket.SHUT_RDWR}[how])

    def setsockopt(self, handle: int, level: str, name: str, value: Any) -> None:
        self._sock(handle).setsockopt(level_number(level), option_number(level, name), _value(value))

    def getsockopt(self, handle: int, level: str, name: str, size: int) -> dict[str, Any]:
        sock = self._sock(handle)
        if size:
            return {"value": {"b64": b64(sock.getsockopt(level_number(level), option_number(level, name), size))}}
        return {"value": sock.getsockopt(level_number(level), option_number(level, name))}

    def error(self, handle: int) -> dict[str, Any]:
        import errno

        code = self._sock(handle).getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return {"errno": errno.errorcode.get(code, str(code)) if code else None}

    def sockname(self, handle: int) -> dict[str, Any]:
        return {"local": endpoint(self._sock(handle).getsockname())}

    def tcp_info(self, handle: int) -> dict[str, Any]:
        raw = self._sock(handle).getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        values = struct.unpack_from(TCP_INFO_FORMAT, raw)
        return dict(zip(TCP_INFO_FIELDS, values, strict=True))

    def close(self, handle: int, abort: bool) -> None:
        """close(2) as the application would (a FIN for an open connection), or with abort an
        RST and no TIME-WAIT."""
        sock = self.sockets.pop(handle, None)
        if sock is not None:
            if abort:
                _abort(sock)
            else:
                sock.close()

    def close_all(self) -> None:
        for sock in self.sockets.values():
            _abort(sock)
        self.sockets.clear()


def family_of(ip: str) -> int:
    """The address family a socket for `ip` needs: IPv6 for an address with a colon."""
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def endpoint(address: Any) -> list[Any]:
    """A socket address as the protocol gives it: [ip, port], for IPv6 too (flow information
    and scope are left out; a link-local peer's scope is the interface the case uses)."""
    return [address[0], address[1]]


def _abort(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()
