"""A SUT built from a profile, inside a topology that overrides one of its values: the SUT's
control reports the override as a precondition, and says so again when a case overrides one."""

from conformance.profile import Profile
from conformance.record import CaseRecord
from conformance.sut import NetnsSut
from conformance.topology import build
from fixtures.base import netns_sut
from fixtures.routed import routed_topology

PROFILE = Profile("test", sysctls={"net.ipv4.ip_forward": "0", "net.ipv4.icmp_ratelimit": "250"})


def test_a_router_topology_and_a_case_report_what_they_override():
    record = CaseRecord()
    with build(routed_topology(NetnsSut(profile=PROFILE))) as net, netns_sut(net, record, "198.18.1.1") as (control, _):
        assert control.sysctl("net.ipv4.ip_forward") == "1"  # the router topology's own value wins...
        assert record.preconditions == [  # ...and the report says so; icmp_ratelimit (kept as 252) is not an override
            "sysctl net.ipv4.ip_forward=1 (set by the topology; overrides the profile's net.ipv4.ip_forward=0)"
        ]
        control.set_sysctl("net.ipv4.icmp_ratelimit", 0)
        assert control.sysctl("net.ipv4.icmp_ratelimit") == "0"
        assert record.preconditions[-1] == ("sysctl net.ipv4.icmp_ratelimit=0 (overrides the profile's "
                                            "net.ipv4.icmp_ratelimit=250)")
