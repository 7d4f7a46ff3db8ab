"""Named knobs: the SUT settings cases change or judge, by portable names.

A knob has a name that says what it is in the protocol's terms, a unit, and whether it is set
per interface. The Linux agent maps each to its sysctl; an agent for another stack maps them to
its own configuration, or answers "unsupported" for those it does not have.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Knob:
    name: str
    linux: str  # the sysctl key; "{if}" is replaced by the interface (or "all"/"default")
    meaning: str
    per_interface: bool = False


KNOBS = {k.name: k for k in (
    Knob("ipv4.forwarding", "net.ipv4.ip_forward", "0/1: forward IPv4 datagrams not addressed to the SUT"),
    Knob("ipv4.default_ttl", "net.ipv4.ip_default_ttl", "TTL of datagrams the SUT originates"),
    Knob("ipv4.frag_timeout_s", "net.ipv4.ipfrag_time", "seconds a reassembly waits for missing fragments"),
    Knob("ipv4.route_mtu_expires_s", "net.ipv4.route.mtu_expires", "seconds a learned path MTU is kept"),
    Knob("ipv4.bc_forwarding", "net.ipv4.conf.{if}.bc_forwarding", "0/1: forward directed broadcasts", True),
    Knob("ipv4.rp_filter", "net.ipv4.conf.{if}.rp_filter", "0 off, 1 strict, 2 loose reverse-path filtering", True),
    Knob("ipv4.accept_source_route", "net.ipv4.conf.{if}.accept_source_route",
         "0/1: accept datagrams with source route options", True),
    Knob("ipv4.accept_redirects", "net.ipv4.conf.{if}.accept_redirects", "0/1: act on ICMP Redirects", True),
    Knob("ipv4.send_redirects", "net.ipv4.conf.{if}.send_redirects", "0/1: send ICMP Redirects", True),
    Knob("ipv4.proxy_arp", "net.ipv4.conf.{if}.proxy_arp", "0/1: answer ARP for addresses routed elsewhere", True),
    Knob("icmp.echo_ignore_broadcasts", "net.ipv4.icmp_echo_ignore_broadcasts",
         "0/1: ignore echo requests sent to broadcast addresses"),
    Knob("icmp.ratelimit_ms", "net.ipv4.icmp_ratelimit", "minimum ms between rate-limited ICMP errors to one host"),
    Knob("icmp.msgs_per_sec", "net.ipv4.icmp_msgs_per_sec", "ICMP messages the SUT sends per second, in all"),
    Knob("icmp.msgs_burst", "net.ipv4.icmp_msgs_burst", "burst of ICMP messages allowed above that rate"),
    Knob("arp.retrans_time_ms", "net.ipv4.neigh.{if}.retrans_time_ms", "ms between ARP request retransmissions", True),
    Knob("arp.base_reachable_time_ms", "net.ipv4.neigh.{if}.base_reachable_time_ms",
         "ms a confirmed neighbour stays REACHABLE (base value)", True),
    Knob("arp.delay_first_probe_s", "net.ipv4.neigh.{if}.delay_first_probe_time", "seconds in DELAY before probing", True),
    Knob("arp.ucast_solicit", "net.ipv4.neigh.{if}.ucast_solicit", "unicast probes before a neighbour fails", True),
    Knob("arp.mcast_solicit", "net.ipv4.neigh.{if}.mcast_solicit", "broadcast requests before resolution fails", True),
    Knob("arp.proxy_delay_cs", "net.ipv4.neigh.{if}.proxy_delay", "proxy ARP answer delay, in 1/100 s", True),
    Knob("tcp.rto_min_us", "net.ipv4.tcp_rto_min_us", "minimum TCP retransmission timeout, microseconds"),
    Knob("tcp.retries2", "net.ipv4.tcp_retries2", "retransmissions of data before a connection is given up"),
    Knob("tcp.syn_retries", "net.ipv4.tcp_syn_retries", "retransmissions of an active open's SYN"),
    Knob("tcp.synack_retries", "net.ipv4.tcp_synack_retries", "retransmissions of a SYN-ACK"),
    Knob("tcp.timestamps", "net.ipv4.tcp_timestamps", "0/1: offer the Timestamps option (RFC 7323)"),
    Knob("tcp.sack", "net.ipv4.tcp_sack", "0/1: offer SACK (RFC 2018)"),
    Knob("tcp.window_scaling", "net.ipv4.tcp_window_scaling", "0/1: offer window scaling (RFC 7323)"),
    Knob("tcp.challenge_ack_limit", "net.ipv4.tcp_challenge_ack_limit", "challenge ACKs per second (RFC 5961 7)"),
    Knob("tcp.invalid_ratelimit_ms", "net.ipv4.tcp_invalid_ratelimit", "ms between ACKs answering invalid segments"),
)}


def sysctl_of(name: str, interface: str | None) -> str:
    """The Linux sysctl key of knob `name` (on `interface`, where the knob is per interface)."""
    knob = KNOBS[name]
    if knob.per_interface:
        return knob.linux.replace("{if}", interface or "all")
    return knob.linux


def knob_of_sysctl(key: str) -> tuple[str, str | None] | None:
    """The knob a Linux sysctl key sets, and its interface: the suite's cases speak Linux's
    keys, and the client sends them as knobs where one exists, so any agent can serve them."""
    parts = key.split(".")
    for knob in KNOBS.values():
        pattern = knob.linux.split(".")
        if len(pattern) != len(parts):
            continue
        interface = None
        for want, got in zip(pattern, parts, strict=True):
            if want == "{if}":
                interface = got
            elif want != got:
                break
        else:
            return knob.name, interface
    return None
