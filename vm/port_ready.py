"""Inside the VM: wait until the agent's virtio-serial port can be used, then exit 0.

    python3 -S port_ready.py [--link-only] org.conformance.agent

Two things must hold before the agent starts (--link-only: the first alone):
1. The port exists and /dev/virtio-ports/<name> points at it (udev's job on a full system; here
   the name is read from sysfs). The port appears a moment after virtio_console is loaded:
   wait for the kernel's uevent rather than sleeping.
2. The host side is connected (a client holds the -chardev socket). While it is not, a read on
   the port returns end-of-file at once, so an agent that exits on end-of-file would be restarted
   in a busy loop. The port must not be opened to find out: the kernel discards what the host
   already sent when the port is closed again, and the first request would be lost. debugfs
   shows the host's state without opening the port; it has no event to wait on, so it is read
   every 50 ms, only while the host is away.
"""

from __future__ import annotations

import os
import socket
import sys
import time

NETLINK_KOBJECT_UEVENT = 15
PORTS = "/sys/class/virtio-ports"
LINKS = "/dev/virtio-ports"
DEBUGFS = "/sys/kernel/debug/virtio-ports"
HOST_POLL = 0.05


def find_port(name: str) -> str | None:
    for device in sorted(os.listdir(PORTS)) if os.path.isdir(PORTS) else ():
        try:
            with open(f"{PORTS}/{device}/name") as f:
                if f.read().strip() == name:
                    return device
        except OSError:
            continue
    return None


def wait_for_port(name: str) -> str:
    """The port's device name (e.g. vport1p1), once it exists; links /dev/virtio-ports/<name>."""
    events = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_KOBJECT_UEVENT)
    events.bind((0, 1))  # armed before looking, so an event between the look and the wait is kept
    try:
        device = find_port(name)
        while device is None or not os.path.exists(f"/dev/{device}"):
            events.recv(65536)  # any uevent: look again (the name arrives as a 'change' event)
            device = find_port(name)
    finally:
        events.close()
    os.makedirs(LINKS, exist_ok=True)
    link = f"{LINKS}/{name}"
    if not os.path.islink(link) or os.readlink(link) != f"../{device}":
        tmp = f"{link}.new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(f"../{device}", tmp)
        os.replace(tmp, link)
    return device


def wait_for_host(device: str) -> None:
    state = f"{DEBUGFS}/{device}"
    if not os.path.exists(state):
        return  # no debugfs: the agent starts at once, and init throttles its restarts
    while True:
        with open(state) as f:
            if "host_connected: 1" in f.read():
                return
        time.sleep(HOST_POLL)


if __name__ == "__main__":
    link_only = sys.argv[1:2] == ["--link-only"]
    names = sys.argv[2:] if link_only else sys.argv[1:]
    if len(names) != 1:
        sys.exit("usage: python3 port_ready.py [--link-only] PORT-NAME")
    device = wait_for_port(names[0])
    if not link_only:
        wait_for_host(device)
