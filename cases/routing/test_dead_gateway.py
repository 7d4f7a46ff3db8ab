"""Dead-gateway detection on a host (RFC 1122 3.3.1.4 and 3.3.1.5).

Topology `two_gateway_lan`: the SUT has two default gateways of equal preference; the first,
198.18.0.253, never answers (its address is resolved by nobody), the second, 198.18.0.254, is
the tester. The failure the SUT can see is the link layer's negative advice: the gateway's
address cannot be resolved (RFC 1122 3.3.1.4 lists the link layer as a source of advice).
"""

import time

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether

from conformance.catalog import MUST, case
from conformance.match import like
from conformance.verdict import Inconclusive

REMOTE, REMOTE_PORT = "198.19.7.7", 9700
ARP_RETRANS_MS = 100  # the SUT's ARP retransmission interval, shortened (1000 ms by default)
DETECTION_BOUND = 5.0  # seconds: several times the shortened resolution timeout
AFTER = 6  # datagrams sent once the SUT has moved, all of which must stay on the live gateway


@case("RT-HOST-DEAD-GATEWAY", rfc=1122, section="3.3.1.4", level=MUST, layer=3, needs=("sockets", "sysctl", "routes"),
      also=(816,))
def test_host_moves_off_a_dead_first_hop_gateway(two_gateway_lan):
    """A host whose first-hop gateway has failed detects it and sends by another default gateway.

    RFC 1122 3.3.1.4: "The IP layer MUST be able to detect the failure of a 'next-hop' gateway
    that is listed in its route cache and to choose an alternate gateway (see Section
    3.3.1.5)"; 3.3.1.5: if the failed gateway is the current default, "the IP layer MUST select
    a different default gateway (assuming more than one default is known)".

    Precondition: the SUT retransmits ARP requests every 100 ms (net.ipv4.neigh.eth0.
    retrans_time_ms), so an unanswered gateway is given up in well under a second. The SUT's
    application sends a UDP datagram to 198.19.7.7 every 50 ms: the SUT must first try the dead
    gateway (ask ARP for it, or send to it; it is installed first, and if the SUT never tries it
    there is nothing to detect and the case is inconclusive), and within 5 s a datagram must
    reach the live gateway's MAC. The next 6 datagrams must all go there too: a SUT that merely
    spreads its traffic over both gateways has detected nothing.
    """
    lan = two_gateway_lan
    lan.control.set_sysctl(f"net.ipv4.neigh.{lan.sut.ifname}.retrans_time_ms", ARP_RETRANS_MS)
    sock = lan.app.udp(0)
    via_live = like(Ether(dst=lan.gateway.mac) / IP(src=lan.sut.ip, dst=REMOTE) / UDP(dport=REMOTE_PORT),
                    name=f"the datagram to {REMOTE} sent to the live gateway {lan.gateway.ip}")
    start = len(lan.tester.capture.frames)
    deadline = time.monotonic() + DETECTION_BOUND
    delivered = None
    while delivered is None and time.monotonic() < deadline:
        sock.sendto(b"dead-gateway", (REMOTE, REMOTE_PORT))
        try:
            delivered = lan.tester.expect(via_live, timeout=0.05)
        except AssertionError:
            continue
    frames = [f.packet for f in lan.tester.capture.frames[start:] if f.port == lan.tester.name and f.direction == "in"]
    asked = [p[ARP].pdst for p in frames if ARP in p and p[ARP].op == 1]
    to_dead = [p for p in frames if IP in p and p[Ether].dst == lan.dead_gateway.mac]
    if lan.dead_gateway.ip not in asked and not to_dead:
        raise Inconclusive(f"the SUT never tried the dead gateway {lan.dead_gateway.ip} (it asked ARP for {sorted(set(asked))}), "
                           "so there was no failure for it to detect")
    assert delivered is not None, (
        f"RFC 1122 3.3.1.4: the SUT must detect that its gateway {lan.dead_gateway.ip} has failed (ARP asked for it "
        f"{asked.count(lan.dead_gateway.ip)} times, never answered; {len(to_dead)} datagrams sent to its MAC) and choose the "
        f"other default gateway {lan.gateway.ip}; in {DETECTION_BOUND:g} s of datagrams every 50 ms none reached it"
    )
    # Once it has moved, it stays on the alternate (3.3.1.5: a different default "for the failed
    # route and for establishing new routes"): the next datagrams all go to the live gateway.
    after = len(lan.tester.capture.frames)
    for _ in range(AFTER):
        sock.sendto(b"dead-gateway", (REMOTE, REMOTE_PORT))
    lan.tester.sync()
    sent = [f.packet for f in lan.tester.capture.frames[after:]
            if f.port == lan.tester.name and f.direction == "in" and IP in f.packet and f.packet[IP].dst == REMOTE]
    wrong = [p[Ether].dst for p in sent if p[Ether].dst != lan.gateway.mac]
    assert not wrong and len(sent) == AFTER, (
        f"RFC 1122 3.3.1.5: once the failed gateway is detected, the SUT must use the other default gateway; of the next "
        f"{AFTER} datagrams {len(sent) - len(wrong)} reached {lan.gateway.mac}, {len(wrong)} went to {sorted(set(wrong))}"
    )
