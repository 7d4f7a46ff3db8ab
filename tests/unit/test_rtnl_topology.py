"""The rtnetlink messages the topology builder sends (conformance_agent.rtnl, topology section),
read back field by field: no root needed, nothing is sent to a kernel."""

import socket
import struct

import pytest

from conformance_agent import rtnl


class Recorder(rtnl.Rtnl):
    """An Rtnl that keeps its requests instead of sending them."""

    def __init__(self):
        self.sent = []

    def request(self, kind, body, attrs=b"", flags=0, head=None):
        self.sent.append((kind, body, attrs, flags))
        return []


def nested(raw):
    return rtnl.parse_attrs(raw)


def test_a_veth_pair_is_one_request_with_its_peer_in_the_other_namespace():
    r = Recorder()
    rtnl.veth_add(r, "tst0", "eth0", 42, mac="02:00:00:00:02:02", mtu=1280, peer_mac="02:00:00:00:01:01", peer_mtu=1400)
    [(kind, body, attrs, flags)] = r.sent
    assert kind == rtnl.RTM_NEWLINK
    assert flags & rtnl.NLM_F_CREATE and flags & rtnl.NLM_F_EXCL and flags & rtnl.NLM_F_ACK
    assert rtnl.IFINFO.unpack_from(body)[2] == 0, "the kernel chooses the index"
    a = rtnl.parse_attrs(attrs)
    assert a[rtnl.IFLA_IFNAME] == b"tst0\0"
    assert rtnl.mac_text(a[rtnl.IFLA_ADDRESS]) == "02:00:00:00:02:02"
    assert struct.unpack("=I", a[rtnl.IFLA_MTU])[0] == 1280
    info = nested(a[rtnl.IFLA_LINKINFO])
    assert info[rtnl.IFLA_INFO_KIND] == b"veth\0"
    peer = nested(info[rtnl.IFLA_INFO_DATA])[rtnl.VETH_INFO_PEER]
    p = rtnl.parse_attrs(peer[rtnl.IFINFO.size:])
    assert p[rtnl.IFLA_IFNAME] == b"eth0\0"
    assert rtnl.mac_text(p[rtnl.IFLA_ADDRESS]) == "02:00:00:00:01:01"
    assert struct.unpack("=I", p[rtnl.IFLA_MTU])[0] == 1400
    assert struct.unpack("=I", p[rtnl.IFLA_NET_NS_FD])[0] == 42
    assert struct.unpack("=H", attrs[2:4])[0] & 0x3FFF == rtnl.IFLA_IFNAME


def test_a_veth_without_mac_or_mtu_leaves_them_to_the_kernel():
    r = Recorder()
    rtnl.veth_add(r, "a0", "b0", 7)
    a = rtnl.parse_attrs(r.sent[0][2])
    assert rtnl.IFLA_ADDRESS not in a and rtnl.IFLA_MTU not in a


@pytest.mark.parametrize(("address", "family", "local"), [("198.18.0.1", socket.AF_INET, True),
                                                          ("2001:db8::1", socket.AF_INET6, False)])
def test_an_address_carries_no_broadcast_attribute(address, family, local):
    r = Recorder()
    rtnl.address_add(r, 3, address, 24, nodad=family == socket.AF_INET6)
    kind, body, attrs, _ = r.sent[0]
    fam, prefixlen, flags, _scope, index = rtnl.IFADDR.unpack_from(body)
    assert (kind, fam, prefixlen, index) == (rtnl.RTM_NEWADDR, family, 24, 3)
    assert flags == (0x02 if family == socket.AF_INET6 else 0)
    a = rtnl.parse_attrs(attrs)
    assert rtnl.ip_text(a[rtnl.IFA_ADDRESS]) == address
    assert (rtnl.IFA_LOCAL in a) is local
    assert rtnl.IFA_BROADCAST not in a


def test_a_route_is_static_with_universe_scope_and_its_table():
    r = Recorder()
    rtnl.route_add(r, "198.18.25.0/24", gateway="198.18.7.3", oif=2, table=300, metric=7)
    rtnl.route_add(r, "0.0.0.0/0", kind="unreachable")
    (kind, body, attrs, _), (_, body2, attrs2, _) = r.sent
    family, dst_len, _, _, table, proto, scope, rtype, _ = rtnl.RTMSG.unpack_from(body)
    assert (kind, family, dst_len, proto, scope, rtype) == (rtnl.RTM_NEWROUTE, socket.AF_INET, 24, rtnl.RTPROT_STATIC,
                                                            rtnl.RT_SCOPE_UNIVERSE, 1)
    assert table == 252, "tables above 255 go in RTA_TABLE alone"
    a = rtnl.parse_attrs(attrs)
    assert struct.unpack("=I", a[rtnl.RTA_TABLE])[0] == 300
    assert rtnl.ip_text(a[rtnl.RTA_DST]) == "198.18.25.0"
    assert rtnl.ip_text(a[rtnl.RTA_GATEWAY]) == "198.18.7.3"
    assert struct.unpack("=i", a[rtnl.RTA_OIF])[0] == 2
    assert struct.unpack("=I", a[rtnl.RTA_PRIORITY])[0] == 7
    assert rtnl.RTMSG.unpack_from(body2)[7] == rtnl.ROUTE_TYPES["unreachable"]
    assert rtnl.RTA_DST not in rtnl.parse_attrs(attrs2), "a default route names no destination"


def test_link_notifications_report_which_links_are_up():
    def newlink(index, operstate):
        body = rtnl.IFINFO.pack(socket.AF_UNSPEC, 1, index, rtnl.IFF_UP, 0) + rtnl.attr(rtnl.IFLA_OPERSTATE, bytes([operstate]))
        return rtnl._HDR.pack(rtnl._HDR.size + len(body), rtnl.RTM_NEWLINK, 0, 0, 0) + body

    class FakeSock:
        def __init__(self, chunks):
            self.chunks = chunks

        def recv(self, size):
            if not self.chunks:
                raise BlockingIOError
            return self.chunks.pop(0)

    watch = rtnl.LinkWatch.__new__(rtnl.LinkWatch)
    watch.sock = FakeSock([newlink(2, 2) + newlink(3, rtnl.OPERSTATE_UP), newlink(2, rtnl.OPERSTATE_UP) + newlink(9, 6)])
    assert watch.up_among({2, 3}) == {2, 3}, "the last word on each link counts; other links are ignored"
