"""The invariants every SUT frame keeps: each rule catches its broken frame and names it, and
nothing the SUT may legitimately send (a forwarded datagram with the tester's checksum, a UDP
checksum of zero, Ethernet padding, a fragment) is held against it."""

from dataclasses import dataclass

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.l2 import Ether

from conformance import invariants
from conformance.catalog import MUST, case
from conformance.record import CAPTURE_KEY, CaseRecord
from conformance.verdict import Inconclusive
from conformance.wire import LINKTYPE_ETHERNET, LINKTYPE_RAW, Frame

SUT_MAC, TESTER_MAC, OTHER_MAC = "02:00:00:00:01:01", "02:00:00:00:02:02", "02:00:00:00:09:09"
SUT, TESTER = "198.18.0.1", "198.18.0.2"


@dataclass
class FakePort:
    name: str = "tester"
    linktype: int = LINKTYPE_ETHERNET
    sut_link: bool = True
    sut_mac: str | None = SUT_MAC

    def poll(self, timeout: float) -> bool:
        return False


def capture_of(*frames, ports=None):
    record = CaseRecord()
    record.capture.ports.extend(ports or [FakePort()])
    for i, (port, direction, data) in enumerate(frames):
        record.capture.add(Frame(record.capture.started_ns + (i + 1) * 1_000_000, port, direction, bytes(data)))
    return record


def from_sut(ip_layers, src_mac=SUT_MAC):
    return "tester", "in", Ether(src=src_mac, dst=TESTER_MAC) / ip_layers


def found(record):
    return [(v.field, v.expected, v.found) for v in invariants.check(record.capture)]


def echo_reply(**ip):
    return IP(src=SUT, dst=TESTER, **ip) / ICMP(type="echo-reply", id=7, seq=1) / (b"x" * 40)


def with_bytes(frame, at, value: bytes):
    data = bytearray(bytes(frame[2]))
    data[at:at + len(value)] = value
    return frame[0], frame[1], bytes(data)


def test_well_formed_frames_pass():
    record = capture_of(
        from_sut(echo_reply()),
        from_sut(IP(src=SUT, dst=TESTER) / TCP(sport=80, dport=4000, flags="SA")),
        from_sut(IP(src=SUT, dst=TESTER) / UDP(sport=7, dport=9) / b"data"),
        from_sut(IP(src=SUT, dst=TESTER) / UDP(sport=7, dport=9, chksum=0) / b"no checksum computed"),
        from_sut(IP(src=SUT, dst=TESTER) / ICMP(type="echo-reply")),  # 28 octets: padded frames are fine
    )
    assert found(record) == []


def test_wrong_ip_header_checksum_is_named_with_time_port_and_values():
    good = from_sut(echo_reply())
    want = IP(bytes(good[2])[14:]).chksum
    record = capture_of(with_bytes(good, 14 + 10, b"\xde\xad"))
    violations = invariants.check(record.capture)
    assert [(v.field, v.found) for v in violations] == [("IP.chksum", "0xdead")]
    text = invariants.report(violations, record.capture.started_ns)
    assert "+1.000 ms on tester: Ether / IP / ICMP 198.18.0.1 > 198.18.0.2 echo-reply 0" in text
    assert f"IP.chksum: expected {want:#06x}, found 0xdead (RFC 791 3.1" in text


@pytest.mark.parametrize(("layers", "field"), [
    (IP(src=SUT, dst=TESTER) / TCP(sport=80, dport=4000, chksum=0x1234), "TCP.chksum"),
    (IP(src=SUT, dst=TESTER) / UDP(sport=7, dport=9, chksum=0x1234) / b"data", "UDP.chksum"),
    (IP(src=SUT, dst=TESTER) / ICMP(type="echo-reply", chksum=0x1234), "ICMP.chksum"),
])
def test_wrong_transport_checksum_of_a_datagram_the_sut_made(layers, field):
    assert [f for f, _, _ in found(capture_of(from_sut(layers)))] == [field]


def test_a_forwarded_datagram_keeps_the_testers_transport_checksum_but_not_a_bad_header():
    made_by_tester = IP(src=TESTER, dst="198.18.2.2", id=4242, ttl=64) / UDP(sport=1, dport=9, chksum=0x1234) / b"x"
    forwarded = made_by_tester.copy()
    forwarded.ttl = 63
    record = capture_of(("tester", "out", Ether(src=TESTER_MAC, dst=SUT_MAC) / made_by_tester), from_sut(forwarded))
    assert found(record) == []
    broken = with_bytes(from_sut(forwarded), 14 + 10, b"\x00\x01")
    assert [f for f, _, _ in found(capture_of(("tester", "out", Ether(src=TESTER_MAC, dst=SUT_MAC) / made_by_tester), broken))] == ["IP.chksum"]


def test_lengths_must_agree_with_the_frame():
    long_reply = from_sut(echo_reply())
    short = with_bytes(long_reply, 14 + 2, (200).to_bytes(2, "big"))  # claims more than the frame holds
    assert "IP.len" in [f for f, _, _ in found(capture_of(short))]
    trailing = ("tester", "in", bytes(long_reply[2]) + b"\x00" * 10)  # octets beyond Total Length in a long frame
    assert [f for f, _, _ in found(capture_of(trailing))] == ["IP.len"]
    tiny_ihl = with_bytes(long_reply, 14, b"\x44")
    assert [f for f, _, _ in found(capture_of(tiny_ihl))] == ["IP.ihl"]


def test_a_group_source_mac_is_refused():
    record = capture_of(from_sut(echo_reply(), src_mac="01:00:5e:00:00:01"))
    assert found(record) == [("Ether.src", "a unicast (individual) address", "01:00:5e:00:00:01")]


def test_fragments_are_judged_on_the_reassembled_datagram():
    whole = IP(src=SUT, dst=TESTER, id=99) / UDP(sport=7, dport=9, chksum=0x4321) / (b"y" * 3000)
    pieces = [from_sut(f) for f in fragment(whole, 1400)]
    assert [f for f, _, _ in found(capture_of(*pieces))] == ["UDP.chksum"]
    assert found(capture_of(*pieces[:-1])) == []  # not all fragments in the capture: not judged
    good = IP(src=SUT, dst=TESTER, id=98) / UDP(sport=7, dport=9) / (b"z" * 3000)
    assert found(capture_of(*[from_sut(f) for f in fragment(IP(bytes(good)), 1400)])) == []


def test_two_datagrams_with_one_identification_do_not_break_the_check():
    """A SUT that reuses one IP identification sends fragments with equal offsets under one key:
    judging them must not fail (the case's own assertion says what is wrong)."""
    first = [from_sut(f) for f in fragment(IP(bytes(IP(src=SUT, dst=TESTER, id=7) / UDP(sport=7, dport=9) / (b"a" * 3000))), 1400)]
    second = [from_sut(f) for f in fragment(IP(bytes(IP(src=SUT, dst=TESTER, id=7) / UDP(sport=8, dport=9) / (b"b" * 3000))), 1400)]
    found(capture_of(*first, *second))  # no TypeError


def test_only_frames_from_the_sut_are_judged():
    shared = FakePort(sut_link=False)  # a segment with other stations on it
    bad = IP(src="198.18.0.9", dst=TESTER) / ICMP(chksum=0x1234)
    assert found(capture_of(from_sut(bad, src_mac=OTHER_MAC), ports=(shared,))) == []
    assert [f for f, _, _ in found(capture_of(from_sut(bad), ports=(shared,)))] == ["ICMP.chksum"]
    assert found(capture_of(("tester", "out", Ether(src=TESTER_MAC) / bad))) == []  # the tester's own frames


def test_tun_frames_are_bare_ip():
    tun = FakePort(name="tun", linktype=LINKTYPE_RAW, sut_mac=None)
    record = capture_of(("tun", "in", IP(src=SUT, dst=TESTER, chksum=0xBEEF) / ICMP()), ports=(tun,))
    assert [f for f, _, _ in found(record)] == ["IP.chksum"]


@case("ICMP-FAKE-ECHO", rfc=792, section="Echo or Echo Reply Message", level=MUST, layer=3)
def a_case():
    """A case the hook judges."""


class FakeItem:
    def __init__(self, record, is_case=True):
        self.stash = pytest.Stash()
        self.stash[CAPTURE_KEY] = record
        self.marker = a_case.pytestmark[0] if is_case else None

    def get_closest_marker(self, name):
        return self.marker if self.marker is not None and self.marker.name == name else None


def broken_record():
    return capture_of(with_bytes(from_sut(echo_reply()), 14 + 10, b"\xde\xad"))


def run_hook(record, outcome=None, is_case=True):
    hook = invariants.pytest_runtest_call(FakeItem(record, is_case))
    next(hook)
    if outcome is None:
        hook.send(None)
    else:
        hook.throw(outcome)


def test_a_passing_case_with_a_broken_frame_fails():
    with pytest.raises(invariants.InvariantViolation, match="IP.chksum: expected .*, found 0xdead"):
        run_hook(broken_record())


def test_a_passing_case_with_good_frames_still_passes():
    with pytest.raises(StopIteration):
        run_hook(capture_of(from_sut(echo_reply())))


def test_the_suites_own_tests_are_not_judged_by_the_hook():
    with pytest.raises(StopIteration):
        run_hook(broken_record(), is_case=False)


def test_an_inconclusive_case_with_a_broken_frame_fails():
    with pytest.raises(invariants.InvariantViolation):
        run_hook(broken_record(), Inconclusive("the fence got no answer"))
    with pytest.raises(Inconclusive):
        run_hook(capture_of(from_sut(echo_reply())), Inconclusive("the fence got no answer"))


def test_a_failing_case_keeps_its_message_and_gets_the_broken_frame_as_a_note():
    with pytest.raises(AssertionError, match="the RFC wanted something else") as failure:
        run_hook(broken_record(), AssertionError("the RFC wanted something else"))
    assert any("found 0xdead" in note for note in failure.value.__notes__)
