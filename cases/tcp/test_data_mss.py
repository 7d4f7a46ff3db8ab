"""The segment size the SUT sends: the peer's MSS, 536 without one, options counted in
(RFC 9293 3.7.1, RFC 6691 2, RFC 1122 4.2.2.6)."""

from cases.tcp.flow import active_open, establish, options_length
from conformance.catalog import MUST, case
from conformance.tcp import payload
from conformance.verdict import Inconclusive

DATA = bytes(i % 256 for i in range(3000))


def sut_segments_for(flow, data: bytes):
    """Let the SUT's application write `data` and collect the data segments that carry it."""
    flow.sock.send(data)
    segments = flow.receive(len(data))
    got = b"".join(payload(s) for s in segments)
    assert got == data, "the tester must receive what the SUT's application wrote"
    return segments


@case("TCP-MSS-PEER-RESPECTED", title="SUT never sends more than the peer's MSS", rfc=9293, section="3.7.1", level=MUST, layer=4, needs=("sockets",), also=(1122,))
def test_sut_never_sends_more_than_the_peers_mss(lan):
    """The SUT sends no segment with more data than the MSS the peer announced in its SYN.

    The tester's SYN announces MSS 500; the SUT's application writes 3000 octets.
    """
    flow = establish(lan, mss=500)
    sizes = [len(payload(s)) for s in sut_segments_for(flow, DATA)]
    assert max(sizes) <= 500, f"the peer announced MSS 500; the SUT sent segments of {sizes} octets"


@case("TCP-MSS-DEFAULT-536", title="SUT assumes an MSS of 536 without an MSS option", rfc=9293, section="3.7.1", level=MUST, layer=4, needs=("sockets",), also=(1122, 6691))
def test_sut_assumes_536_without_an_mss_option(lan):
    """Without an MSS option in the peer's SYN, the SUT assumes a send MSS of 536 octets (IPv4).

    The tester's SYN has no options at all; the SUT's application writes 3000 octets.
    """
    flow = establish(lan, mss=None)
    sizes = [len(payload(s)) for s in sut_segments_for(flow, DATA)]
    assert max(sizes) <= 536, (
        f"without an MSS option the send MSS must default to 536 (MUST-15); the SUT sent segments of {sizes} octets"
    )


@case("TCP-MSS-OPTIONS-COUNTED", title="SUT reduces data by the options it sends", rfc=9293, section="3.7.1", level=MUST, layer=4, needs=("sockets",), also=(6691,))
def test_sut_reduces_data_by_the_options_it_sends(lan):
    """The sender reduces the data in a segment by the length of the TCP options it includes, so
    data plus options never exceed the peer's MSS.

    Timestamps are negotiated (12 octets of options in every segment) and the tester announces
    MSS 500: no segment may carry more than 488 octets of data.
    """
    flow = establish(lan, mss=500, timestamps=True)
    if not flow.timestamps:
        # Without timestamps the SUT's data segments carry no options: nothing to reduce, and a
        # check that cannot fail proves nothing.
        raise Inconclusive("the SUT did not agree to timestamps, so its data segments carry no options to count")
    segments = sut_segments_for(flow, DATA)
    worst = max(len(payload(s)) + options_length(s) for s in segments)
    sizes = [(len(payload(s)), options_length(s)) for s in segments]
    assert worst <= 500, (
        "RFC 9293 3.7.1 (from RFC 6691): data plus TCP options must not exceed the MSS (500); the SUT sent (data, options) = "
        f"{sizes}"
    )


@case("TCP-MSS-ACTIVE-OPEN-RESPECTED", title="SUT respects the MSS of a SYN-ACK", rfc=9293, section="3.7.1", level=MUST, layer=4, needs=("sockets",), also=(1122,))
def test_sut_respects_the_mss_of_a_syn_ack(lan):
    """On a connection the SUT opened, it sends no segment larger than the MSS the SYN-ACK announced.

    The tester answers the SUT's SYN with a SYN-ACK carrying MSS 600; the application writes 3000 octets.
    """
    flow = active_open(lan, synack_options=[("MSS", 600)])
    sizes = [len(payload(s)) for s in sut_segments_for(flow, DATA)]
    assert max(sizes) <= 600, f"the SYN-ACK announced MSS 600; the SUT sent segments of {sizes} octets"
