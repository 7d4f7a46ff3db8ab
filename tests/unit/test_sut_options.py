"""SUT options: every bad description is one sentence; capabilities decide what applies."""

from types import SimpleNamespace

import pytest

from conformance.sut import ExternalSut, Link, NetnsSut, SutError, external_target
from conformance.sut_options import capability_target, target_from_options


def options(**kw):
    base = {"sut": "netns", "sut_profile": None, "sut_sysctl": [], "sut_command": None, "iface": None, "sut_ip": None,
            "sut_mac": None, "tester_ip": None, "sut_tcp_port": None, "sut_udp_port": None,
            "allow_addresses_outside_test_ranges": False, "allow_host_traffic_iface": False, "sut_file": None,
            "sut_restart": False}
    return SimpleNamespace(**(base | kw))


def test_default_is_the_local_kernel_with_pinned_sysctls():
    target = target_from_options(options())
    assert isinstance(target, NetnsSut)
    assert target.sysctls["net.ipv4.conf.all.rp_filter"] == 0
    assert target.missing(("control", "netns", "sockets", "second_segment")) is None


def test_profile_sysctls_come_after_the_pinned_defaults():
    target = target_from_options(options(sut_profile="router", sut_sysctl=["net.ipv4.conf.all.rp_filter=1"]))
    assert target.sysctls["net.ipv4.ip_forward"] == "1"
    assert target.sysctls["net.ipv4.conf.all.rp_filter"] == "1"
    node = target.node("sut", {"net.ipv4.ip_forward": 0})
    assert node.sysctls["net.ipv4.ip_forward"] == 0, "the topology's own sysctls come last"


@pytest.mark.parametrize(("kw", "sentence"), [
    ({"sut": "tap"}, "--sut tap needs --sut-ip"),
    ({"sut": "tap", "sut_ip": "nonsense"}, "--sut-ip 'nonsense' is not an IPv4 address"),
    ({"sut": "tap", "sut_ip": "224.0.0.1"}, "is not a unicast host address"),
    ({"sut": "tap", "sut_ip": "198.18.7.2"}, "needs --tester-ip"),
    ({"sut": "iface", "sut_ip": "198.18.7.2", "tester_ip": "198.18.7.3"}, "needs --iface NAME"),
    ({"sut": "iface", "iface": "x" * 20, "sut_ip": "198.18.7.2", "tester_ip": "198.18.7.3"}, "not a valid interface name"),
    ({"sut": "tap", "sut_ip": "198.18.7.2", "tester_ip": "198.18.7.2"}, "--tester-ip must differ"),
    ({"sut": "tap", "sut_ip": "198.18.7.2", "tester_ip": "198.18.7.3", "sut_mac": "01:00:5e:00:00:01"}, "not a unicast MAC"),
    ({"sut": "iface", "iface": "e0", "sut_ip": "198.18.7.2", "tester_ip": "198.18.7.3", "sut_command": "x"}, "--sut-command is for --sut tap only"),
    ({"sut": "tap", "sut_ip": "198.18.7.2", "tester_ip": "198.18.7.3", "sut_tcp_port": 70000}, "not a port number"),
    ({"sut": "tap", "sut_profile": "router"}, "does not reconfigure a tap SUT"),
    ({"sut_ip": "198.18.7.2"}, "--sut-ip is for --sut tap or --sut iface"),
    ({"sut": "tap", "sut_ip": "198.18.7.2", "sut_command": "foo 'unterminated"}, "cannot be split into words: No closing quotation"),
    ({"sut": "tap", "sut_ip": "198.18.7.2", "sut_command": "  "}, "--sut-command is empty"),
    ({"sut": "tap", "sut_ip": "10.0.2.15", "sut_command": "stack"}, "--sut-ip 10.0.2.15 is outside 198.18.0.0/15"),
    ({"sut": "iface", "iface": "e0", "sut_ip": "192.168.1.1", "tester_ip": "192.168.1.99"},
     "say so with --allow-addresses-outside-test-ranges"),
    ({"sut": "iface", "iface": "e0", "sut_ip": "198.18.7.2", "tester_ip": "192.168.1.99"}, "--tester-ip 192.168.1.99 is outside"),
    ({"sut": "tap", "sut_ip": "198.18.7.2", "sut_command": "x", "allow_host_traffic_iface": True}, "is for --sut iface only"),
])
def test_bad_descriptions_are_refused_with_one_sentence(kw, sentence):
    with pytest.raises(SutError, match=sentence.replace("(", r"\(")):
        target_from_options(options(**kw))


def test_tap_with_a_command_gets_a_default_tap_and_tester_address():
    target = external_target("tap", iface=None, sut_ip="198.18.7.2", tester_ip=None, command="stack {tap}")
    assert (target.iface, target.tester_ip) == ("cftap0", "198.18.7.3")


def test_external_capabilities_and_the_reason_a_case_is_skipped():
    target = ExternalSut("tap", (Link("lan", "t0", "198.18.7.2", "198.18.7.3"),), tcp_port=7)
    assert target.missing(("segment", "tcp_listener")) is None
    reason = target.missing(("segment", "control", "udp_listener"))
    assert reason == ("the tap SUT does not offer its state to the suite (sysctls, neighbour table, routes, counters); "
                      "nor a bound UDP port (--sut-udp-port)")
    assert capability_target(options(sut="iface")).missing(("netns",)).startswith("the iface SUT does not offer")


def test_sysctls_outside_the_network_namespace_are_refused():
    from conformance.profile import ProfileError

    with pytest.raises(ProfileError, match="kernel.printk_ratelimit is not a network-namespace sysctl"):
        target_from_options(options(sut_sysctl=["kernel.printk_ratelimit=6"]))


def test_addresses_outside_the_test_ranges_need_the_users_explicit_consent():
    target = target_from_options(options(sut="iface", iface="e0", sut_ip="192.168.1.1", tester_ip="192.168.1.99",
                                         allow_addresses_outside_test_ranges=True, allow_host_traffic_iface=True))
    assert (target.sut_ip, target.allow_host_traffic_iface) == ("192.168.1.1", True)
