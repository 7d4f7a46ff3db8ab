"""MLDv2 on a listening node (RFC 3810): the reports the SUT sends when an application joins or
leaves a group, and its answers to the queries of the link's querier (the tester). The group, a
transient link-scope ff12::db8:N of each case's own, is joined through the SUT's socket API
(IPV6_JOIN_GROUP).

Section 5 fixes every MLDv2 message's envelope with a MUST (link-local source, Hop Limit 1,
Router Alert); sections 6.1 and 6.2 state the host's actions in the indicative, read as MUST.
RFC 9777 (2025) obsoletes RFC 3810 with the same listener behaviour; the cases cite RFC 3810's
sections, which implementations and the IPv6 Ready tests still name, and list RFC 9777 beside it.
"""

import ipaddress

from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop, RouterAlert
from scapy.layers.l2 import Ether

from cases.mld.frames import (
    IS_EXCLUDE,
    MLDV2_ROUTERS,
    TO_EXCLUDE,
    TO_INCLUDE,
    fresh_group,
    join,
    leave,
    mld_records,
    query,
    records,
    report_with,
)
from cases.nd.frames import same_ip
from cases.nd.steps import positive_control, watch
from conformance.catalog import MUST, case

NEEDS = ("sockets", "sysctl")


def join_report(host, group):
    join(host, group)
    try:
        return host.tester.expect(report_with(group), timeout=2.0)
    except AssertionError as exc:
        raise AssertionError(f"RFC 3810 6.1: joining {group} changes the interface state, and a State Change Report is "
                             f"sent; none came ({exc})") from None


def current_state_report(host, group, mrd_ms=100, queried="::"):
    """Join `group`, then a query (general, or for `queried`); the report answering it (a record
    of type IS_EXCLUDE for the group)."""
    join(host, group)
    host.tester.expect(report_with(group, TO_EXCLUDE), timeout=2.0)
    host.tester.send(query(queried, mrd_ms=mrd_ms))
    sent_ns = host.tester.capture.frames[-1].t_ns  # the query, stamped as it left
    report = host.tester.expect(report_with(group, IS_EXCLUDE), timeout=mrd_ms / 1000 + 1.0)
    arrived_ns = next(f.t_ns for f in host.tester.capture.frames if f.packet is report)  # the kernel's receive stamp
    return report, (arrived_ns - sent_ns) / 1e9


@case("MLD-REPORT-ON-JOIN", rfc=3810, also=(9777,), section="6.1", level=MUST, layer=3, needs=NEEDS)
def test_join_sends_report(nd_host):
    """An application joining a group makes the node send a report with a record for the group."""
    group = fresh_group()
    join_report(nd_host, group)


@case("MLD-REPORT-DESTINATION", rfc=3810, also=(9777,), section="5.2.14", level=MUST, layer=3, needs=NEEDS)
def test_report_goes_to_all_mldv2_routers(nd_host):
    """Version 2 reports are sent to FF02::16 (all MLDv2-capable routers)."""
    group = fresh_group()
    report = join_report(nd_host, group)
    assert same_ip(report[IPv6].dst, MLDV2_ROUTERS), f"RFC 3810 5.2.14: the destination is ff02::16; it was {report[IPv6].dst}"
    assert report[Ether].dst == "33:33:00:00:00:16", f"ff02::16 maps to 33:33:00:00:00:16; the frame went to {report[Ether].dst}"


@case("MLD-HOP-LIMIT-ONE", rfc=3810, also=(9777,), section="5", level=MUST, layer=3, needs=NEEDS)
def test_report_hop_limit_one(nd_host):
    """MLDv2 messages are sent with IPv6 Hop Limit 1."""
    group = fresh_group()
    report = join_report(nd_host, group)
    assert report[IPv6].hlim == 1, f"RFC 3810 5: an IPv6 Hop Limit of 1; it was {report[IPv6].hlim}"


@case("MLD-ROUTER-ALERT", rfc=3810, also=(9777,), section="5", level=MUST, layer=3, needs=NEEDS)
def test_report_carries_router_alert(nd_host):
    """MLDv2 messages carry an IPv6 Router Alert option in a Hop-by-Hop Options header."""
    group = fresh_group()
    report = join_report(nd_host, group)
    assert IPv6ExtHdrHopByHop in report, "RFC 3810 5: a Hop-by-Hop Options header; there was none"
    alerts = [o for o in report[IPv6ExtHdrHopByHop].options if isinstance(o, RouterAlert)]
    assert alerts and alerts[0].value == 0, (
        f"RFC 3810 5: a Router Alert option (value 0, MLD) in it; the options were {report[IPv6ExtHdrHopByHop].options}")


@case("MLD-LINK-LOCAL-SOURCE", rfc=3810, also=(9777,), section="5", level=MUST, layer=3, needs=NEEDS)
def test_report_from_link_local_source(nd_host):
    """MLDv2 messages are sent from a link-local address (the SUT's is valid here)."""
    group = fresh_group()
    report = join_report(nd_host, group)
    assert same_ip(report[IPv6].src, nd_host.sut.ll), (
        f"RFC 3810 5: a link-local source, {nd_host.sut.ll}; it was {report[IPv6].src}")


@case("MLD-JOIN-TO-EXCLUDE", rfc=3810, also=(9777,), section="6.1", level=MUST, layer=3, needs=NEEDS)
def test_join_record_is_change_to_exclude(nd_host):
    """Joining a group for any source (INCLUDE {} to EXCLUDE {}) is reported with a
    CHANGE_TO_EXCLUDE_MODE record with no sources."""
    group = fresh_group()
    report = join_report(nd_host, group)
    mine = [r for r in mld_records(report) if same_ip(r.dst, group)]
    assert mine[0].rtype == TO_EXCLUDE and not mine[0].sources, (
        f"RFC 3810 6.1: a CHANGE_TO_EXCLUDE_MODE ({TO_EXCLUDE}) record with no sources; it was type {mine[0].rtype} with "
        f"sources {mine[0].sources}")


@case("MLD-LEAVE-TO-INCLUDE", rfc=3810, also=(9777,), section="6.1", level=MUST, layer=3, needs=NEEDS)
def test_leave_record_is_change_to_include(nd_host):
    """Leaving the group (EXCLUDE {} to INCLUDE {}) is reported with a CHANGE_TO_INCLUDE_MODE
    record with no sources."""
    group = fresh_group()
    sock = join(nd_host, group)
    nd_host.tester.expect(report_with(group, TO_EXCLUDE), timeout=2.0)
    leave(nd_host, sock, group)
    report = nd_host.tester.expect(report_with(group, TO_INCLUDE), timeout=2.0)
    mine = [r for r in mld_records(report) if same_ip(r.dst, group)]
    assert not mine[0].sources, f"RFC 3810 6.1: TO_IN with no sources; it listed {mine[0].sources}"


@case("MLD-REPORT-RETRANSMITTED", rfc=3810, also=(9777,), section="6.1", level=MUST, layer=3, needs=NEEDS,
      waits="the Unsolicited Report Interval (shortened to 200 ms) for the retransmissions")
def test_state_change_report_is_retransmitted(nd_host):
    """A State Change Report is retransmitted ([Robustness Variable] - 1 more times; the Robustness
    Variable is at least 2), the first retransmission within the Unsolicited Report Interval.

    Only the first retransmission is judged: how many follow depends on the Robustness Variable
    the SUT runs with (Linux 6.18 was seen sending three reports in all, the third one later
    than the interval; that is not judged here)."""
    group = fresh_group()
    nd_host.control.set_sysctl(nd_host.conf_prefix + "mldv2_unsolicited_report_interval", 200)
    join(nd_host, group)
    first = nd_host.tester.expect(report_with(group, TO_EXCLUDE), timeout=2.0)
    watch(nd_host.tester, 0.6)
    times = [f.t_ns for f in nd_host.tester.capture.frames
             if f.direction == "in" and (f.packet is first or (not f.consumed and report_with(group, TO_EXCLUDE)(f.packet)))]
    assert len(times) >= 2, "RFC 3810 6.1: the State Change Report is retransmitted to cover its loss; it was sent once"
    gap = (times[1] - times[0]) / 1e6
    assert gap <= 200 + 20, (
        f"RFC 3810 6.1: the retransmission comes at a random interval in (0, Unsolicited Report Interval = 200 ms); "
        f"it came after {gap:.0f} ms")


@case("MLD-GENERAL-QUERY-ANSWERED", rfc=3810, also=(9777,), section="6.2", level=MUST, layer=3, needs=NEEDS)
def test_general_query_answered_with_current_state(nd_host):
    """A General Query is answered with a Current State Report: a MODE_IS_EXCLUDE record for the
    group the application listens to."""
    group = fresh_group()
    current_state_report(nd_host, group)


@case("MLD-RESPONSE-WITHIN-MAX-DELAY", rfc=3810, also=(9777,), section="6.2", level=MUST, layer=3, needs=NEEDS)
def test_response_within_maximum_response_delay(nd_host):
    """The answer to a query comes within the query's Maximum Response Delay (here 300 ms)."""
    group = fresh_group()
    _, delay = current_state_report(nd_host, group, mrd_ms=300)
    assert delay <= 0.3 + 0.05, f"RFC 3810 6.2: the response is delayed at most the Maximum Response Delay (300 ms); it took {delay * 1000:.0f} ms"


@case("MLD-GROUP-QUERY-ANSWERED", rfc=3810, also=(9777,), section="6.2", level=MUST, layer=3, needs=NEEDS)
def test_group_specific_query_answered_for_that_group(nd_host):
    """A Multicast Address Specific Query is answered with a report on that group alone."""
    group = fresh_group()
    report, _ = current_state_report(nd_host, group, queried=group)
    others = [(t, g) for t, g in records(report) if ipaddress.IPv6Address(g) != ipaddress.IPv6Address(group)]
    assert not others, f"RFC 3810 6.2: the answer reports on {group} only; it also held {others}"


@case("MLD-ALL-NODES-NOT-REPORTED", rfc=3810, also=(9777,), section="6", level=MUST, layer=3, needs=NEEDS)
def test_all_nodes_group_never_reported(nd_host):
    """No MLD message is ever sent about the link-scope all-nodes address FF02::1: the Current
    State Report leaves it out."""
    group = fresh_group()
    report, _ = current_state_report(nd_host, group)
    listed = [g for _, g in records(report)]
    assert not any(ipaddress.IPv6Address(g) == ipaddress.IPv6Address("ff02::1") for g in listed), (
        f"RFC 3810 6: no MLD messages are ever sent regarding ff02::1; the report listed {listed}")


@case("MLD-QUERY-NON-LINK-LOCAL-DISCARDED", rfc=3810, also=(9777,), section="5.1.14", level=MUST, layer=3, needs=NEEDS,
      waits="the query's Maximum Response Delay (100 ms) and a margin, watched for silence")
def test_query_from_global_source_is_discarded(nd_host):
    """A query whose source is not a link-local address is silently discarded; the same query
    from a link-local address is answered (the positive control)."""
    group = fresh_group()
    join(nd_host, group)
    nd_host.tester.expect(report_with(group, TO_EXCLUDE), timeout=2.0)
    nd_host.tester.send(query(mrd_ms=100, src="2001:db8:1::fe"))
    watch(nd_host.tester, 0.4)
    answers = [f for f in nd_host.tester.arrived() if report_with(group, IS_EXCLUDE)(f.packet)]
    assert not answers, "RFC 3810 5.1.14: a query from a non-link-local source MUST be silently discarded; it was answered"
    nd_host.tester.send(query(mrd_ms=100))
    positive_control("the same query from a link-local source is answered",
                     lambda: nd_host.tester.expect(report_with(group, IS_EXCLUDE), timeout=1.5))
