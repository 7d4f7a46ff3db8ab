"""The pcapng writer round-trips, and Wireshark-compatible readers understand it."""

import pytest
from scapy.layers.inet import IP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import rdpcap

from conformance import pcap

FRAMES = [
    pcap.Packet(1_700_000_000_123_456_789, "tester", 1, "out", bytes(Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") / ARP()), "stimulus"),
    pcap.Packet(1_700_000_000_123_556_789, "tester", 1, "in", b"\x02" * 61),
    pcap.Packet(1_700_000_000_223_456_789, "tun", 101, "in", bytes(IP(src="198.18.0.1", dst="198.18.0.2"))),
]


def test_round_trip_keeps_time_port_direction_and_bytes(tmp_path):
    path = tmp_path / "case.pcapng"
    pcap.write(path, FRAMES)
    assert pcap.read(path) == FRAMES


def test_scapy_reads_it_with_one_interface_per_port(tmp_path):
    path = tmp_path / "case.pcapng"
    pcap.write(path, FRAMES)
    packets = rdpcap(str(path))
    assert len(packets) == 3
    assert packets[0].haslayer(ARP)
    assert packets[2].haslayer(IP) and not packets[2].haslayer(Ether)
    assert [p.direction for p in packets] == [2, 1, 1]


def test_truncated_file_is_an_error(tmp_path):
    path = tmp_path / "cut.pcapng"
    pcap.write(path, FRAMES)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        pcap.read(path)
