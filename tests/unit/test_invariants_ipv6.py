"""The IPv6 invariants: Payload Length against the frame, TCP/UDP/ICMPv6 checksums over the IPv6
pseudo-header after extension headers, a UDP checksum of zero refused, and what the SUT may
legitimately send (a forwarded packet, padding, fragments, an MLD report behind a Hop-by-Hop
header) left alone."""

from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6MLReport2,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    RouterAlert,
    fragment6,
)
from scapy.layers.l2 import Ether

from conformance import invariants
from conformance.wire import LINKTYPE_RAW
from tests.unit.test_invariants import TESTER_MAC, FakePort, capture_of, found, from_sut, with_bytes

SUT6, TESTER6, FAR6 = "2001:db8::1", "2001:db8::2", "2001:db8:2::2"


def reply6(**ip):
    return IPv6(src=SUT6, dst=TESTER6, **ip) / ICMPv6EchoReply(id=7, seq=1, data=b"x" * 40)


def test_well_formed_ipv6_frames_pass():
    record = capture_of(
        from_sut(reply6()),
        from_sut(IPv6(src=SUT6, dst=TESTER6) / UDP(sport=1, dport=2) / b"data"),
        from_sut(IPv6(src=SUT6, dst=TESTER6) / TCP(sport=1, dport=2, flags="SA")),
        from_sut(IPv6(src="fe80::1", dst="ff02::16") / IPv6ExtHdrHopByHop(options=[RouterAlert()])
                 / ICMPv6MLReport2()),
        from_sut(IPv6(src=SUT6, dst=TESTER6) / IPv6ExtHdrDestOpt() / UDP(sport=1, dport=2) / b"after options"),
    )
    assert found(record) == []


def test_a_wrong_icmpv6_checksum_is_named():
    frame = from_sut(reply6())
    data = bytearray(bytes(frame[2]))
    data[14 + 40 + 2] ^= 0xFF
    record = capture_of((frame[0], frame[1], bytes(data)))
    [(name, _want, _got)] = found(record)
    assert name == "ICMPv6.cksum"


def test_the_pseudo_header_counts():
    """A checksum computed as IPv4 would (no pseudo-header) is wrong over IPv6."""
    segment = bytearray(bytes(UDP(sport=1, dport=2, chksum=0) / b"abc"))
    segment[6:8] = invariants.ones_complement_sum(bytes(segment)).to_bytes(2, "big")
    frame = Ether(src="02:00:00:00:01:01", dst=TESTER_MAC) / IPv6(src=SUT6, dst=TESTER6, nh=17) / bytes(segment)
    record = capture_of(("tester", "in", bytes(frame)))
    assert [f[0] for f in found(record)] == ["UDP.chksum"]


def test_a_zero_udp_checksum_is_never_right_over_ipv6():
    frame = from_sut(IPv6(src=SUT6, dst=TESTER6) / UDP(sport=1, dport=2, chksum=0) / b"none")
    [(name, want, got)] = found(capture_of(frame))
    assert name == "UDP.chksum" and got == "0x0000" and "not optional" in want


def test_payload_length_must_agree_with_the_frame():
    frame = from_sut(reply6())
    too_long = with_bytes(frame, 14 + 4, (200).to_bytes(2, "big"))
    assert [f[0] for f in found(capture_of(too_long))] == ["IPv6.plen"]
    short = with_bytes(frame, 14 + 4, (10).to_bytes(2, "big"))
    assert [f[0] for f in found(capture_of(short))] == ["IPv6.plen"]


def test_ethernet_padding_is_not_a_length_error():
    tiny = IPv6(src=SUT6, dst=TESTER6) / UDP(sport=1, dport=2)  # 48 octets, no padding needed
    frame = Ether(src="02:00:00:00:01:01", dst=TESTER_MAC) / IPv6(src=SUT6, dst=TESTER6, nh=59, plen=0)
    padded = bytes(frame) + b"\0" * 6  # 40 octets of IPv6 padded to Ethernet's 46
    assert found(capture_of(("tester", "in", padded))) == []
    assert found(capture_of(from_sut(tiny))) == []


def test_a_wrong_version_is_named():
    frame = with_bytes(from_sut(reply6()), 14, bytes([0x40]))
    assert ("IPv6.version", "6", "4") in found(capture_of(frame))


def test_a_forwarded_packet_keeps_the_testers_checksum():
    sent = IPv6(src=TESTER6, dst=FAR6, hlim=64) / UDP(sport=1, dport=2, chksum=0x1234) / b"as sent"
    forwarded = sent.copy()
    forwarded.hlim = 63
    record = capture_of(("tester", "out", Ether(src=TESTER_MAC) / sent),
                        ("tester", "in", Ether(src="02:00:00:00:01:01") / forwarded))
    assert found(record) == []
    made = IPv6(src=SUT6, dst=FAR6) / UDP(sport=1, dport=2, chksum=0x1234) / b"made here"
    assert [f[0] for f in found(capture_of(from_sut(made)))] == ["UDP.chksum"]


def test_fragments_are_judged_on_the_reassembled_packet():
    whole = IPv6(src=SUT6, dst=TESTER6) / IPv6ExtHdrFragment(id=9) / UDP(sport=1, dport=2) / (b"y" * 3000)
    parts = fragment6(whole, 1280)
    assert len(parts) == 3
    assert found(capture_of(*(from_sut(p) for p in parts))) == []
    bad = IPv6(src=SUT6, dst=TESTER6) / IPv6ExtHdrFragment(id=10) / UDP(sport=1, dport=2, chksum=0x4321) / (b"z" * 3000)
    broken = fragment6(bad, 1280)
    [violation] = invariants.check(capture_of(*(from_sut(p) for p in broken)).capture)
    assert violation.field == "UDP.chksum" and "over the 3 reassembled fragments" in violation.rule
    assert found(capture_of(*(from_sut(p) for p in broken[1:]))) == []  # incomplete: not judged


def test_raw_ipv6_on_a_tun_port():
    record = capture_of(("tun", "in", bytes(reply6())), ports=[FakePort("tun", LINKTYPE_RAW)])
    assert found(record) == []
    data = bytearray(bytes(reply6()))
    data[40 + 2] ^= 1
    record = capture_of(("tun", "in", bytes(data)), ports=[FakePort("tun", LINKTYPE_RAW)])
    assert [f[0] for f in found(record)] == ["ICMPv6.cksum"]
