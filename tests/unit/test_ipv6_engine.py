"""The engine's IPv6 parts that need no root: the tester's Neighbor Advertisements, the agent's
snmp6 and tcp6 parsing, IPv6 knobs, IPv6 neighbours through SutControl, IPv6 sockets on
loopback, and the SUT file's IPv6 link keys."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import Ether

from conformance import sut_file
from conformance.agent import Channel
from conformance.control import SutControl
from conformance.external import Attachment, GuardRefusal
from conformance.sut import SutError
from conformance.wire import Capture, Port
from conformance_agent import knobs
from conformance_agent.apps import Apps
from conformance_agent.system import _endpoint, parse_snmp6

TESTER_MAC, SUT_MAC = "02:00:00:00:02:02", "02:00:00:00:01:01"


@pytest.fixture
def pipe_port():
    """A Port whose frames go into a pipe, so what it sends can be read back."""
    r, w = os.pipe()
    capture = Capture()
    port = Port("tester", capture, fd=w, mac=TESTER_MAC, ip6="2001:db8::2")
    port.claims["fe80::2"] = TESTER_MAC
    port.claims["2001:db8::fe"] = "02:00:00:00:fe:fe"
    port.nd_routers.add("2001:db8::fe")
    os.set_blocking(r, False)
    yield port, r
    os.close(r)
    os.close(w)


def solicitation(target: str, src: str = "fe80::ff:fe00:101", hlim: int = 255) -> bytes:
    return bytes(Ether(src=SUT_MAC, dst="33:33:ff:00:00:02") / IPv6(src=src, dst="ff02::1:ff00:2", hlim=hlim)
                 / ICMPv6ND_NS(tgt=target) / ICMPv6NDOptSrcLLAddr(lladdr=SUT_MAC))


def sent(r: int) -> Ether | None:
    try:
        return Ether(os.read(r, 65535))
    except BlockingIOError:
        return None


def test_a_solicitation_for_a_claim_gets_a_solicited_override_advertisement(pipe_port):
    port, r = pipe_port
    port._answer_nd(solicitation("2001:db8::2"))
    na = sent(r)
    assert na is not None and na[Ether].src == TESTER_MAC and na[Ether].dst == SUT_MAC
    assert (na[IPv6].src, na[IPv6].dst, na[IPv6].hlim) == ("2001:db8::2", "fe80::ff:fe00:101", 255)
    adv = na[ICMPv6ND_NA]
    assert (adv.R, adv.S, adv.O, adv.tgt) == (0, 1, 1, "2001:db8::2")
    assert na[ICMPv6NDOptDstLLAddr].lladdr == TESTER_MAC
    assert port.capture.frames[-1].note == "tester neighbor advertisement"


def test_a_claimed_router_says_so_and_a_dad_probe_is_answered_to_all_nodes(pipe_port):
    port, r = pipe_port
    port._answer_nd(solicitation("2001:db8::fe"))
    assert sent(r)[ICMPv6ND_NA].R == 1
    port._answer_nd(solicitation("fe80::2", src="::"))
    na = sent(r)
    assert (na[IPv6].dst, na[Ether].dst, na[ICMPv6ND_NA].S) == ("ff02::1", "33:33:00:00:00:01", 0)


@pytest.mark.parametrize("frame", [
    solicitation("2001:db8::99"),  # not claimed
    solicitation("2001:db8::2", hlim=64),  # RFC 4861 7.1.1: hop limit must be 255
    solicitation("2001:db8::2")[:60],  # truncated
])
def test_no_answer_for_what_is_not_claimed_or_not_valid(pipe_port, frame):
    port, r = pipe_port
    port._answer_nd(frame)
    assert sent(r) is None


def test_answering_can_be_switched_off(pipe_port):
    port, r = pipe_port
    port.answer_nd = False
    port._answer_nd(solicitation("2001:db8::2"))
    assert sent(r) is None


SNMP6 = """Ip6InReceives                   \t12
Ip6InHdrErrors                  \t1
Icmp6OutErrors                  \t3
Icmp6InType128                  \t4
Udp6InDatagrams                 \t5
UdpLite6InErrors                \t0
Ip6InOctets                     \t-1
"""


def test_snmp6_counters_are_named_proto_dot_counter():
    out = parse_snmp6(SNMP6)
    assert out["Ip6.InReceives"] == 12 and out["Ip6.InHdrErrors"] == 1 and out["Icmp6.OutErrors"] == 3
    assert out["Icmp6.InType128"] == 4 and out["Udp6.InDatagrams"] == 5 and out["UdpLite6.InErrors"] == 0


def test_tcp_table_addresses_of_both_families():
    assert _endpoint("0100007F:0050") == ["127.0.0.1", 80]
    # 2001:db8::1 as /proc/net/tcp6 prints it: four 32-bit words in host (little-endian) order
    assert _endpoint("B80D0120000000000000000001000000:1F90") == ["2001:db8::1", 8080]


@pytest.mark.parametrize(("key", "knob"), [
    ("net.ipv6.conf.all.forwarding", ("ipv6.forwarding", "all")),
    ("net.ipv6.conf.eth0.hop_limit", ("ipv6.hop_limit", "eth0")),
    ("net.ipv6.ip6frag_time", ("ipv6.frag_timeout_s", None)),
    ("net.ipv6.icmp.ratelimit", ("icmpv6.ratelimit_ms", None)),
    ("net.ipv6.neigh.eth0.retrans_time_ms", ("nd.retrans_time_ms", "eth0")),
    ("net.ipv6.conf.eth0.accept_ra", ("ipv6.accept_ra", "eth0")),
])
def test_ipv6_sysctls_travel_as_knobs(key, knob):
    assert knobs.knob_of_sysctl(key) == knob
    assert knobs.sysctl_of(*knob) == key


class NeighbourChannel(Channel):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []

    def _exchange(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(request["args"])
        entries = [{"ip": "198.18.0.2", "mac": TESTER_MAC, "state": "REACHABLE"},
                   {"ip": "2001:DB8:0::2", "mac": TESTER_MAC, "state": "STALE", "router": True}]
        return {"ok": True, "result": entries}


def test_neighbours_by_family():
    channel = NeighbourChannel()
    control = SutControl(channel, [])
    assert list(control.neighbours("eth0")) == ["198.18.0.2"]
    six = control.neighbours("eth0", family=6)
    assert list(six) == ["2001:db8::2"] and six["2001:db8::2"].router and six["2001:db8::2"].state == "STALE"
    assert channel.requests == [{"interface": "eth0"}, {"interface": "eth0", "family": "ipv6"}]
    with pytest.raises(ValueError, match="family is 4 or 6"):
        control.neighbours(family=5)


def test_ipv6_sockets_choose_their_family_from_the_address():
    apps = Apps()
    try:
        listener = apps.tcp_listen("::1", 0, 4, [])
        port = listener["local"][1]
        assert listener["local"] == ["::1", port]
        client = apps.tcp_connect("::1", port, "0.0.0.0", 0, [])  # an IPv4 source: any IPv6 one instead
        accepted = apps.accept(listener["handle"], 1.0)
        assert accepted["peer"][0] == "::1" and client["local"][0] == "::1"
        udp = apps.udp_open("::1", 0, None, [])
        assert apps.sockets[udp["handle"]].family == socket.AF_INET6
        v4 = apps.udp_open("127.0.0.1", 0, None, [])
        assert apps.sockets[v4["handle"]].family == socket.AF_INET
    finally:
        apps.close_all()


LINK6 = '''kind = "tap"
[links.lan]
tap = "t0"
sut_ip = "198.18.0.1"
tester_ip = "198.18.0.2"
'''


def load(tmp_path, extra):
    path = tmp_path / "dut.toml"
    path.write_text(LINK6 + extra)
    return sut_file.load(path)


def test_a_link_may_carry_ipv6_addresses(tmp_path):
    link = load(tmp_path, 'sut_ip6 = "2001:DB8::1"\ntester_ip6 = "2001:db8::2"\n').lan
    assert (link.sut_ip6, link.tester_ip6) == ("2001:db8::1", "2001:db8::2")
    assert load(tmp_path, "").lan.sut_ip6 is None


@pytest.mark.parametrize(("extra", "message"), [
    ('sut_ip6 = "2001:db8::1"\n', "tester_ip6 too"),
    ('sut_ip6 = "198.18.0.9"\ntester_ip6 = "2001:db8::2"\n', "not an IPv6 address"),
    ('sut_ip6 = "2001:db8::1"\ntester_ip6 = "2001:db8:1::2"\n', "not on the link's /64"),
    ('sut_ip6 = "2001:db9::1"\ntester_ip6 = "2001:db9::2"\n', "outside 2001:db8::/32"),
    ('sut_ip6 = "fe80::1"\ntester_ip6 = "fe80::2"\n', "not a global unicast"),
    ('sut_ip6 = "2001:db8::1"\ntester_ip6 = "2001:db8::1"\n', "must differ"),
])
def test_ipv6_link_keys_are_checked(tmp_path, extra, message):
    with pytest.raises(SutError, match=message) as failure:
        load(tmp_path, extra)
    assert "line" in str(failure.value)


def _attachment(tmp_path, extra_lan: str = "") -> Attachment:
    path = tmp_path / "dut.toml"
    path.write_text(LINK6 + 'sut_ip6 = "2001:db8::1"\ntester_ip6 = "2001:db8::2"\n' + extra_lan
                    + '[links.far]\ntap = "t1"\nsut_ip = "198.18.2.1"\ntester_ip = "198.18.2.2"\n'
                    + 'sut_ip6 = "2001:db8:2::1"\ntester_ip6 = "2001:db8:2::2"\n'
                    + '[links.near]\ntap = "t0"\nsut_ip = "198.18.1.1"\ntester_ip = "198.18.1.2"\n')
    return Attachment(sut_file.load(path))


def test_each_case_speaks_from_a_fresh_tester_ipv6_address_on_its_own_side(tmp_path):
    attachment = _attachment(tmp_path)
    lan, far = attachment.target.link("lan"), attachment.target.link("far")
    first = attachment.tester_ip6(lan)
    attachment.cases_run += 1
    second = attachment.tester_ip6(lan)
    assert first != second and first.startswith("2001:db8::") and second != "2001:db8::1"
    assert attachment.tester_ip6(far) == "2001:db8:2::2", "the far host keeps its address: cases name it"
    assert attachment.tester_ip6(attachment.target.link("near")) is None, "a link without IPv6 addresses has none"


def test_the_send_guard_keeps_ipv6_to_the_links_and_the_suites_ranges(tmp_path):
    attachment = _attachment(tmp_path)
    lan = attachment.target.link("lan")
    attachment.sut_macs[lan.interface] = SUT_MAC

    def frame(dst: str) -> bytes:
        return bytes(Ether(src=TESTER_MAC, dst=SUT_MAC) / IPv6(src="2001:db8::2", dst=dst))

    for ok in ("2001:db8::1", "2001:db8:2::2", "fe80::1", "ff02::1"):
        attachment._guard(lan, frame(ok))
    for refused in ("2001:4860::8888", "2001:db8:ff::9", "ff0e::1"):  # the test range beyond the links only in private
        with pytest.raises(GuardRefusal, match=refused):
            attachment._guard(lan, frame(refused))
