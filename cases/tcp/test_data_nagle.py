"""Small segments from the SUT: the Nagle algorithm, and the application's way to turn it off
(RFC 9293 3.7.4, RFC 1122 4.2.3.4)."""

from cases.tcp.flow import establish, forbid, has_no
from conformance.catalog import MUST, SHOULD, case
from conformance.tcp import payload


def small_write_outstanding(lan, nodelay: bool):
    """A connection on which the SUT's application wrote 10 octets that are sent but not yet
    acknowledged."""
    flow = establish(lan, nodelay=nodelay)
    flow.sock.send(b"1" * 10)
    flow.receive(10, ack=False)
    return flow


@case("TCP-DATA-NAGLE", rfc=9293, section="3.7.4", level=SHOULD, layer=4, needs=("sockets",), also=(1122,))
def test_small_writes_wait_while_small_data_is_unacknowledged(lan):
    """With the Nagle algorithm (the default), new small data is held while earlier data is
    unacknowledged, and goes out, coalesced, once the ACK comes.

    10 octets are in flight; the application writes 10 more twice. No segment may carry them
    until the tester acknowledges the first 10; then the 20 octets come.
    """
    flow = small_write_outstanding(lan, nodelay=False)
    flow.sock.send(b"2" * 10)
    flow.sock.send(b"3" * 10)
    forbid(lan.tester, flow.from_sut(seq=flow.peer.rcv_nxt, where={"TCP.flags": has_no("SRF")}),
           "SHLD-7 (Nagle): small data must wait while earlier data is unacknowledged")
    flow.send(flags="A")
    got = b"".join(payload(s) for s in flow.receive(20))
    assert got == b"2" * 10 + b"3" * 10, f"once acknowledged, the held data must follow; {got!r} came"


@case("TCP-DATA-NAGLE-CAN-BE-DISABLED", rfc=9293, section="3.7.4", level=MUST, layer=4, needs=("sockets",),
      also=(1122,))
def test_application_can_disable_nagle(lan):
    """An application can disable the Nagle algorithm on a connection (TCP_NODELAY): small writes
    are then sent at once, even with earlier data unacknowledged."""
    flow = small_write_outstanding(lan, nodelay=True)
    flow.sock.send(b"2" * 10)
    try:
        seg = flow.take(flow.from_sut(seq=flow.peer.rcv_nxt), timeout=0.5)
    except AssertionError:
        raise AssertionError(
            "MUST-17: with the Nagle algorithm disabled, a small write must be sent at once; nothing came "
            "while the first 10 octets were unacknowledged"
        ) from None
    assert payload(seg) == b"2" * 10, f"the segment must carry the second write; it carried {payload(seg)!r}"
