"""The urgent pointer: where it points, on the SUT's segments and on the tester's (RFC 9293
3.8.5, MUST-62; RFC 6093 4 and 6, which settled the RFC 793 / RFC 1122 disagreement in favour
of "the octet following the urgent data").

The SUT's application marks urgent data the only way the sockets API offers, send(MSG_OOB), and
reads it with recv(MSG_OOB), which hands over the last octet of the urgent data (RFC 6093 3.4).
"""

import socket

from scapy.layers.inet import TCP

from cases.tcp.flow import establish, has
from conformance.catalog import MUST, case
from conformance.tcp import payload, seq_add

NORMAL, URGENT = b"before-", b"URG!"


@case("TCP-URG-POINTER-SENT", title="SUT's urgent pointer points past the urgent data", rfc=9293, section="3.8.5", level=MUST, layer=4, needs=("sockets",), also=(6093, 1122))
def test_sut_urgent_pointer_points_past_the_urgent_data(lan):
    """The urgent pointer of the SUT's segment points to the octet following the urgent data.

    RFC 9293 3.8.5: "The urgent pointer MUST point to the sequence number of the octet following
    the urgent data (MUST-62)" (RFC 6093 6 corrects RFC 1122 4.2.2.4 to the same reading). The
    SUT's application writes 7 ordinary octets, then 4 urgent ones (MSG_OOB): the segment that
    carries the urgent octets must have URG set and SEG.SEQ + urgent field equal to the sequence
    number just past the last urgent octet.
    """
    flow = establish(lan)
    start = flow.peer.rcv_nxt
    flow.sock.send(NORMAL)
    flow.sock.send(URGENT, socket.MSG_OOB)
    segments = flow.receive(len(NORMAL + URGENT))
    got = b"".join(payload(s) for s in segments)
    assert got == NORMAL + URGENT, f"the tester must receive what the application wrote; it got {got!r}"
    urgent = [s for s in segments if has("U")(s[TCP].flags)]
    assert urgent, (
        "RFC 9293 3.8.5: the segment carrying urgent data must have URG set (the urgent field is meaningful only "
        f"then); flags seen: {[str(s[TCP].flags) for s in segments]}"
    )
    want = seq_add(start, len(NORMAL + URGENT))
    for seg in urgent:
        points_to = seq_add(seg[TCP].seq, seg[TCP].urgptr)
        assert points_to == want, (
            f"RFC 9293 3.8.5 (MUST-62): the urgent pointer must point to the octet following the urgent data, sequence "
            f"number {want:#x}; the segment (SEQ {seg[TCP].seq:#x}, urgent field {seg[TCP].urgptr}) points to "
            f"{points_to:#x}, {points_to - want:+d} from it"
        )


@case("TCP-URG-POINTER-RECEIVED", title="SUT takes the octet before the urgent pointer as the last urgent octet", rfc=9293, section="3.8.5", level=MUST, layer=4, needs=("sockets",), also=(6093, 1122))
def test_sut_takes_the_octet_before_the_urgent_pointer_as_last_urgent_octet(lan):
    """The SUT reads a received urgent pointer as pointing to the octet following the urgent
    data: the last urgent octet is the one just before it.

    RFC 9293 3.8.5 (MUST-62) and RFC 6093 4, which asks receivers to use that interpretation
    whatever the historical alternatives. The tester sends "before-URG!tail" with URG set and the
    urgent field pointing just past "!": the octet the SUT's application receives as urgent
    (recv with MSG_OOB, RFC 6093 3.4) must be "!", not "t" (the octet the pointer itself names,
    RFC 1122's superseded reading).
    """
    flow = establish(lan)
    data = NORMAL + URGENT + b"tail"
    end_of_urgent = len(NORMAL + URGENT)
    flow.send(data, flags="PAU", urgptr=end_of_urgent)
    flow.expect_ack(flow.peer.snd_nxt)
    try:
        oob = flow.sock.recv(1, timeout=0, flags=socket.MSG_OOB)
    except OSError as exc:
        raise AssertionError(
            "RFC 9293 3.8.5: the urgent data ends before the octet the pointer names, so its last octet ('!') is "
            f"already received and must be available to the application as urgent; recv(MSG_OOB) failed: {exc}"
        ) from None
    assert oob == URGENT[-1:], (
        f"RFC 9293 3.8.5 (MUST-62): the urgent pointer points to the octet following the urgent data, so the last "
        f"urgent octet is {URGENT[-1:]!r}; the SUT's application got {oob!r} as urgent"
    )
