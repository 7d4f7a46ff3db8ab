"""Datagrams that arrive in link-layer broadcast frames (RFC 1122 3.3.6)."""

from cases.udp.delivery import held_before_fence
from cases.udp.frames import SUT_PORT, to_sut
from conformance.catalog import SHOULD, case

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"


@case("UDP-LINK-BROADCAST-UNICAST-DISCARDED", rfc=1122, section="3.3.6", level=SHOULD, layer=4, needs=("sockets",))
def test_unicast_datagram_in_link_broadcast_is_discarded(lan):
    """A datagram received as a link-layer broadcast but addressed to a unicast IP address is silently discarded, not delivered.

    The datagram is addressed to the SUT's own address and an open socket; only the frame's
    destination (ff:ff:ff:ff:ff:ff) makes it one to discard.
    """
    sock = lan.app.udp(SUT_PORT)
    lan.tester.send(to_sut(lan, b"unicast in a broadcast frame", eth_dst=BROADCAST_MAC))
    held = held_before_fence(lan, sock)
    assert held == [], (
        f"RFC 1122 3.3.6: a datagram received via a link-layer broadcast whose IP destination ({lan.sut.ip}) is "
        f"neither broadcast nor multicast SHOULD be silently discarded; the application read {held!r}"
    )
