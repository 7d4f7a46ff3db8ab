"""Case titles, as the report, JUnit and `conformance list` show them, keep their acronyms.

A title is written in @case(title=...) where the one derived from the function name would lose
them ("Rto is at least one second"); this test names every title that still does.
"""

import re

# Words that are acronyms (or written as the RFCs write them) wherever they stand in a title.
ACRONYMS = {
    "arp", "ip", "ipv4", "ipv6", "icmp", "icmpv6", "tcp", "udp", "sut", "rst", "syn", "ack", "fin", "psh", "urg",
    "mss", "ttl", "mtu", "pmtu", "df", "llc", "snap", "mac", "rto", "sack", "ecn", "isn", "rfc", "tos", "nop", "eol",
    "dscp", "lsrr", "ssrr", "ecmp", "rcv", "snd", "nxt", "una", "wnd", "vlan", "tun", "tap", "tcb", "tsval", "tsecr",
    "tsopt", "dupack", "ndp", "slaac", "dad", "mld", "msl",
}
STATES = ("syn received", "syn sent", "fin wait", "close wait", "time wait", "last ack")


def test_titles_keep_acronyms_and_state_names(repo):
    from conformance.cli import collect

    wrong = {}
    for entry in collect(repo / "cases"):
        title = entry.info.title
        words = re.findall(r"[A-Za-z][A-Za-z0-9]*", title)
        lost = [w for w in words if w.lower() in ACRONYMS and not (w.isupper() or w in ("IPv4", "IPv6", "ICMPv6",
                                                                                       "TSval", "TSecr", "TSopt"))]
        states = [s for s in STATES if s in title.lower() and s.upper().replace(" ", "-") not in title]
        glued = re.findall(r"(?i)\brfc\d+", title)
        if lost or states or glued or not title[:1].isupper():
            wrong[entry.info.id] = title
    assert wrong == {}, "write these titles with @case(title=...): " + "; ".join(f"{k}: {v!r}" for k, v in wrong.items())
