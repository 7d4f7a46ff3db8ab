"""Applications on the SUT: sockets the suite opens inside the SUT's namespace, in its own process.

Transport cases need something on the SUT that listens, accepts, reads and writes. For the
netns SUT these are ordinary sockets created while the thread is inside the SUT's namespace
(no helper daemon). Every call is non-blocking or bounded by a timeout, so a case never hangs on
the SUT's application. Sockets are closed when the case ends.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from conformance.netns import Namespace

TCP_INFO_FORMAT = "8B24I"  # struct tcp_info up to tcpi_total_retrans
TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN-SENT", 3: "SYN-RECEIVED", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2", 6: "TIME-WAIT",
    7: "CLOSED", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING",
}


@dataclass(frozen=True)
class TcpInfo:
    """The fields of the kernel's struct tcp_info that cases use as a second oracle."""

    state: str
    retransmits: int
    backoff: int
    options: int  # TCPI_OPT_* bits: 1 timestamps, 2 sack, 4 wscale, 8 ecn
    snd_wscale: int
    rcv_wscale: int
    rto_us: int
    snd_mss: int
    rcv_mss: int
    unacked: int
    lost: int
    retrans: int
    rtt_us: int
    snd_cwnd: int
    total_retrans: int

    @classmethod
    def parse(cls, raw: bytes) -> TcpInfo:
        v = struct.unpack_from(TCP_INFO_FORMAT, raw)
        return cls(
            state=TCP_STATES.get(v[0], str(v[0])), retransmits=v[2], backoff=v[4], options=v[5],
            snd_wscale=v[6] & 0x0F, rcv_wscale=v[6] >> 4, rto_us=v[8], snd_mss=v[10], rcv_mss=v[11],
            unacked=v[12], lost=v[14], retrans=v[15], rtt_us=v[23], snd_cwnd=v[26], total_retrans=v[31],
        )


class SutSocket:
    """A socket on the SUT. Reads return what has arrived within `timeout`, never block forever."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.setblocking(False)

    def _wait(self, timeout: float, write: bool = False) -> bool:
        r, w, _ = select.select([] if write else [self.sock], [self.sock] if write else [], [], timeout)
        return bool(r or w)

    def recv(self, size: int = 65535, timeout: float = 1.0) -> bytes:
        """Data the application can read now, waiting up to `timeout` for the first byte;
        b'' at end of stream. Raises TimeoutError when nothing arrived."""
        if not self._wait(timeout):
            raise TimeoutError(f"nothing to read on the SUT socket within {timeout:g} s")
        return self.sock.recv(size)

    def read(self, size: int, timeout: float = 1.0) -> bytes:
        """What the application reads until `size` octets came, the stream ended, or `timeout`
        passed without them: never more than that, and b'' if nothing arrived."""
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < size and (left := deadline - time.monotonic()) > 0:
            try:
                chunk = self.recv(size - len(got), timeout=left)
            except TimeoutError:
                break
            if not chunk:
                break
            got += chunk
        return got

    def read_available(self, size: int = 65535) -> bytes:
        """Everything readable right now without waiting (b'' when nothing is)."""
        try:
            return self.sock.recv(size)
        except BlockingIOError:
            return b""

    def send(self, data: bytes) -> int:
        return self.sock.send(data)

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        self.sock.setsockopt(level, option, value)

    def getsockopt(self, level: int, option: int, size: int = 0) -> Any:
        return self.sock.getsockopt(level, option, size) if size else self.sock.getsockopt(level, option)

    def shutdown(self, how: int = socket.SHUT_WR) -> None:
        self.sock.shutdown(how)

    def close(self) -> None:
        self.sock.close()

    def error(self) -> int:
        """The pending socket error (SO_ERROR), e.g. ECONNREFUSED or ECONNRESET; 0 if none."""
        return int(self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))

    def tcp_info(self) -> TcpInfo:
        return TcpInfo.parse(self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104))

    def sendto(self, data: bytes, addr: tuple[str, int]) -> int:
        return self.sock.sendto(data, addr)

    def recvmsg(self, size: int = 65535, ancbufsize: int = 1024, flags: int = 0,
                timeout: float = 1.0) -> tuple[bytes, list[tuple[int, int, bytes]], int, Any]:
        """recvmsg(2): data, ancillary items (level, type, bytes), flags and sender, waiting up
        to `timeout` for something readable (a pending error counts, for MSG_ERRQUEUE).
        Raises TimeoutError when nothing arrived."""
        if not self._wait(timeout):
            raise TimeoutError(f"nothing to read on the SUT socket within {timeout:g} s")
        return self.sock.recvmsg(size, ancbufsize, flags)


class Listener(SutSocket):
    def accept(self, timeout: float = 1.0) -> SutSocket:
        if not self._wait(timeout):
            raise TimeoutError(f"no connection to accept on the SUT within {timeout:g} s")
        conn, _ = self.sock.accept()
        return SutSocket(conn)


class SutApps:
    """Opens sockets inside the SUT's namespace and closes them all when the case ends."""

    def __init__(self, ns: Namespace, ip: str) -> None:
        self.ns = ns
        self.ip = ip
        self._open: list[socket.socket] = []

    def _socket(self, kind: int, options: dict[tuple[int, int], int | bytes] | None = None) -> socket.socket:
        with self.ns.entered():
            sock = socket.socket(socket.AF_INET, kind)
        self._open.append(sock)
        for (level, opt), value in (options or {}).items():
            sock.setsockopt(level, opt, value)
        return sock

    def listen(self, port: int, backlog: int = 8, options: dict[tuple[int, int], int | bytes] | None = None) -> Listener:
        """A TCP listener on the SUT's address; `options` are set before bind/listen."""
        return self.listen_at(self.ip, port, backlog, options)

    def connect(self, dst: str, port: int, src_port: int = 0,
                options: dict[tuple[int, int], int | bytes] | None = None) -> SutSocket:
        """Start an active open from the SUT (non-blocking: returns at once in SYN-SENT)."""
        sock = self._socket(socket.SOCK_STREAM, options)
        sock.bind((self.ip, src_port))
        sock.setblocking(False)
        err = sock.connect_ex((dst, port))
        if err not in (0, 115):  # EINPROGRESS
            raise OSError(err, f"connect from the SUT to {dst}:{port} failed at once")
        return SutSocket(sock)

    def udp(self, port: int = 0, connect: tuple[str, int] | None = None) -> SutSocket:
        """A UDP socket on the SUT's address, connected to `connect` if given."""
        return self.udp_at(self.ip, port, connect)

    def wait_until(self, predicate: Any, timeout: float = 1.0, what: str = "condition") -> None:
        """Poll a SUT-side condition (e.g. a TCP state) until it holds; for state the kernel
        changes after the frame that causes it has already been seen."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not hold within {timeout:g} s")
            time.sleep(0.0005)

    def close_all(self) -> None:
        for sock in self._open:
            # SO_LINGER 0: no FIN/RST exchange or TIME-WAIT left to chase after the case.
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            sock.close()
        self._open.clear()

    @contextmanager
    def session(self) -> Iterator[SutApps]:
        try:
            yield self
        finally:
            self.close_all()

    def udp_at(self, ip: str, port: int = 0, connect: tuple[str, int] | None = None,
               options: dict[tuple[int, int], int | bytes] | None = None) -> SutSocket:
        """A UDP socket bound to `ip` (another of the SUT's addresses, or 0.0.0.0 for any);
        `options` are set before bind."""
        sock = self._socket(socket.SOCK_DGRAM, options)
        sock.bind((ip, port))
        if connect is not None:
            sock.connect(connect)
        return SutSocket(sock)

    def listen_at(self, ip: str, port: int, backlog: int = 8,
                  options: dict[tuple[int, int], int | bytes] | None = None) -> Listener:
        """A TCP listener bound to `ip` (0.0.0.0 for every address, broadcast ones included);
        `options` are set before bind/listen."""
        sock = self._socket(socket.SOCK_STREAM, options)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))
        sock.listen(backlog)
        return Listener(sock)
