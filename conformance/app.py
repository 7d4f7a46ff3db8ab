"""Applications on the SUT: sockets the suite drives through the SUT's agent.

Transport cases need something on the SUT that listens, accepts, reads and writes. These
objects are proxies: every call is a request to the SUT's agent (in-process for the local
kernel, over a stream for any other SUT), and every call is bounded by a timeout, so a case
never hangs on the SUT's application. Sockets are closed when the case ends.

Socket options, levels and message flags are given as the local sockets API numbers them
(socket.SOL_SOCKET, socket.MSG_OOB, ...) and travel by name; ancillary data comes back in the
layout of Linux's structs, as the protocol defines it (docs/agent.md).
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from conformance.agent import Channel
from conformance_agent.protocol import (
    b64,
    flag_names,
    level_name,
    level_number,
    option_name,
    option_number,
    unb64,
)
from conformance_agent.system import TCP_STATES

__all__ = ["TCP_STATES", "Listener", "SutApps", "SutSocket", "TcpInfo"]

Options = dict[tuple[int, int], int | bytes]
SHUTDOWN = {socket.SHUT_RD: "read", socket.SHUT_WR: "write", socket.SHUT_RDWR: "both"}


@dataclass(frozen=True)
class TcpInfo:
    """The fields of the SUT's TCP control block that cases use as a second oracle."""

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
    def from_agent(cls, v: dict[str, int]) -> TcpInfo:
        return cls(
            state=TCP_STATES.get(v["state"], str(v["state"])), retransmits=v["retransmits"], backoff=v["backoff"],
            options=v["options"], snd_wscale=v["wscale"] & 0x0F, rcv_wscale=v["wscale"] >> 4, rto_us=v["rto"],
            snd_mss=v["snd_mss"], rcv_mss=v["rcv_mss"], unacked=v["unacked"], lost=v["lost"], retrans=v["retrans"],
            rtt_us=v["rtt"], snd_cwnd=v["snd_cwnd"], total_retrans=v["total_retrans"],
        )


def _option(level: int, option: int) -> tuple[str, str]:
    name = level_name(level)
    return name, option_name(level, option)


def _value(value: int | bytes) -> int | dict[str, str]:
    return {"b64": b64(value)} if isinstance(value, bytes | bytearray) else int(value)


def _options(options: Options | None) -> list[list[Any]]:
    return [[*_option(level, opt), _value(value)] for (level, opt), value in (options or {}).items()]


class SutSocket:
    """A socket on the SUT. Reads return what has arrived within `timeout`, never block forever."""

    def __init__(self, channel: Channel, handle: int, local: tuple[str, int]) -> None:
        self.channel = channel
        self.handle = handle
        self.local = local

    def _call(self, verb: str, **args: Any) -> Any:
        return self.channel.call(verb, handle=self.handle, **args)

    def recv(self, size: int = 65535, timeout: float = 1.0, flags: int = 0) -> bytes:
        """Data the application can read now, waiting up to `timeout` for the first byte;
        b'' at end of stream. Raises TimeoutError when nothing arrived. With MSG_OOB, the
        urgent octet (nothing is waited for)."""
        return unb64(self._call("recv", size=size, timeout=timeout, flags=flag_names(flags))["data"])

    def read(self, size: int, timeout: float = 1.0) -> bytes:
        """What the application reads until `size` octets came, the stream ended, or `timeout`
        passed without them: never more than that, and b'' if nothing arrived."""
        return unb64(self._call("read", size=size, timeout=timeout)["data"])

    def read_available(self, size: int = 65535) -> bytes:
        """Everything readable right now without waiting (b'' when nothing is)."""
        return unb64(self._call("read_available", size=size)["data"])

    def send(self, data: bytes, flags: int = 0) -> int:
        return int(self._call("send", data=b64(data), flags=flag_names(flags))["sent"])

    def sendto(self, data: bytes, addr: tuple[str, int], flags: int = 0) -> int:
        return int(self._call("sendto", data=b64(data), address=list(addr), flags=flag_names(flags))["sent"])

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        lvl, name = _option(level, option)
        self._call("setsockopt", level=lvl, name=name, value=_value(value))

    def getsockopt(self, level: int, option: int, size: int = 0) -> Any:
        lvl, name = _option(level, option)
        value = self._call("getsockopt", level=lvl, name=name, size=size)["value"]
        return unb64(value["b64"]) if isinstance(value, dict) else value

    def getsockname(self) -> tuple[str, int]:
        """The socket's local address and port as the SUT reports them now."""
        return tuple(self._call("sockname")["local"])  # type: ignore[return-value]

    def shutdown(self, how: int = socket.SHUT_WR) -> None:
        self._call("shutdown", how=SHUTDOWN[how])

    def close(self) -> None:
        """close(2) as the application does it: a FIN for an open connection."""
        self._call("close")

    def error(self) -> int:
        """The pending socket error (SO_ERROR), e.g. ECONNREFUSED or ECONNRESET; 0 if none."""
        name = self._call("socket_error")["errno"]
        return int(getattr(errno, name, 0)) if name else 0

    def tcp_info(self) -> TcpInfo:
        return TcpInfo.from_agent(self._call("tcp_info"))

    def recvmsg(self, size: int = 65535, ancbufsize: int = 1024, flags: int = 0,
                timeout: float = 1.0) -> tuple[bytes, list[tuple[int, int, bytes]], int, Any]:
        """recvmsg(2): data, ancillary items (level, type, bytes), flags and sender, waiting up
        to `timeout` for something readable (a pending error counts, for MSG_ERRQUEUE).
        Raises TimeoutError when nothing arrived."""
        r = self._call("recvmsg", size=size, ancbufsize=ancbufsize, flags=flag_names(flags), timeout=timeout)
        ancillary = []
        for lvl, name, raw in r["ancillary"]:
            ancillary.append((level_number(lvl), option_number(lvl, name), unb64(raw)))
        msg_flags = 0
        for name in r["flags"]:
            msg_flags |= getattr(socket, name, 0)
        address = tuple(r["address"]) if r["address"] else None
        return unb64(r["data"]), ancillary, msg_flags, address


class Listener(SutSocket):
    def accept(self, timeout: float = 1.0) -> SutSocket:
        r = self._call("accept", timeout=timeout)
        return SutSocket(self.channel, r["handle"], tuple(r["peer"]))  # type: ignore[arg-type]


class SutApps:
    """Opens sockets on the SUT through its agent and closes them all when the case ends."""

    def __init__(self, channel: Channel, ip: str) -> None:
        self.channel = channel
        self.ip = ip

    def listen(self, port: int, backlog: int = 8, options: Options | None = None) -> Listener:
        """A TCP listener on the SUT's address; `options` are set before bind/listen."""
        return self.listen_at(self.ip, port, backlog, options)

    def listen_at(self, ip: str, port: int, backlog: int = 8, options: Options | None = None) -> Listener:
        """A TCP listener bound to `ip` (0.0.0.0 for every address, broadcast ones included);
        `options` are set before bind/listen."""
        r = self.channel.call("tcp_listen", ip=ip, port=port, backlog=backlog, options=_options(options))
        return Listener(self.channel, r["handle"], tuple(r["local"]))  # type: ignore[arg-type]

    def connect(self, dst: str, port: int, src_port: int = 0, options: Options | None = None) -> SutSocket:
        """Start an active open from the SUT (non-blocking: returns at once in SYN-SENT)."""
        r = self.channel.call("tcp_connect", ip=dst, port=port, src_ip=self.ip, src_port=src_port,
                              options=_options(options))
        return SutSocket(self.channel, r["handle"], tuple(r["local"]))  # type: ignore[arg-type]

    def udp(self, port: int = 0, connect: tuple[str, int] | None = None) -> SutSocket:
        """A UDP socket on the SUT's address, connected to `connect` if given."""
        return self.udp_at(self.ip, port, connect)

    def udp_at(self, ip: str, port: int = 0, connect: tuple[str, int] | None = None,
               options: Options | None = None) -> SutSocket:
        """A UDP socket bound to `ip` (another of the SUT's addresses, or 0.0.0.0 for any);
        `options` are set before bind."""
        r = self.channel.call("udp_open", ip=ip, port=port, connect=list(connect) if connect else None,
                              options=_options(options))
        return SutSocket(self.channel, r["handle"], tuple(r["local"]))  # type: ignore[arg-type]

    def wait_until(self, predicate: Any, timeout: float = 1.0, what: str = "condition") -> None:
        """Poll a SUT-side condition (e.g. a TCP state) until it holds; for state the SUT changes
        after the frame that causes it has already been seen."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not hold within {timeout:g} s")
            time.sleep(0.0005)

    def close_all(self) -> None:
        """Every socket aborted (SO_LINGER 0): no FIN/RST exchange or TIME-WAIT to chase after
        the case."""
        self.channel.call("close_all")

    @contextmanager
    def session(self) -> Iterator[SutApps]:
        try:
            yield self
        finally:
            self.close_all()
