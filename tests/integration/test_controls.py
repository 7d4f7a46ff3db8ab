"""Positive controls make the far-side "not forwarded" checks falsifiable.

Each such case is run against a SUT made wrong on purpose with nftables in its namespace:
- the forward path broken (every forwarded datagram dropped on the forward hook, once the
  topology's own control has crossed): the case must be INCONCLUSIVE, naming the path;
- a SUT that forwards the forbidden datagram anyway (copied from the near link onto the far
  link, or out of the tunnel onto the link): the case must FAIL.
And one whole run: with the drop rule in a SUT profile, every one of them is INCONCLUSIVE.
"""

import json
import subprocess
import sys

import pytest

from cases.ethernet import test_broadcast as ethernet_broadcast
from cases.routing import test_broadcast as routing_broadcast
from cases.routing import test_connected as connected
from cases.routing import test_martians as martians
from cases.routing import test_rpf as rpf
from cases.routing import test_ttl as ttl
from cases.tuntap import test_tun as tun
from conformance.runs import run_command
from conformance.verdict import Inconclusive
from conformance.wire import UnwantedFrame

ROUTED = {
    "RT-MARTIAN-SRC-LOOPBACK": martians.test_loopback_source_not_forwarded,
    "RT-MARTIAN-SRC-MULTICAST": martians.test_multicast_source_not_forwarded,
    "RT-MARTIAN-SRC-BROADCAST": martians.test_limited_broadcast_source_not_forwarded,
    "RT-MARTIAN-DST-LOOPBACK": martians.test_loopback_destination_not_forwarded,
    "RT-FWD-TTL1-NOT-FORWARDED": ttl.test_ttl_one_datagram_is_not_forwarded,
    "RT-FWD-TTL0-NOT-FORWARDED": ttl.test_ttl_zero_datagram_is_not_forwarded,
    "RT-HOST-NO-FORWARD": connected.test_no_forwarding_when_forwarding_is_off,
    "RT-RPF-STRICT": rpf.test_strict_rpf_discards_source_from_wrong_interface,
    "RT-LL-BCAST-NOT-FORWARDED": routing_broadcast.test_unicast_datagram_in_link_broadcast_is_not_forwarded,
    "ETH-RTR-NO-FORWARD-L2-BROADCAST": ethernet_broadcast.test_router_does_not_forward_unicast_datagram_from_broadcast_frame,
}
TUNTAP = {"TUN-HOST-NO-FORWARD": tun.test_host_does_not_forward_from_tunnel_to_link}

DROP_FORWARDED = "add table inet broken; add chain inet broken forward { type filter hook forward priority 0; policy drop; }"
COPY_NEAR_TO_FAR = ('add table netdev wrong; add chain netdev wrong near { type filter hook ingress device "eth0" priority 0; }; '
                    'add rule netdev wrong near ip protocol udp dup to "eth1"')
TUN_TO_LINK = ('add table netdev wrong; add chain netdev wrong tun { type filter hook ingress device "tun0" priority 0; }; '
               'add rule netdev wrong tun udp sport 47304 fwd ip to 198.18.0.2 device "eth0"')


def nft(control, ruleset: str) -> None:
    code, out = run_command(control.channel.ns, f"nft '{ruleset}'")
    assert code == 0, f"nft refused the rules: {out}"


@pytest.mark.parametrize("case", ROUTED.values(), ids=ROUTED.keys())
def test_a_broken_forward_path_makes_the_check_inconclusive(routed, case):
    nft(routed.control, DROP_FORWARDED)
    with pytest.raises(Inconclusive, match="control datagram tester -> SUT router -> far, sent after the stimulus"):
        case(routed)


@pytest.mark.parametrize("case", ROUTED.values(), ids=ROUTED.keys())
def test_a_router_that_forwards_anyway_fails(routed, case):
    nft(routed.control, COPY_NEAR_TO_FAR)
    with pytest.raises(UnwantedFrame, match="arrived on far"):
        case(routed)


def test_tunnel_host_check_is_inconclusive_without_a_path(tuntap):
    nft(tuntap.control, DROP_FORWARDED)
    with pytest.raises(Inconclusive, match="control datagram TUN -> SUT -> tester, sent before the stimulus, did not arrive on tester"):
        TUNTAP["TUN-HOST-NO-FORWARD"](tuntap)


def test_tunnel_host_that_forwards_anyway_fails(tuntap):
    nft(tuntap.control, TUN_TO_LINK)
    with pytest.raises(UnwantedFrame, match="arrived on tester"):
        TUNTAP["TUN-HOST-NO-FORWARD"](tuntap)


def test_a_whole_run_with_the_forward_path_broken_is_inconclusive_for_every_forwarding_check(tmp_path):
    profile = tmp_path / "broken-forwarding.toml"
    profile.write_text(f'description = "forwarded datagrams dropped"\ncommands = ["nft \'{DROP_FORWARDED}\'"]\n')
    ids = [*ROUTED, *TUNTAP]
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(tmp_path / "reports"), "--sut-profile",
         str(profile), *(arg for i in ids for arg in ("--case", i))],
        capture_output=True, text=True, timeout=300, check=False,
    )
    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    verdicts = {c["id"]: (c["outcome"], c["message"]) for c in results["cases"]}
    assert set(verdicts) == set(ids), proc.stdout[-3000:] + proc.stderr[-2000:]
    for case_id, (outcome, message) in verdicts.items():
        assert outcome == "inconclusive", f"{case_id}: {outcome} ({message})"
        assert "control datagram" in message and "did not arrive" in message, f"{case_id}: {message}"
