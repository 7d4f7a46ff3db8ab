"""A snapshot of the root namespace's network state, to prove the suite leaves it untouched."""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from pyroute2 import IPRoute

OURS = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32"))
# Counters and caches that the kernel changes by itself while the machine runs (any process
# opening a file or forking moves them); every other readable sysctl must be left as it was.
VOLATILE_SYSCTLS = {
    "net.netfilter.nf_conntrack_count", "net.ipv4.tcp_fastopen_key", "net.core.netdev_rss_key",
    "fs.dentry-state", "fs.file-nr", "fs.inode-nr", "fs.inode-state", "fs.aio-nr", "kernel.ns_last_pid",
    "kernel.random.uuid", "kernel.random.entropy_avail", "kernel.pty.nr",
}


def _ours(addr: str | None) -> bool:
    if not addr:
        return False
    ip = ipaddress.ip_address(addr)
    return any(ip.version == n.version and ip in n for n in OURS)


def snapshot() -> dict[str, Any]:
    with IPRoute() as ipr:
        links = sorted((m.get_attr("IFLA_IFNAME"), m["index"], m.get_attr("IFLA_ADDRESS"), m.get_attr("IFLA_MTU")) for m in ipr.get_links())
        addrs = sorted((m["index"], m.get_attr("IFA_ADDRESS"), m["prefixlen"]) for m in ipr.get_addr())
        routes = sorted(
            (m["family"], m.get_attr("RTA_TABLE"), m.get_attr("RTA_DST") or "", m["dst_len"], m.get_attr("RTA_GATEWAY") or "",
             m.get_attr("RTA_OIF") or 0, m["type"])
            for m in ipr.get_routes(table=0) if m.get_attr("RTA_TABLE") != 255  # the local table follows addresses
        )
        rules = sorted((m["family"], m.get_attr("FRA_PRIORITY") or 0, m.get_attr("FRA_TABLE") or 0) for m in ipr.get_rules())
        neighbours = sorted((m["ifindex"], m.get_attr("NDA_DST")) for m in ipr.get_neighbours() if _ours(m.get_attr("NDA_DST")))
    return {"links": links, "addresses": addrs, "routes": routes, "rules": rules, "neighbours": neighbours, "sysctls": _sysctls()}


def _sysctls() -> dict[str, str]:
    """Every readable sysctl of the machine, not only net.*: a host-wide key (kernel.*, vm.*)
    that the suite wrote would show here."""
    out = {}
    for root, _dirs, files in os.walk("/proc/sys"):
        for name in files:
            path = os.path.join(root, name)
            key = path[len("/proc/sys/"):].replace("/", ".")
            if key in VOLATILE_SYSCTLS or key.startswith("fs.quota."):
                continue
            try:
                with open(path) as f:
                    out[key] = f.read()
            except OSError:
                continue
    return out


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    diffs = []
    for key in before:
        if key == "sysctls":
            changed = {k for k in before[key].keys() | after[key].keys() if before[key].get(k) != after[key].get(k)}
            diffs += [f"sysctl {k}: {before[key].get(k)!r} -> {after[key].get(k)!r}" for k in sorted(changed)]
        elif before[key] != after[key]:
            diffs.append(f"{key}: {sorted(set(before[key]) ^ set(after[key]))}")
    return diffs
