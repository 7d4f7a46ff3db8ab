"""Positive controls of the silence checks that are not about forwarding.

Each case is run against a SUT whose mechanism under test is broken on purpose (nftables rules
or sysctls in its namespace, or a route it is told to use but does not): the control must turn
the case INCONCLUSIVE, where without it the case would have passed. Where a SUT can be made to
do the forbidden thing, the case must FAIL.
"""

import pytest

from cases.fragmentation import test_reassembly as reassembly
from cases.ipv4 import test_addresses as addresses
from cases.ipv4 import test_header as header
from cases.pmtu import test_host as pmtu_host
from cases.routing import test_lookup as lookup
from cases.routing import test_redirect as redirect
from cases.tcp import test_timer_keepalive as keepalive
from conformance.runs import run_command
from conformance.verdict import Inconclusive

INPUT_CHAIN = "add table inet broken; add chain inet broken input { type filter hook input priority 0; }"
OUTPUT_CHAIN = "add table inet broken; add chain inet broken output { type filter hook output priority 0; }"
PREROUTING = "add table ip wrong; add chain ip wrong pre { type filter hook prerouting priority -300; }"
NEAR_INGRESS = 'add table netdev broken; add chain netdev broken in { type filter hook ingress device "eth0" priority 0; }'


def nft(control, *commands: str) -> None:
    code, out = run_command(control.channel.ns, "nft '" + "; ".join(commands) + "'")
    assert code == 0, f"nft refused the rules: {out}"


def socket_closed(lan) -> None:
    """The SUT's UDP port 7400 receives nothing: the control datagram cannot be delivered."""
    nft(lan.control, INPUT_CHAIN, "add rule inet broken input udp dport 7400 drop")


@pytest.mark.parametrize("case", [
    addresses.test_source_loopback_from_the_wire_is_discarded,
    addresses.test_datagram_for_another_host_is_silently_discarded,
    addresses.test_datagram_to_group_not_joined_is_discarded,
], ids=["IP4-SRC-LOOPBACK", "IP4-DST-OTHER-HOST", "IP4-DST-MULTICAST-NOT-MEMBER"])
def test_not_delivered_is_inconclusive_when_the_socket_receives_nothing(lan, case):
    socket_closed(lan)
    with pytest.raises(Inconclusive, match="control datagram to UDP port 7400 on the SUT .* was not delivered"):
        case(lan)


def test_multicast_control_shows_group_reception_itself(lan):
    """Only datagrams to groups are dropped: the all-hosts control must fail, not a unicast one."""
    nft(lan.control, INPUT_CHAIN, "add rule inet broken input ip daddr 224.0.0.0/4 drop")
    with pytest.raises(Inconclusive, match=r"to 224\.0\.0\.1\), sent after the stimulus, was not delivered"):
        addresses.test_datagram_to_group_not_joined_is_discarded(lan)


def test_loopback_source_delivered_fails(lan):
    for scope in ("all", lan.sut.ifname):  # Linux then takes 127/8 sources from the wire as its own
        lan.control.set_sysctl(f"net.ipv4.conf.{scope}.route_localnet", 1)
        lan.control.set_sysctl(f"net.ipv4.conf.{scope}.accept_local", 1)
    with pytest.raises(AssertionError, match="the SUT's socket received 1 datagram"):
        addresses.test_source_loopback_from_the_wire_is_discarded(lan)


def test_datagram_for_another_host_delivered_fails(lan):
    nft(lan.control, PREROUTING, "add rule ip wrong pre ip daddr 198.18.0.77 ip daddr set 198.18.0.1")
    with pytest.raises(AssertionError, match="the SUT's socket received 1 datagram"):
        addresses.test_datagram_for_another_host_is_silently_discarded(lan)


def test_datagram_to_group_not_joined_delivered_fails(lan):
    nft(lan.control, PREROUTING, "add rule ip wrong pre ip daddr 239.1.1.1 ip daddr set 224.0.0.1")
    with pytest.raises(AssertionError, match="the SUT's socket received 1 datagram"):
        addresses.test_datagram_to_group_not_joined_is_discarded(lan)


def test_version_check_is_inconclusive_when_the_same_request_is_not_answered(lan):
    nft(lan.control, INPUT_CHAIN, "add rule inet broken input icmp type echo-request drop")
    with pytest.raises(Inconclusive, match="the same request with version 4"):
        header.test_version_other_than_4_is_silently_discarded(lan)


@pytest.mark.parametrize("field", ["identification", "protocol", "source"])
def test_fragment_key_check_is_inconclusive_without_reassembly(lan, field):
    nft(lan.control, NEAR_INGRESS, "add rule netdev broken in ip frag-off & 0x1fff != 0 drop")  # no fragment but the first
    with pytest.raises(Inconclusive, match="not shown to reassemble at all"):
        reassembly.test_fragments_of_different_datagrams_are_not_joined(lan, field)


@pytest.mark.parametrize("case", [
    pmtu_host.test_host_never_lowers_estimate_below_68,
    pmtu_host.test_path_mtu_is_kept_per_destination,
], ids=["PMTU-HOST-NEVER-BELOW-68", "PMTU-HOST-PER-DESTINATION"])
def test_pmtu_checks_are_inconclusive_when_datagram_too_big_is_ignored(lan, case):
    nft(lan.control, INPUT_CHAIN, "add rule inet broken input icmp type destination-unreachable icmp code frag-needed drop")
    with pytest.raises(Inconclusive, match="did not apply a valid Datagram Too Big"):
        case(lan)


def test_redirect_source_check_is_inconclusive_when_every_redirect_is_ignored(lan):
    for scope in ("all", lan.sut.ifname):
        lan.control.set_sysctl(f"net.ipv4.conf.{scope}.accept_redirects", 0)
    with pytest.raises(Inconclusive, match="did not follow the same Redirect from its gateway"):
        redirect.test_host_ignores_redirect_not_from_current_gateway(lan)


def test_flow_stickiness_is_inconclusive_on_a_router_that_uses_one_next_hop(multipath):
    """The SUT is told to use both next hops and installs only the first: every flow stays."""
    add_route = multipath.control.add_route

    def first_next_hop_only(dst, **kw):
        if "multipath" in kw:
            kw = {"gateway": kw.pop("multipath")[0]["gateway"], **kw}
        add_route(dst, **kw)

    multipath.control.add_route = first_next_hop_only
    with pytest.raises(Inconclusive, match="not shown to spread flows at all"):
        lookup.test_packets_of_one_flow_take_one_equal_cost_path(multipath)


@pytest.mark.parametrize("case", [
    keepalive.test_keepalive_is_off_by_default,
    keepalive.test_keepalive_interval_defaults_to_at_least_two_hours,
], ids=["TCP-TIMER-KEEPALIVE-OFF-BY-DEFAULT", "TCP-TIMER-KEEPALIVE-DEFAULT-2H"])
def test_keepalive_defaults_are_inconclusive_when_no_keepalive_is_ever_sent(lan, case):
    # Every bare ACK the SUT's listener port sends is dropped: keep-alives never leave it.
    nft(lan.control, OUTPUT_CHAIN, "add rule inet broken output tcp sport 8000 tcp flags == ack drop")
    with pytest.raises(Inconclusive, match="keep-alive"):
        case(lan)
