"""Matchers compare explicit fields only, and say which field differed."""

import pytest
from scapy.layers.inet import ICMP, IP, UDP, IPerror, IPOption_RR, UDPerror
from scapy.layers.l2 import ARP, Ether

from conformance.match import Predicate, at_least, closest, like, one_of

REPLY = Ether(src="02:00:00:00:01:01", dst="02:00:00:00:02:02") / ARP(
    op=2, hwsrc="02:00:00:00:01:01", psrc="198.18.0.1", hwdst="02:00:00:00:02:02", pdst="198.18.0.2"
)


def parsed(pkt):
    return Ether(bytes(pkt))


def test_explicit_fields_match_in_wire_form():
    assert like(ARP(op="is-at", psrc="198.18.0.1"))(parsed(REPLY))
    assert like(Ether(dst="02:00:00:00:02:02".upper()) / ARP(op=2))(parsed(REPLY))


def test_fields_left_out_are_dont_cares():
    assert like(ARP())(parsed(REPLY))
    assert like(Ether() / ARP(pdst="198.18.0.2"))(parsed(REPLY))


def test_mismatch_names_field_expected_and_observed():
    request = parsed(REPLY.copy())
    request[ARP].op = 1
    diffs = like(ARP(op="is-at", psrc="198.18.0.1")).mismatches(parsed(request))
    assert [d.field for d in diffs] == ["ARP.op"]
    assert "is-at" in diffs[0].expected and "2" in diffs[0].expected
    assert "who-has" in diffs[0].observed and "1" in diffs[0].observed
    assert str(diffs[0]).startswith("ARP.op: expected is-at")


def test_missing_layer_is_reported_once():
    echo = parsed(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="198.18.0.2", dst="198.18.0.1") / ICMP())
    diffs = like(ARP(op=2) / ICMP()).mismatches(echo)
    assert [(d.field, d.expected, d.observed) for d in diffs] == [("ARP", "present", "absent")]


def test_where_predicates_and_values():
    frame = parsed(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="198.18.0.2", dst="198.18.0.1", ttl=1) / ICMP())
    assert like(IP(), where={"IP.ttl": one_of(1, 2)})(frame)
    diffs = like(IP(), where={"IP.ttl": at_least(2)}).mismatches(frame)
    assert len(diffs) == 1 and diffs[0].field == "IP.ttl" and diffs[0].expected == ">= 2" and diffs[0].observed == "1"
    assert not like(IP(), where={"IP.ttl": 64})(frame)
    assert like(IP(), where={"IP.ttl": Predicate(lambda v: v % 2 == 1, "odd")})(frame)


def test_where_keys_must_name_layer_and_field():
    with pytest.raises(ValueError, match="Layer.field"):
        like(IP(), where={"ttl": 1})


def test_quoted_headers_inside_icmp_errors_are_reached_by_class():
    inner = IP(src="198.18.0.2", dst="198.18.0.1") / UDP(sport=1234, dport=9)
    error = parsed(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="198.18.0.1", dst="198.18.0.2")
                   / ICMP(type=3, code=3) / inner)
    assert like(IP(src="198.18.0.1") / ICMP(type="dest-unreach", code=3) / IPerror(dst="198.18.0.1") / UDPerror(dport=9))(error)
    diffs = like(ICMP() / IPerror() / UDPerror(dport=10)).mismatches(error)
    assert [d.field for d in diffs] == ["UDPerror.dport"]


def test_describe_reads_like_the_template():
    text = like(ARP(op="is-at", psrc="198.18.0.1"), where={"ARP.hwlen": 6}).describe()
    assert "ARP(op=is-at (2), psrc=198.18.0.1)" in text and "ARP.hwlen == 6" in text
    assert like(ARP(), name="the fence answer").describe() == "the fence answer"


def test_closest_prefers_fewest_differences():
    request = parsed(REPLY.copy())
    request[ARP].op = 1
    other = parsed(REPLY.copy())
    other[ARP].op = 1
    other[ARP].psrc = "198.18.0.9"
    best = closest(like(ARP(op=2, psrc="198.18.0.1")), [other, request])
    assert best is not None and best[0] is request and len(best[1]) == 1


def test_fields_a_layer_sets_on_its_own_are_not_constraints():
    with_options = parsed(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                          / IP(src="198.18.0.1", dst="198.18.0.2", options=[IPOption_RR(routers=["0.0.0.0"])]) / ICMP())
    assert like(IP(src="198.18.0.1") / ICMP())(with_options), "IP() carries options=[] by itself: not a constraint"
    assert "options" not in like(IP(src="198.18.0.1")).describe()
