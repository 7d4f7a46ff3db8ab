"""Rate-limit cases count answers to a burst: a SUT whose NIC loses part of the burst, or part of
its answers, must make them INCONCLUSIVE (fewer answers would otherwise pass for a limit, or fail
a SUT that must answer every one), judged by the SUT's own counters. The loss is made on purpose
with nftables: at ingress, before the stack counts a packet (every other packet of each case's
burst), or at egress, after it counted an answer as sent (every other answer)."""

import json
import subprocess
import sys

BURST_CASES = ["ICMP-ERR-RATE-LIMIT", "ICMP-ERR-RATE-SETTABLE", "ICMP6-RATE-LIMIT", "ICMP6-RATE-LIMIT-PTB",
               "TCP-5961-ACK-THROTTLING"]
# The bursts' own packets only (the cases' UDP source ports, the RSTs), so handshakes and controls pass.
HALF_OF_EACH_BURST = (
    "for d in $(ls /sys/class/net | grep -v lo); do "
    "nft add table netdev lossy$d; "
    'nft add chain netdev lossy$d in \\"{ type filter hook ingress device $d priority 0; }\\"; '
    "nft add rule netdev lossy$d in udp sport '{ 41000-41099, 20000-20099 }' numgen inc mod 2 0 drop; "
    "nft add rule netdev lossy$d in tcp flags rst numgen inc mod 2 0 drop; done"
)


HALF_OF_THE_ANSWERS = (
    "for d in $(ls /sys/class/net | grep -v lo); do "
    "nft add table netdev lossy$d; "
    'nft add chain netdev lossy$d out \\"{ type filter hook egress device $d priority 0; }\\"; '
    "nft add rule netdev lossy$d out icmp type destination-unreachable numgen inc mod 2 0 drop; "
    "nft add rule netdev lossy$d out icmpv6 type '{ destination-unreachable, packet-too-big }' numgen inc mod 2 0 drop; "
    "nft add rule netdev lossy$d out tcp flags == ack numgen inc mod 2 0 drop; done"
)


def run_with(tmp_path, commands: str) -> dict[str, tuple[str, str]]:
    profile = tmp_path / "lossy-nic.toml"
    profile.write_text(f'description = "a NIC that loses packets"\ncommands = ["{commands}"]\n')
    subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--no-progress", "--report-dir", str(tmp_path / "reports"),
         "--sut-profile", str(profile), *(arg for case in BURST_CASES for arg in ("--case", case))],
        capture_output=True, text=True, timeout=300, check=False,
    )
    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    verdicts = {c["id"]: (c["outcome"], c["message"]) for c in results["cases"]}
    assert set(verdicts) == set(BURST_CASES)
    return verdicts


def test_a_burst_the_sut_only_half_received_is_inconclusive(tmp_path):
    for case, (outcome, message) in run_with(tmp_path, HALF_OF_EACH_BURST).items():
        assert outcome == "inconclusive", f"{case}: {outcome}: {message}"
        assert "of the burst reached the SUT" in message, f"{case}: {message}"


def test_answers_lost_on_the_way_out_are_inconclusive(tmp_path):
    for case, (outcome, message) in run_with(tmp_path, HALF_OF_THE_ANSWERS).items():
        assert outcome == "inconclusive", f"{case}: {outcome}: {message}"
        assert "reached the tester: the rest were lost on the way" in message, f"{case}: {message}"
