"""Anonymous network namespaces entered per thread.

A namespace is made with unshare(CLONE_NEWNET) on the calling thread and kept alive by an open
fd on /proc/thread-self/ns/net; the thread then returns to where it was. Nothing is mounted under
/run/netns, so a namespace vanishes with the last fd or process that holds it: a killed run
cannot leave one behind unless a child process it started is still inside (see runs.py).

Sockets created while a thread is inside a namespace stay in that namespace, which is how the
wire and the netlink handles are opened without forking a helper per call.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)
_local = threading.local()


class NamespaceError(OSError):
    """The kernel refused to create or enter a network namespace."""


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise NamespaceError(err, f"{what}: {os.strerror(err)}")


def _current_fd() -> int:
    return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


def _home_fd() -> int:
    """The namespace this thread started in; opened once per thread."""
    fd = getattr(_local, "home", None)
    if fd is None:
        fd = _current_fd()
        _local.home = fd
    return fd


def _setns(fd: int) -> None:
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


class Namespace:
    """One network namespace, held open by a file descriptor."""

    def __init__(self, name: str) -> None:
        self.name = name
        back = getattr(_local, "current", None)
        back_fd = back.fd if back is not None else _home_fd()
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        try:
            self.fd = _current_fd()
        finally:
            _setns(back_fd)
        self.inode = os.fstat(self.fd).st_ino

    @contextmanager
    def entered(self) -> Iterator[None]:
        """Run the block on this thread inside the namespace, then come back to where the thread
        was (blocks nest: leaving an inner one returns to the outer one's namespace)."""
        back = getattr(_local, "current", None)
        back_fd = back.fd if back is not None else _home_fd()
        _setns(self.fd)
        _local.current = self
        try:
            yield
        finally:
            _setns(back_fd)
            _local.current = back

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def read_sysctl(self, key: str) -> str:
        with self.entered(), open(_sysctl_path(key)) as f:
            return f.read().strip()

    def write_sysctl(self, key: str, value: str | int) -> None:
        with self.entered(), open(_sysctl_path(key), "w") as f:
            f.write(str(value))

    def read_proc_net(self, name: str) -> str:
        """A /proc/net table as this namespace sees it (e.g. 'arp', 'snmp')."""
        with self.entered(), open(f"/proc/thread-self/net/{name}") as f:
            return f.read()

    def __repr__(self) -> str:
        return f"<Namespace {self.name} net:[{self.inode}]>"


def _sysctl_path(key: str) -> str:
    if "/" in key or ".." in key:
        raise ValueError(f"not a sysctl key: {key!r}")
    return "/proc/sys/" + key.replace(".", "/")


def sysctl_key(path: str) -> str:
    return path.removeprefix("/proc/sys/").replace("/", ".")


def can_create_namespaces() -> str | None:
    """None if this process may build namespaces, else a sentence saying what is missing."""
    if not os.path.exists("/proc/thread-self/ns/net"):
        return "this kernel exposes no network namespaces (/proc/thread-self/ns/net is missing)"
    try:
        Namespace("probe").close()
    except NamespaceError as exc:
        return (
            f"creating a network namespace failed ({exc.strerror}): the suite needs root "
            "(CAP_SYS_ADMIN and CAP_NET_ADMIN); run it with sudo"
        )
    return None
