"""A small MSS from the peer: the SUT's segments still fit it (RFC 9293 3.7.1, MUST-16).

RFC 9293 sets no floor under the MSS a peer may announce and gives a sender no leave to raise
it: the effective send MSS "MUST be the smaller" of the send MSS and what IP allows. A stack
that enforces a minimum of its own (against the 2019 "small MSS" resource attacks) deviates.
"""

from cases.tcp.flow import establish, options_length
from conformance.catalog import MUST, case
from conformance.tcp import payload

SMALL_MSS = 40
DATA = bytes(i % 251 for i in range(400))


@case("TCP-MSS-SMALL-RESPECTED", title="SUT segments fit a small peer MSS", rfc=9293, section="3.7.1", level=MUST, layer=4, needs=("sockets",), also=(6691,))
def test_sut_segments_fit_a_small_peer_mss(lan):
    """The SUT sends no segment whose data and TCP options exceed a small MSS the peer announced (40 octets).

    RFC 9293 3.7.1: "Eff.snd.MSS = min(SendMSS+20, MMS_S) - TCPhdrsize - IPoptionsize", and the
    effective send MSS "MUST be the smaller (MUST-16)" of the send MSS and EMTU_S. The tester's
    SYN carries only MSS 40 (no timestamps, so the SUT's data segments need no options); the
    SUT's application writes 400 octets, which must arrive whole in segments of at most 40
    octets of data plus options.
    """
    flow = establish(lan, mss=SMALL_MSS)
    flow.sock.send(DATA)
    segments = flow.receive(len(DATA), timeout=3.0)
    got = b"".join(payload(s) for s in segments)
    assert got == DATA, "the tester must receive what the SUT's application wrote"
    sizes = [len(payload(s)) + options_length(s) for s in segments]
    assert max(sizes) <= SMALL_MSS, (
        f"RFC 9293 3.7.1 (MUST-16): with the peer's MSS of {SMALL_MSS}, no segment may carry more than {SMALL_MSS} "
        f"octets of data and options; the SUT sent segments of {sorted(set(sizes))} octets"
    )
