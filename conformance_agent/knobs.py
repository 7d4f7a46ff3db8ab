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
    # IPv6 (RFC 8200, 4443, 8201) and Neighbor Discovery, SLAAC, MLD (RFC 4861, 4862, 3810).
    # Interface-wide switches take "all" (or "default", for interfaces made later) as interface.
    Knob("ipv6.forwarding", "net.ipv6.conf.{if}.forwarding", "0/1: forward IPv6 packets (all: every interface)", True),
    Knob("ipv6.disable", "net.ipv6.conf.{if}.disable_ipv6", "0/1: IPv6 off on the interface", True),
    Knob("ipv6.hop_limit", "net.ipv6.conf.{if}.hop_limit", "Hop Limit of packets the SUT originates", True),
    Knob("ipv6.mtu", "net.ipv6.conf.{if}.mtu", "the link MTU IPv6 uses on the interface", True),
    Knob("ipv6.accept_source_route", "net.ipv6.conf.{if}.accept_source_route",
         "-1 none, 0 type 2 only, 1 also type 0 routing headers", True),
    Knob("ipv6.frag_timeout_s", "net.ipv6.ip6frag_time", "seconds a reassembly waits for missing fragments"),
    Knob("ipv6.route_mtu_expires_s", "net.ipv6.route.mtu_expires", "seconds a learned path MTU is kept"),
    Knob("ipv6.auto_flowlabels", "net.ipv6.auto_flowlabels", "0-3: flow labels on packets the SUT originates"),
    Knob("ipv6.max_hbh_opts_number", "net.ipv6.max_hbh_opts_number", "options a Hop-by-Hop header may hold"),
    Knob("ipv6.max_dst_opts_number", "net.ipv6.max_dst_opts_number", "options a Destination Options header may hold"),
    Knob("icmpv6.ratelimit_ms", "net.ipv6.icmp.ratelimit", "minimum ms between rate-limited ICMPv6 messages to one host"),
    Knob("icmpv6.ratemask", "net.ipv6.icmp.ratemask", "the ICMPv6 types the rate limit applies to (a list of ranges)"),
    Knob("icmpv6.echo_ignore_all", "net.ipv6.icmp.echo_ignore_all", "0/1: ignore every ICMPv6 Echo Request"),
    Knob("icmpv6.echo_ignore_multicast", "net.ipv6.icmp.echo_ignore_multicast",
         "0/1: ignore Echo Requests to multicast addresses"),
    Knob("icmpv6.echo_ignore_anycast", "net.ipv6.icmp.echo_ignore_anycast", "0/1: ignore Echo Requests to anycast addresses"),
    Knob("ipv6.accept_ra", "net.ipv6.conf.{if}.accept_ra", "0 no, 1 yes (hosts), 2 also when forwarding: act on RAs", True),
    Knob("ipv6.accept_ra_defrtr", "net.ipv6.conf.{if}.accept_ra_defrtr", "0/1: learn default routers from RAs", True),
    Knob("ipv6.accept_ra_pinfo", "net.ipv6.conf.{if}.accept_ra_pinfo", "0/1: learn prefixes from RAs", True),
    Knob("ipv6.accept_ra_mtu", "net.ipv6.conf.{if}.accept_ra_mtu", "0/1: take the MTU option of RAs", True),
    Knob("ipv6.accept_redirects", "net.ipv6.conf.{if}.accept_redirects", "0/1: act on ICMPv6 Redirects", True),
    Knob("ipv6.autoconf", "net.ipv6.conf.{if}.autoconf", "0/1: form addresses from RA prefixes (SLAAC)", True),
    Knob("ipv6.accept_dad", "net.ipv6.conf.{if}.accept_dad", "0 no DAD, 1 DAD, 2 DAD and IPv6 off on a MAC clash", True),
    Knob("ipv6.dad_transmits", "net.ipv6.conf.{if}.dad_transmits", "Neighbor Solicitations sent for DAD", True),
    Knob("ipv6.optimistic_dad", "net.ipv6.conf.{if}.optimistic_dad", "0/1: Optimistic DAD (RFC 4429)", True),
    Knob("ipv6.enhanced_dad", "net.ipv6.conf.{if}.enhanced_dad", "0/1: the Nonce option of RFC 7527", True),
    Knob("ipv6.use_tempaddr", "net.ipv6.conf.{if}.use_tempaddr", "0 off, 1 make, 2 prefer temporary addresses", True),
    Knob("ipv6.temp_valid_lft_s", "net.ipv6.conf.{if}.temp_valid_lft", "valid lifetime of temporary addresses", True),
    Knob("ipv6.temp_prefered_lft_s", "net.ipv6.conf.{if}.temp_prefered_lft", "preferred lifetime of temporary addresses",
         True),
    Knob("ipv6.addr_gen_mode", "net.ipv6.conf.{if}.addr_gen_mode",
         "0 EUI-64, 1 none, 2 stable privacy, 3 random: interface identifiers", True),
    Knob("ipv6.max_addresses", "net.ipv6.conf.{if}.max_addresses", "autoconfigured addresses per interface", True),
    Knob("ipv6.router_solicitations", "net.ipv6.conf.{if}.router_solicitations", "RSs sent (-1: without end)", True),
    Knob("ipv6.router_solicitation_interval_s", "net.ipv6.conf.{if}.router_solicitation_interval",
         "seconds between RSs", True),
    Knob("ipv6.router_solicitation_delay_s", "net.ipv6.conf.{if}.router_solicitation_delay",
         "seconds before the first RS", True),
    Knob("ipv6.drop_unsolicited_na", "net.ipv6.conf.{if}.drop_unsolicited_na", "0/1: ignore unsolicited NAs", True),
    Knob("ipv6.ndisc_notify", "net.ipv6.conf.{if}.ndisc_notify", "0/1: unsolicited NAs on link changes", True),
    Knob("ipv6.force_mld_version", "net.ipv6.conf.{if}.force_mld_version", "0 any, 1 MLDv1, 2 MLDv2", True),
    Knob("ipv6.mldv2_unsolicited_report_interval_ms", "net.ipv6.conf.{if}.mldv2_unsolicited_report_interval",
         "ms between unsolicited MLDv2 Reports", True),
    Knob("ipv6.mldv1_unsolicited_report_interval_ms", "net.ipv6.conf.{if}.mldv1_unsolicited_report_interval",
         "ms between unsolicited MLDv1 Reports", True),
    Knob("ipv6.mld_qrv", "net.ipv6.mld_qrv", "the MLD Robustness Variable"),
    Knob("nd.retrans_time_ms", "net.ipv6.neigh.{if}.retrans_time_ms", "ms between Neighbor Solicitations", True),
    Knob("nd.base_reachable_time_ms", "net.ipv6.neigh.{if}.base_reachable_time_ms",
         "ms a confirmed neighbour stays REACHABLE (base value)", True),
    Knob("nd.delay_first_probe_s", "net.ipv6.neigh.{if}.delay_first_probe_time", "seconds in DELAY before probing", True),
    Knob("nd.ucast_solicit", "net.ipv6.neigh.{if}.ucast_solicit", "unicast probes before a neighbour fails", True),
    Knob("nd.mcast_solicit", "net.ipv6.neigh.{if}.mcast_solicit", "multicast solicitations before resolution fails",
         True),
    Knob("nd.app_solicit", "net.ipv6.neigh.{if}.app_solicit", "probes through a user-space daemon", True),
    Knob("nd.unres_qlen", "net.ipv6.neigh.{if}.unres_qlen", "packets queued while a neighbour resolves", True),
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
