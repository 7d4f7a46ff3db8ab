"""MAC addresses: the ones the SUT's kernel generates, and the source addresses of its frames
(RFC 7042 2.1: the Group bit marks multicast/broadcast, the Local bit locally assigned ones).

RFC 7042 2.1 describes IEEE 802's address bits; it states no requirement keyword for hosts. The
ADDR-KERNEL-MAC-* and ADDR-GROUP-MAC-REFUSED requirements are derived from what the bits mean
there: an identifier not assigned by the owner of an OUI is "a local identifier", and a group
identifier names a set of stations, so it cannot be one interface's own address. MUST because an
address that breaks either meaning misleads every other station on the link.
"""

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from cases.arp.frames import arp_request, reply_from
from cases.ethernet.frames import ALL_HOSTS_MAC, BROADCAST
from conformance.catalog import MUST, case
from conformance.match import like


def first_octet(mac: str) -> int:
    return int(mac.split(":")[0], 16)


def is_group(mac: str) -> bool:
    return bool(first_octet(mac) & 0x01)


@case("ADDR-KERNEL-MAC-LOCAL", title="Generated MAC is locally administered", rfc=7042, section="2.1", level=MUST, layer=2)
def test_generated_mac_is_locally_administered(kernel_mac_lan):
    """A MAC the SUT makes up itself (not one assigned from an IEEE-registered OUI) has the Local
    bit set."""
    mac = kernel_mac_lan.sut.mac
    assert first_octet(mac) & 0x02, f"a generated MAC must have the Local bit (0x02 of the first octet) set; the SUT chose {mac}"


@case("ADDR-KERNEL-MAC-UNICAST", title="Generated MAC is unicast", rfc=7042, section="2.1", level=MUST, layer=2)
def test_generated_mac_is_unicast(kernel_mac_lan):
    """A MAC the SUT generates for an interface is an individual (unicast) address: the Group bit is clear."""
    mac = kernel_mac_lan.sut.mac
    assert not is_group(mac), f"an interface's own MAC must have the Group bit (0x01 of the first octet) clear; the SUT chose {mac}"
    assert mac != "00:00:00:00:00:00", "an interface's own MAC must not be all zeros"


@case("ADDR-KERNEL-MAC-ON-WIRE", title="Generated MAC is what the SUT sends from", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_generated_mac_is_what_the_sut_sends_from(kernel_mac_lan):
    """The SUT's frames and ARP replies carry the MAC its interface has: the generated one.

    RFC 826 "Packet Reception": the reply puts "the local hardware and protocol addresses in the
    sender fields". RFC 826 predates RFC 2119; its algorithm is taken as MUST.
    """
    t, sut = kernel_mac_lan.tester, kernel_mac_lan.sut
    reply = t.exchange(arp_request(t.mac, t.ip, sut.ip), expect=reply_from(sut.ip))
    assert reply[Ether].src == sut.mac, f"the frame must come from the interface's MAC {sut.mac}, came from {reply[Ether].src}"
    assert reply[ARP].hwsrc == sut.mac, f"the ARP reply must give the interface's MAC {sut.mac}, gave {reply[ARP].hwsrc}"


@case("ADDR-GROUP-MAC-REFUSED", title="Group MAC cannot become the interface address", rfc=7042, section="2.1", level=MUST, layer=2)
def test_group_mac_cannot_become_the_interface_address(kernel_mac_lan):
    """A multicast MAC offered as the interface's own address is refused: the SUT keeps sending
    from a unicast MAC."""
    refusal = kernel_mac_lan.try_set_mac(ALL_HOSTS_MAC)
    t, sut = kernel_mac_lan.tester, kernel_mac_lan.sut
    reply = t.exchange(arp_request(t.mac, t.ip, sut.ip), expect=reply_from(sut.ip))
    assert not is_group(reply[Ether].src) and not is_group(reply[ARP].hwsrc), (
        f"the SUT must never send from a group MAC; after being offered {ALL_HOSTS_MAC} "
        f"(refusal: {refusal}) it sent from {reply[Ether].src} claiming {reply[ARP].hwsrc}"
    )


def echo_to_group(lan, dst_mac: str, dst_ip: str):
    t = lan.tester
    frame = Ether(src=t.mac, dst=dst_mac) / IP(src=t.ip, dst=dst_ip) / ICMP(type="echo-request", id=0x4144, seq=1)
    return t.exchange(frame, expect=like(IP(dst=t.ip) / ICMP(type="echo-reply", id=0x4144)))


@case("ADDR-UNICAST-SOURCE-BROADCAST-REPLY", rfc=1122, section="3.2.2.6", level=MUST, layer=2, needs=("sysctl",))
def test_reply_to_broadcast_comes_from_unicast_addresses(lan):
    """The answer to a request received as a broadcast comes from the SUT's own unicast addresses,
    IP and MAC, never from the broadcast address it was sent to.

    RFC 1122 3.2.2.6 requires the IP source (the specific-destination address); that the frame
    comes from the SUT's own MAC, never a group address, is derived from IEEE 802 (a source
    address is an individual address) and checked alongside.

    Precondition: the SUT answers broadcast echo requests (Linux: icmp_echo_ignore_broadcasts=0).
    """
    lan.control.set_sysctl("net.ipv4.icmp_echo_ignore_broadcasts", 0)
    reply = echo_to_group(lan, BROADCAST, "198.18.0.255")
    assert reply[IP].src == lan.sut.ip, f"the reply's source must be the SUT's unicast address {lan.sut.ip}, was {reply[IP].src}"
    assert reply[Ether].src == lan.sut.mac, f"the reply must be sent from the SUT's MAC {lan.sut.mac}, was {reply[Ether].src}"


@case("ADDR-UNICAST-SOURCE-MULTICAST-REPLY", rfc=1122, section="3.2.2.6", level=MUST, layer=2, needs=("sysctl",))
def test_reply_to_multicast_comes_from_unicast_addresses(lan):
    """The answer to a request received as a multicast (224.0.0.1 in 01:00:5e:00:00:01) comes from
    the SUT's own unicast addresses, IP and MAC.

    The MAC check is derived as in ADDR-UNICAST-SOURCE-BROADCAST-REPLY.

    Precondition: the SUT answers echo requests to groups (Linux: icmp_echo_ignore_broadcasts=0).
    """
    lan.control.set_sysctl("net.ipv4.icmp_echo_ignore_broadcasts", 0)
    reply = echo_to_group(lan, ALL_HOSTS_MAC, "224.0.0.1")
    assert reply[IP].src == lan.sut.ip, f"the reply's source must be the SUT's unicast address {lan.sut.ip}, was {reply[IP].src}"
    assert reply[Ether].src == lan.sut.mac, f"the reply must be sent from the SUT's MAC {lan.sut.mac}, was {reply[Ether].src}"


@case("ADDR-BROADCAST-FRAME-UNICAST-SOURCE", title="SUT broadcasts from its own unicast MAC", rfc=826, section="Packet Generation", level=MUST, layer=2, needs=("sockets",))
def test_sut_broadcasts_from_its_own_unicast_mac(kernel_mac_lan):
    """A frame the SUT broadcasts (its ARP request) carries its own unicast MAC as source and as
    sender hardware address, never a group address."""
    t, sut = kernel_mac_lan.tester, kernel_mac_lan.sut
    t.answer_arp = False
    kernel_mac_lan.app.udp(connect=("198.18.0.66", 9)).send(b"resolve")
    req = t.expect(like(Ether(dst=BROADCAST) / ARP(op="who-has", pdst="198.18.0.66")))
    assert req[Ether].src == sut.mac and not is_group(req[Ether].src), (
        f"the broadcast must come from the SUT's unicast MAC {sut.mac}, came from {req[Ether].src}"
    )
    assert req[ARP].hwsrc == sut.mac, f"the request must name the SUT's MAC {sut.mac} as sender, named {req[ARP].hwsrc}"
