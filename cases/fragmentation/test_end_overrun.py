"""A fragment whose data runs past the end the last fragment set (RFC 791 3.2).

RFC 791's reassembly procedure takes the datagram's length from the fragment with MF clear
(TDL <- FO*8 + TL - IHL*4) and hands up exactly TDL octets. A fragment that claims data beyond
that end is inconsistent: a SUT may drop the whole datagram, or deliver it with exactly the
data of the consistent fragments, but never with octets that no fragment placed inside TDL or
with the excess appended.
"""

from scapy.layers.inet import IP

from cases.fragmentation.frames import Piece, fragment
from cases.ipv4.frames import echo_data, echo_datagram, echo_reply, ether, frames_since, ip_header, next_ident
from conformance.catalog import MUST, case
from conformance.verdict import Inconclusive

DATA = 256  # echo data octets: the ICMP message is 264 octets, so the datagram's end is 264
FIRST = Piece(0, 128)
LAST = Piece(128, 8 + DATA, last=True)
OVERRUN = 16  # the stray fragment covers [256, 272): 8 real octets, then 8 past the end


def _reply_data(reply) -> bytes:
    ip = reply[IP]
    return bytes(ip)[ip.ihl * 4 + 8 : ip.len]


def _overrun_fragment(datagram: bytes, start: int) -> bytes:
    """A fragment with MF set whose data starts at `start`, repeats the datagram's own octets up
    to its end and then runs 8 zero octets past it (zeros leave the ICMP checksum valid, so a
    SUT that appended them would still answer, and show them)."""
    body = datagram[20:]
    chunk = body[start:] + bytes(start + OVERRUN - len(body))
    ident = int.from_bytes(datagram[4:6], "big")
    src, dst = ".".join(map(str, datagram[12:16])), ".".join(map(str, datagram[16:20]))
    return ip_header(src=src, dst=dst, proto=datagram[9], payload_len=len(chunk), ident=ident, flags=0x2000,
                     offset=start) + chunk


@case("FRAG-REASM-END-OVERRUN", rfc=791, section="3.2", level=MUST, layer=3, also=(1122,))
def test_fragment_past_the_end_never_yields_garbage(lan):
    """A fragment that extends past the end set by the last fragment never makes the SUT deliver the datagram with other data.

    RFC 791 3.2: the reassembled datagram's data length is the one the last fragment (MF=0)
    sets, and its octets are those the fragments placed. The tester sends an Echo Request of
    264 ICMP octets as: the last fragment [128, 264), then a fragment with MF set covering
    [256, 272) (its first 8 octets consistent, the next 8 past the end), then the first fragment
    [0, 128). Either no Echo Reply comes (the SUT dropped the inconsistent datagram) or the
    reply returns exactly the 256 data octets sent. Positive control: the same datagram in the
    same two consistent fragments, without the stray one, must be answered.
    """
    control = next_ident()
    for frag in fragment(echo_datagram(lan, control, echo_data(DATA, control)), [FIRST, LAST]):
        lan.tester.send(ether(lan, frag))
    try:
        lan.tester.expect(echo_reply(lan, control))
    except AssertionError:
        raise Inconclusive("the SUT did not answer the same Echo Request in two consistent fragments, so its "
                           "silence about the overrun cannot be judged") from None

    ident = next_ident()
    data = echo_data(DATA, ident)
    datagram = echo_datagram(lan, ident, data)
    first, last = fragment(datagram, [FIRST, LAST])
    start = len(lan.tester.capture.frames)
    for frame in (last, _overrun_fragment(datagram, 8 + DATA - 8), first):
        lan.tester.send(ether(lan, frame))
    lan.tester.sync()
    for reply in [p for p in frames_since(lan, start) if echo_reply(lan, ident)(p)]:
        got = _reply_data(reply)
        assert got == data, (
            f"RFC 791 3.2: the datagram's end is set by its last fragment ({DATA} data octets); delivered, it must hold "
            f"exactly the data sent, yet the Echo Reply returned {len(got)} octets"
            + (f", differing from octet {next(i for i in range(min(len(got), DATA)) if got[i] != data[i])}"
               if got[:DATA] != data[: len(got)] else f", the first {min(len(got), DATA)} as sent")
        )
