"""A burst is judged only when the SUT's own counters show that every stimulus arrived and every
answer it counted reached the tester."""

import pytest

from conformance.burst_counters import BurstCounters
from conformance.verdict import Inconclusive, NotApplicable

RECEIVED, ANSWERED, FAILED = ("snmp6", "Ip6.InReceives"), ("snmp6", "Icmp6.OutPktTooBigs"), ("snmp6", "Icmp6.OutErrors")


class Control:
    def __init__(self, *readings):
        self.readings = list(readings)  # (received, answered[, failed]) per read
        self.preconditions = []

    def counters(self, table):
        received, answered, *failed = self.readings.pop(0)
        return {"Ip6.InReceives": received, "Icmp6.OutPktTooBigs": answered, "Icmp6.OutErrors": failed[0] if failed else 0}


class NoCounters:
    def __init__(self):
        self.preconditions = []

    def counters(self, table):
        raise NotApplicable("the SUT's agent does not offer counters")


def test_every_stimulus_in_and_every_answer_out_lets_the_case_judge():
    BurstCounters(Control((10, 0), (111, 6)), RECEIVED, ANSWERED).check(100, "packets", 6, "Packet Too Bigs")


def test_a_burst_partly_lost_on_the_way_in_is_inconclusive():
    counters = BurstCounters(Control((10, 0), (62, 6)), RECEIVED, ANSWERED)
    with pytest.raises(Inconclusive, match=r"only 52 of the 100 packets reached the SUT \(Ip6.InReceives rose by 52\)"):
        counters.check(100, "packets", 6, "Packet Too Bigs")


def test_answers_lost_on_the_way_out_are_inconclusive():
    counters = BurstCounters(Control((10, 0), (110, 100)), RECEIVED, ANSWERED)
    with pytest.raises(Inconclusive, match="counted 100 Packet Too Bigs sent .Icmp6.OutPktTooBigs. but 58 reached the tester"):
        counters.check(100, "packets", 58, "Packet Too Bigs")


def test_answers_the_sut_failed_to_send_are_no_limit():
    counters = BurstCounters(Control((10, 0, 0), (110, 57, 43)), RECEIVED, ANSWERED, FAILED)
    with pytest.raises(Inconclusive, match=r"failed to send 43 of the Packet Too Bigs it tried to send \(Icmp6.OutErrors rose by 43\)"):
        counters.check(100, "packets", 57, "Packet Too Bigs")


def test_without_counters_the_count_stands_and_the_preconditions_say_it_is_unverified():
    control = NoCounters()
    BurstCounters(control, RECEIVED, ANSWERED).check(100, "packets", 3, "Packet Too Bigs")
    assert control.preconditions == ["not verified that all 100 packets reached the SUT: it offers no Ip6.InReceives counter"]
