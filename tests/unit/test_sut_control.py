"""SutControl records, as a case's preconditions, every place where the SUT does not run with the
value its profile gives: a topology's own sysctl (a router's forwarding) or a case's set_sysctl."""

from __future__ import annotations

from conformance.profile import Profile
from conformance.sut import LINUX_MSL_S, NetnsSut, SutControl


class FakeNamespace:
    """The sysctls of a namespace, as a dict; keys it lacks raise as /proc/sys would."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)

    def read_sysctl(self, key: str) -> str:
        try:
            return self.values[key]
        except KeyError:
            raise FileNotFoundError(key) from None

    def write_sysctl(self, key: str, value: str | int) -> None:
        self.values[key] = str(value)


PROFILE = {"net.ipv4.ip_forward": "0", "net.ipv4.icmp_ratelimit": "250", "net.ipv4.tcp_rmem": "4096 131072 6291456"}


def control(topology: dict[str, str | int] | None = None, profile: dict[str, str] | None = PROFILE,
            live: dict[str, str] | None = None) -> tuple[SutControl, list[str]]:
    preconditions: list[str] = []
    ns = FakeNamespace(live if live is not None else {**(profile or {}), **{k: str(v) for k, v in (topology or {}).items()}})
    return SutControl(ns, None, preconditions, profile=profile, topology_sysctls=topology), preconditions  # type: ignore[arg-type]


def test_a_topology_value_that_differs_from_the_profile_is_reported():
    _, pre = control({"net.ipv4.ip_forward": 1, "net.ipv4.tcp_rmem": "4096\t131072\t6291456", "net.ipv4.ipfrag_time": 2})
    assert pre == ["sysctl net.ipv4.ip_forward=1 (set by the topology; overrides the profile's net.ipv4.ip_forward=0)"]


def test_a_topology_that_keeps_the_profile_reports_nothing():
    _, pre = control({"net.ipv4.ip_forward": 0})
    assert pre == []


def test_a_value_the_kernel_rounds_is_not_taken_for_an_override():
    # icmp_ratelimit is kept in jiffies: 250 reads back as 252 with HZ=250. Only what the
    # topology set counts, never a difference seen in the namespace.
    _, pre = control({}, live={**PROFILE, "net.ipv4.icmp_ratelimit": "252"})
    assert pre == []


def test_set_sysctl_says_when_it_overrides_the_profile():
    ctl, pre = control()
    ctl.set_sysctl("net.ipv4.icmp_ratelimit", 0)
    ctl.set_sysctl("net.ipv4.ip_forward", 0)  # the profile's own value: no override
    ctl.set_sysctl("net.ipv4.ipfrag_time", 2)  # not in the profile
    assert pre == [
        "sysctl net.ipv4.icmp_ratelimit=0 (overrides the profile's net.ipv4.icmp_ratelimit=250)",
        "sysctl net.ipv4.ip_forward=0",
        "sysctl net.ipv4.ipfrag_time=2",
    ]
    assert ctl.sysctl("net.ipv4.icmp_ratelimit") == "0"


def test_without_a_profile_set_sysctl_is_a_plain_precondition():
    ctl, pre = control({"net.ipv4.ip_forward": 1}, profile={})
    ctl.set_sysctl("net.ipv4.ip_forward", 0)
    assert pre == ["sysctl net.ipv4.ip_forward=0"]


def test_the_profile_defaults_to_that_of_the_sut_whose_node_was_built():
    profile = Profile("test", sysctls={"net.ipv4.ip_forward": "0"})
    NetnsSut(profile=profile).node("sut", {"net.ipv4.ip_forward": 1})
    ctl, pre = control(profile=None, live={"net.ipv4.ip_forward": "1"})
    assert ctl.profile == {"net.ipv4.ip_forward": "0"}
    assert pre == ["sysctl net.ipv4.ip_forward=1 (set by the topology; overrides the profile's net.ipv4.ip_forward=0)"]
    NetnsSut(profile=profile).node("sut")  # a topology that leaves the profile alone
    _, pre = control(profile=None, live={"net.ipv4.ip_forward": "0"})
    assert pre == []
    NetnsSut().node("sut", {"net.ipv4.ip_forward": 1})  # a SUT without a profile: nothing to compare against
    ctl, pre = control(profile=None, live={"net.ipv4.ip_forward": "1"})
    assert ctl.profile == {} and pre == []


def test_the_local_kernel_declares_its_msl():
    ctl, _ = control(profile={})
    assert ctl.msl_s == LINUX_MSL_S == 30.0  # TCP_TIMEWAIT_LEN 60 s = 2 x MSL
