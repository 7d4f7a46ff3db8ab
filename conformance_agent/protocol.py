"""The wire format of the agent protocol (docs/agent.md): JSON lines, one request or response
per line, UTF-8. Bytes travel as base64 strings; socket options and ancillary data by name.

    request:  {"id": 7, "verb": "route_get", "args": {"dst": "198.18.2.2"}}
    response: {"id": 7, "ok": true, "result": {...}}
              {"id": 7, "ok": false, "error": {"kind": "unsupported", "message": "..."}}
"""

from __future__ import annotations

import base64
import errno
import json
import socket
from typing import Any

PROTOCOL_VERSION = 1

# Error kinds. "unsupported": the SUT does not offer the verb, knob or option (the case is
# skipped); "invalid": the request is malformed; "os": the system refused (errno given);
# "timeout": nothing happened within the request's timeout; "failed": anything else.
UNSUPPORTED, INVALID, OS, TIMEOUT, FAILED = "unsupported", "invalid", "os", "timeout", "failed"


class AgentError(Exception):
    """A request the agent could not carry out; `kind` is one of the error kinds above."""

    def __init__(self, kind: str, message: str, errno_name: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.errno_name = errno_name

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.errno_name:
            out["errno"] = self.errno_name
        return out

    @classmethod
    def from_os_error(cls, exc: OSError) -> AgentError:
        name = errno.errorcode.get(exc.errno or 0)
        return cls(OS, exc.strerror or str(exc), name)


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


def decode(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AgentError(INVALID, f"not a JSON line: {exc}") from None
    if not isinstance(message, dict):
        raise AgentError(INVALID, "a message must be a JSON object")
    return message


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise AgentError(INVALID, "bytes must be sent as base64") from None


# Socket option levels and names, by the names the sockets API gives them. Python's socket
# module lacks some of Linux's, so their Linux numbers are given here (uapi/linux/in.h, tcp.h).
_LINUX_EXTRA = {
    "IP_OPTIONS": 4, "IP_RECVOPTS": 6, "IP_RETOPTS": 7, "IP_PKTINFO": 8, "IP_MTU_DISCOVER": 10, "IP_RECVERR": 11,
    "IP_RECVTTL": 12, "IP_RECVTOS": 13, "IP_MTU": 14, "IP_FREEBIND": 15, "IP_PMTUDISC_DONT": 0, "IP_PMTUDISC_WANT": 1,
    "IP_PMTUDISC_DO": 2, "IP_PMTUDISC_PROBE": 3, "SO_NO_CHECK": 11, "TCP_QUICKACK": 12, "TCP_USER_TIMEOUT": 18,
    "TCP_INFO": 11, "SOL_IP": 0, "SOL_TCP": 6, "SOL_UDP": 17,
    # uapi/linux/in6.h
    "IPV6_FLOWINFO": 11, "IPV6_MTU_DISCOVER": 23, "IPV6_MTU": 24, "IPV6_RECVERR": 25, "IPV6_FLOWLABEL_MGR": 32,
    "IPV6_FLOWINFO_SEND": 33, "IPV6_AUTOFLOWLABEL": 70, "IPV6_RECVFRAGSIZE": 77, "IPV6_PMTUDISC_DONT": 0,
    "IPV6_PMTUDISC_WANT": 1, "IPV6_PMTUDISC_DO": 2, "IPV6_PMTUDISC_PROBE": 3, "SOL_IPV6": 41,
}
LEVELS = ("SOL_SOCKET", "SOL_IP", "IPPROTO_IP", "IPPROTO_TCP", "SOL_TCP", "IPPROTO_UDP", "SOL_UDP", "IPPROTO_IPV6",
          "SOL_IPV6")


def _names(prefixes: tuple[str, ...]) -> dict[str, int]:
    out = {k: v for k, v in _LINUX_EXTRA.items() if k.startswith(prefixes)}
    for name in dir(socket):
        if name.startswith(prefixes) and isinstance(getattr(socket, name), int):
            out.setdefault(name, getattr(socket, name))
    return out


OPTION_NAMES: dict[str, dict[str, int]] = {
    "SOL_SOCKET": _names(("SO_",)),
    "IP": _names(("IP_",)),
    "TCP": _names(("TCP_",)),
    "UDP": _names(("UDP_",)),
    "IPV6": _names(("IPV6_",)),
}
LEVEL_GROUP = {"SOL_SOCKET": "SOL_SOCKET", "SOL_IP": "IP", "IPPROTO_IP": "IP", "IPPROTO_TCP": "TCP", "SOL_TCP": "TCP",
               "IPPROTO_UDP": "UDP", "SOL_UDP": "UDP", "IPPROTO_IPV6": "IPV6", "SOL_IPV6": "IPV6"}
LEVEL_NUMBERS = {"SOL_SOCKET": socket.SOL_SOCKET, "IP": socket.IPPROTO_IP, "TCP": socket.IPPROTO_TCP,
                 "UDP": socket.IPPROTO_UDP, "IPV6": socket.IPPROTO_IPV6}
MSG_FLAGS = {name: getattr(socket, name) for name in dir(socket) if name.startswith("MSG_")}


def level_number(level: str) -> int:
    group = LEVEL_GROUP.get(level)
    if group is None:
        raise AgentError(UNSUPPORTED, f"socket option level {level} is not offered")
    return LEVEL_NUMBERS[group]


def option_number(level: str, name: str) -> int:
    group = LEVEL_GROUP.get(level)
    number = OPTION_NAMES.get(group or "", {}).get(name)
    if number is None:
        raise AgentError(UNSUPPORTED, f"socket option {level}/{name} is not offered")
    return number


def level_name(number: int) -> str:
    for name, value in LEVEL_NUMBERS.items():
        if value == number:
            return {"IP": "SOL_IP", "TCP": "IPPROTO_TCP", "UDP": "IPPROTO_UDP", "IPV6": "IPPROTO_IPV6"}.get(name, name)
    raise ValueError(f"unknown socket option level {number}")


def option_name(level: int, number: int, prefer: tuple[str, ...] = ()) -> str:
    """The name of option `number` at `level`; where two names share a number, the first one
    in `prefer` wins, else the shortest."""
    group = next(name for name, value in LEVEL_NUMBERS.items() if value == level)
    names = [k for k, v in OPTION_NAMES[group].items() if v == number]
    if not names:
        raise ValueError(f"unknown socket option {number} at level {level}")
    for p in prefer:
        if p in names:
            return p
    return sorted(names, key=len)[0]


def flag_names(flags: int) -> list[str]:
    out = []
    for name, bit in sorted(MSG_FLAGS.items(), key=lambda kv: kv[1]):
        if bit and flags & bit == bit and bit & (bit - 1) == 0:
            out.append(name)
            flags &= ~bit
    if flags:
        raise ValueError(f"unknown message flags {flags:#x}")
    return out


def flag_number(names: list[str]) -> int:
    out = 0
    for name in names:
        if name not in MSG_FLAGS:
            raise AgentError(UNSUPPORTED, f"message flag {name} is not offered")
        out |= MSG_FLAGS[name]
    return out
