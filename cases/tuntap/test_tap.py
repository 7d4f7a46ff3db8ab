"""The TAP device: user space as a station on an Ethernet link.

Linux's TUN/TAP interface is not specified by an RFC. Each case checks an RFC requirement on
the path through the TAP device and names that RFC: RFC 894 for the Ethernet framing handed to
user space, RFC 826 for address resolution across it, RFC 1122 3.2.2.6 for what user space
writes, RFC 1812 5.3.1 for forwarding onto it.

RFC 894 and RFC 826 predate RFC 2119; the cases that cite them read their frame format and
their reception procedure ("send the packet to the (new) target hardware address") as MUST.
"""

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from conformance.catalog import MUST, case
from conformance.match import like

BROADCAST = "ff:ff:ff:ff:ff:ff"


@case("TUN-TAP-ETHERNET-FRAMING", title="TAP reader gets Ethernet frames", rfc=894, section="Frame Format", level=MUST, layer=2)
def test_tap_reader_gets_ethernet_frames(tuntap):
    """What the stack sends through a TAP device reaches the reader as Ethernet frames: the ARP
    request as a broadcast (type 0x0806), the IP datagram (type 0x0800) addressed to the
    resolved MAC and sent from the device's MAC.

    The SUT sends a UDP datagram to 198.18.50.2, a station on the TAP's subnet that the
    reader plays (it answers ARP).

    The TAP device is Linux's interface, not an RFC's:
    this case checks RFC 894 Frame Format on the path through it.
    """
    tap, station = tuntap.tap, tuntap.sut_tap
    tuntap.app.udp(connect=(tap.ip, 7401)).send(b"onto-the-tap")
    request = tap.expect(like(ARP(op="who-has", pdst=tap.ip)))
    assert request[Ether].dst == BROADCAST, f"RFC 826: the ARP request must be an Ethernet broadcast, not to {request[Ether].dst}"
    frame = tap.expect(like(Ether(type=0x0800) / IP(dst=tap.ip) / UDP(dport=7401)))
    assert frame[Ether].dst == tap.mac, f"RFC 894: the destination must be the resolved station's MAC {tap.mac}, not {frame[Ether].dst}"
    assert frame[Ether].src == station.mac, f"RFC 894: the source must be the TAP device's MAC {station.mac}, not {frame[Ether].src}"


@case("TUN-TAP-ARP-ANSWERED", title="ARP request written into TAP is answered", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_arp_request_written_into_tap_is_answered(tuntap):
    """An ARP request user space writes into the TAP device for the device's address is answered
    through the TAP, unicast to the requester, with the device's MAC.

    The TAP device is Linux's interface, not an RFC's:
    this case checks RFC 826 Packet Reception on the path through it.
    """
    tap, station = tuntap.tap, tuntap.sut_tap
    reply = tap.exchange(
        Ether(src=tap.mac, dst=BROADCAST) / ARP(op="who-has", hwsrc=tap.mac, psrc=tap.ip, hwdst="00:00:00:00:00:00", pdst=station.ip),
        expect=like(ARP(op="is-at", psrc=station.ip)),
    )
    assert reply[Ether].dst == tap.mac, "RFC 826: the reply must be unicast to the requester"
    assert reply[ARP].hwsrc == station.mac, f"RFC 826: the reply must carry the TAP's MAC {station.mac}, not {reply[ARP].hwsrc}"


@case("TUN-TAP-WRITE-ENTERS-STACK", title="Echo written into TAP is answered through TAP", rfc=1122, section="3.2.2.6", level=MUST, layer=3, also=(894,))
def test_echo_written_into_tap_is_answered_through_tap(tuntap):
    """A frame user space writes into the TAP device is received as if from an Ethernet link: an
    echo request to the device's address is answered through the TAP, to the writer's MAC, with
    the data returned entirely.

    The TAP device is Linux's interface, not an RFC's:
    this case checks RFC 1122 3.2.2.6 on the path through it.
    """
    tap, station = tuntap.tap, tuntap.sut_tap
    reply = tap.exchange(
        Ether(src=tap.mac, dst=station.mac) / IP(src=tap.ip, dst=station.ip)
        / ICMP(type="echo-request", id=0x7402, seq=3) / Raw(b"ping-over-tap"),
        expect=like(IP(src=station.ip, dst=tap.ip) / ICMP(type="echo-reply", id=0x7402)),
    )
    assert reply[Ether].dst == tap.mac, f"the reply must be sent to the requester's MAC {tap.mac}, not {reply[Ether].dst}"
    assert bytes(reply[ICMP].payload) == b"ping-over-tap", "RFC 1122 3.2.2.6: the echo data must be returned entirely"


@case("TUN-TAP-FORWARD-ONTO-TAP", title="Datagram is forwarded onto the TAP link", rfc=1812, section="5.3.1", level=MUST, layer=3, needs=("sysctl",))
def test_datagram_forwarded_onto_tap_link(tuntap):
    """A router forwarding a datagram to a station behind a TAP device sends it there as an
    Ethernet frame to the station's MAC, with the TTL decremented.

    Precondition: net.ipv4.ip_forward=1. The tester sends a datagram for 198.18.50.2.

    The TAP device is Linux's interface, not an RFC's:
    this case checks RFC 1812 5.3.1 on the path through it.
    """
    tuntap.control.set_sysctl("net.ipv4.ip_forward", 1)
    tap = tuntap.tap
    tuntap.tester.send(Ether(src=tuntap.tester.mac, dst=tuntap.sut.mac) / IP(src=tuntap.tester.ip, dst=tap.ip, ttl=64)
                       / UDP(sport=47401, dport=7403) / Raw(b"to-tap"))
    fwd = tap.expect(like(IP(src=tuntap.tester.ip, dst=tap.ip) / UDP(sport=47401)))
    assert fwd[Ether].dst == tap.mac, f"the frame must go to the station's MAC {tap.mac}, not {fwd[Ether].dst}"
    assert fwd[IP].ttl < 64, f"RFC 1812 5.3.1: the TTL must be reduced by at least one (sent 64); it is {fwd[IP].ttl}"
