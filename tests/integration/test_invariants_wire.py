"""The invariant checks catch a SUT whose frames are wrong on the wire.

nftables in the SUT's namespace spoils what it sends after its stack has built it: the IPv4
header checksum of its ICMP messages (a whole run of an echo case must then FAIL, naming the
frame), or one data octet of its UDP datagrams (the UDP checksum no longer holds).
"""

import json
import subprocess
import sys

from scapy.layers.inet import UDP

from conformance import invariants
from conformance.match import like
from conformance.runs import run_command

SPOIL_ICMP_HEADER_CHECKSUM = ('add table netdev spoil; add chain netdev spoil out { type filter hook egress device "eth0" '
                              'priority 0; }; add rule netdev spoil out ip protocol icmp @nh,80,16 set 0xdead')
SPOIL_UDP_DATA = ('add table netdev spoil; add chain netdev spoil out { type filter hook egress device "eth0" '
                  'priority 0; }; add rule netdev spoil out udp sport 7400 @th,64,8 set 0x55')


def test_a_spoiled_udp_datagram_is_named_by_its_checksum(lan):
    code, out = run_command(lan.control.channel.ns, f"nft '{SPOIL_UDP_DATA}'")
    assert code == 0, out
    lan.app.udp(7400, connect=(lan.tester.ip, 7401)).send(b"the first octet is spoiled on the wire")
    lan.tester.expect(like(UDP(sport=7400, dport=7401)))
    violations = invariants.check(lan.tester.capture)
    assert [(v.port, v.field) for v in violations] == [("tester", "UDP.chksum")]
    assert "UDP 198.18.0.1:7400 > 198.18.0.2:7401" in violations[0].summary


def test_a_run_fails_an_echo_case_whose_replies_carry_a_wrong_header_checksum(tmp_path):
    rules = tmp_path / "spoil.nft"
    rules.write_text(SPOIL_ICMP_HEADER_CHECKSUM.replace("; ", "\n") + "\n")
    profile = tmp_path / "spoiled.toml"
    profile.write_text(f'commands = ["nft -f {rules}"]\n')
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(tmp_path / "reports"), "--sut-profile",
         str(profile), "--case", "ICMP-ECHO-MIRROR"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    [case] = results["cases"]
    assert case["outcome"] == "fail", proc.stdout[-3000:]
    assert "malformed frame" in case["message"], case["message"]
    assert "on tester: Ether / IP / ICMP 198.18.0.1 > 198.18.0.2 echo-reply" in case["longrepr"]
    assert "IP.chksum: expected" in case["longrepr"] and "found 0xdead" in case["longrepr"]
