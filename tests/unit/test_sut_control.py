"""SutControl records, as a case's preconditions, every place where the SUT does not run with the
value its profile gives (a topology's own sysctl, a case's set_sysctl), and speaks to the agent in
portable knobs wherever a Linux key has one."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.agent import Channel, Unsupported
from conformance.control import LINUX_MSL_S, SutControl, profile_overrides
from conformance.profile import Profile
from conformance.sut import NetnsSut
from conformance_agent.protocol import UNSUPPORTED


class FakeChannel(Channel):
    """An agent that keeps knobs and raw sysctls in dicts and records every request."""

    def __init__(self, knobs: dict[str, str] | None = None, hello: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.knobs = dict(knobs or {})
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.hello = hello or {}

    def _exchange(self, request: dict[str, Any]) -> dict[str, Any]:
        verb, args = request["verb"], request["args"]
        self.requests.append((verb, args))
        if verb == "knob_set":
            self.knobs[f"{args['name']}@{args['interface']}"] = args["value"]
            return {"ok": True, "result": None}
        if verb == "knob_get":
            return {"ok": True, "result": {"value": self.knobs[f"{args['name']}@{args['interface']}"]}}
        return {"ok": False, "error": {"kind": UNSUPPORTED, "message": f"no {verb} here"}}


PROFILE = {"net.ipv4.ip_forward": "0", "net.ipv4.icmp_ratelimit": "250", "net.ipv4.tcp_rmem": "4096 131072 6291456"}


def control(overrides: dict[str, str] | None = None, profile: dict[str, str] | None = PROFILE) -> tuple[SutControl, list[str], FakeChannel]:
    preconditions: list[str] = []
    channel = FakeChannel()
    return SutControl(channel, preconditions, profile=profile, topology_overrides=overrides), preconditions, channel


def test_a_topology_value_that_differs_from_the_profile_is_reported():
    node = NetnsSut(profile=Profile("p", sysctls=PROFILE)).node(
        "sut", {"net.ipv4.ip_forward": 1, "net.ipv4.tcp_rmem": "4096\t131072\t6291456", "net.ipv4.ipfrag_time": 2})
    overrides = profile_overrides(node.sysctls, node.profile)
    assert overrides == {"net.ipv4.ip_forward": "1"}, "the same value written otherwise is no override"
    _, pre, _ = control(overrides)
    assert pre == ["sysctl net.ipv4.ip_forward=1 (set by the topology; overrides the profile's net.ipv4.ip_forward=0)"]


def test_a_topology_that_keeps_the_profile_reports_nothing():
    node = NetnsSut(profile=Profile("p", sysctls=PROFILE)).node("sut", {"net.ipv4.ip_forward": 0})
    assert profile_overrides(node.sysctls, node.profile) == {}
    assert NetnsSut().node("sut", {"net.ipv4.ip_forward": 1}).profile == {}, "no profile, nothing to override"


def test_set_sysctl_says_when_it_overrides_the_profile_and_travels_as_a_knob():
    ctl, pre, channel = control()
    ctl.set_sysctl("net.ipv4.icmp_ratelimit", 0)
    ctl.set_sysctl("net.ipv4.ip_forward", 0)  # the profile's own value: no override
    ctl.set_sysctl("net.ipv4.neigh.eth0.retrans_time_ms", 100)  # not in the profile
    assert pre == [
        "sysctl net.ipv4.icmp_ratelimit=0 (overrides the profile's net.ipv4.icmp_ratelimit=250)",
        "sysctl net.ipv4.ip_forward=0",
        "sysctl net.ipv4.neigh.eth0.retrans_time_ms=100",
    ]
    assert channel.requests[-1] == ("knob_set", {"name": "arp.retrans_time_ms", "interface": "eth0", "value": "100"})
    assert ctl.sysctl("net.ipv4.icmp_ratelimit") == "0"


def test_a_key_without_a_knob_is_asked_for_raw_and_an_agent_without_it_skips():
    ctl, _, channel = control()
    with pytest.raises(Unsupported, match="the SUT does not offer this: no sysctl_set here"):
        ctl.set_sysctl("net.ipv4.tcp_mtu_probing", 1)
    assert channel.requests[-1][0] == "sysctl_set"


def test_the_msl_is_what_the_sut_declares():
    assert control()[0].msl_s == LINUX_MSL_S == 30.0  # TCP_TIMEWAIT_LEN 60 s = 2 x MSL
    declared = SutControl(FakeChannel(hello={"tcp_msl_s": 120}), [])
    assert declared.msl_s == 120.0
