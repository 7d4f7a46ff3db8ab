"""Reset generation for segments that belong to no connection (RFC 9293 3.5.2, 3.10.7.1).

In state CLOSED (no socket for the destination port) every segment except a RST is answered
with a RST: when the segment has an ACK, the RST takes its sequence number from SEG.ACK and
carries no ACK; otherwise its sequence number is zero and it acknowledges SEG.SEQ + SEG.LEN,
where the SYN and FIN flags each count one. The last case checks the receiving side: a RST
that carries data.

3.10.7.1 and 3.5.2 state these rules without RFC 2119 keywords ("causes a RST to be sent in
response", "a reset is sent in response to any incoming segment except another reset"); the
CLOSED-state cases read them as MUST. The last case's SHOULD is 3.5.3's SHLD-2.
"""

import errno

from scapy.layers.inet import TCP

from cases.tcp.frames import CLOSED_PORT, established, peer
from conformance.catalog import MUST, SHOULD, case
from conformance.tcp import seq_add

SEQ = 0x2468ACE0
ACK = 0x13579BDF


def _closed(lan):
    return peer(lan, dport=CLOSED_PORT, isn=SEQ)


def _assert_rst_acking(rst, ack: int, why: str) -> None:
    """The answer to a segment without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>."""
    assert rst[TCP].flags == "RA", f"the answer to a segment without ACK must be RST+ACK; came flags {rst[TCP].flags}"
    assert (rst[TCP].seq, rst[TCP].ack) == (0, ack), (
        f"the RST must be <SEQ=0><ACK={ack:#x}> ({why}); came <SEQ={rst[TCP].seq:#x}><ACK={rst[TCP].ack:#x}>"
    )


def _assert_rst_from_ack_field(rst) -> None:
    """The answer to a segment with ACK: <SEQ=SEG.ACK><CTL=RST>, without ACK."""
    assert rst[TCP].flags == "R", f"the RST for a segment with ACK must carry RST alone; came flags {rst[TCP].flags}"
    assert rst[TCP].seq == ACK, f"the RST must take its sequence number from SEG.ACK ({ACK:#x}); came {rst[TCP].seq:#x}"


@case("TCP-RST-CLOSED-SYN", title="SYN to a closed port gets a RST+ACK", rfc=9293, section="3.10.7.1", level=MUST, layer=4, also=(1122,))
def test_syn_to_closed_port_gets_rst_ack(lan):
    """A SYN to a port with no listener is answered with <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>."""
    tcp = _closed(lan)
    rst = lan.tester.exchange(tcp.segment("S", options=[("MSS", 1460)]), expect=tcp.from_sut())
    _assert_rst_acking(rst, seq_add(SEQ, 1), "the SYN counts one")


@case("TCP-RST-CLOSED-SYN-DATA", title="RST for a SYN with data to a closed port acknowledges the SYN and the data", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_syn_with_data_to_closed_port_acknowledges_syn_and_data(lan):
    """A SYN carrying data to a closed port is answered with a RST acknowledging SEG.SEQ + 1 + data length."""
    tcp = _closed(lan)
    rst = lan.tester.exchange(tcp.segment("S", b"x" * 20), expect=tcp.from_sut())
    _assert_rst_acking(rst, seq_add(SEQ, 21), "SEG.SEQ + SEG.LEN: the SYN and 20 bytes")


@case("TCP-RST-CLOSED-ACK", title="ACK to a closed port gets a RST from the ACK field", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_ack_to_closed_port_gets_rst_from_ack_field(lan):
    """An ACK-bearing segment to a closed port is answered with <SEQ=SEG.ACK><CTL=RST>, without ACK."""
    tcp = _closed(lan)
    rst = lan.tester.exchange(tcp.segment("A", ack=ACK), expect=tcp.from_sut())
    _assert_rst_from_ack_field(rst)


@case("TCP-RST-CLOSED-DATA-ACK", title="Data with ACK to a closed port gets a RST from the ACK field", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_data_with_ack_to_closed_port_gets_rst_from_ack_field(lan):
    """A data segment with ACK to a closed port is answered with <SEQ=SEG.ACK><CTL=RST>, whatever its length."""
    tcp = _closed(lan)
    rst = lan.tester.exchange(tcp.segment("PA", b"y" * 100, ack=ACK), expect=tcp.from_sut())
    _assert_rst_from_ack_field(rst)


@case("TCP-RST-CLOSED-DATA-NOACK", title="RST for data without ACK to a closed port acknowledges the data", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_data_without_ack_to_closed_port_acknowledges_data(lan):
    """A data segment without ACK to a closed port is answered with <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>."""
    tcp = _closed(lan)
    rst = lan.tester.exchange(tcp.segment("P", b"z" * 33), expect=tcp.from_sut())
    _assert_rst_acking(rst, seq_add(SEQ, 33), "SEG.SEQ + SEG.LEN: 33 bytes")


@case("TCP-RST-CLOSED-SYN-FIN", title="RST for a SYN+FIN to a closed port counts both flags", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_syn_fin_to_closed_port_counts_both_flags(lan):
    """A SYN+FIN to a closed port is answered with a RST acknowledging SEG.SEQ + 2: SYN and FIN each occupy one sequence number."""
    tcp = _closed(lan)
    rst = lan.tester.exchange(tcp.segment("SF"), expect=tcp.from_sut())
    _assert_rst_acking(rst, seq_add(SEQ, 2), "SYN and FIN count one each")


@case("TCP-RST-CLOSED-NULL", title="Segment without flags to a closed port gets a RST", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_segment_without_flags_to_closed_port_gets_rst(lan):
    """A segment with no control flags at all to a closed port is answered with <SEQ=0><ACK=SEG.SEQ><CTL=RST,ACK>."""
    tcp = _closed(lan)
    rst = lan.tester.exchange(tcp.segment(""), expect=tcp.from_sut())
    _assert_rst_acking(rst, SEQ, "the segment occupies no sequence space")


@case("TCP-RST-CLOSED-FIN", title="RST for a FIN without ACK to a closed port counts the FIN", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_fin_without_ack_to_closed_port_counts_fin(lan):
    """A FIN without ACK to a closed port is answered with <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>: the FIN occupies one sequence number."""
    tcp = _closed(lan)
    rst = lan.tester.exchange(tcp.segment("F"), expect=tcp.from_sut())
    _assert_rst_acking(rst, seq_add(SEQ, 1), "the FIN counts one")


@case("TCP-RST-CLOSED-NO-RST-FOR-RST", title="RST to a closed port is not answered", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_rst_to_closed_port_is_not_answered(lan):
    """A RST to a closed port is discarded: a reset is never sent in answer to a reset."""
    tcp = _closed(lan)
    lan.tester.send(tcp.segment("R"))
    lan.tester.expect_none(tcp.from_sut())


@case("TCP-RST-CLOSED-NO-RST-FOR-RST-ACK", title="RST+ACK to a closed port is not answered", rfc=9293, section="3.10.7.1", level=MUST, layer=4)
def test_rst_ack_to_closed_port_is_not_answered(lan):
    """A RST+ACK to a closed port is discarded without a reset in answer."""
    tcp = _closed(lan)
    lan.tester.send(tcp.segment("RA", ack=ACK))
    lan.tester.expect_none(tcp.from_sut())


# --- reset processing -------------------------------------------------------------------------

@case("TCP-RST-RECEIVED-WITH-DATA", title="RST carrying data is honoured", rfc=9293, section="3.5.3", level=SHOULD, layer=4, also=(1122,), needs=("sockets",))
def test_rst_carrying_data_is_honoured(lan):
    """A RST segment that carries data (a diagnostic text) is still accepted as a reset when its sequence number is RCV.NXT (SHLD-2)."""
    tcp, sock, _ = established(lan)
    lan.tester.send(tcp.segment("R", b"connection reset: diagnostic text", ack=0))
    tcp.sync()
    err = sock.error()
    assert err == errno.ECONNRESET, f"a RST with data at RCV.NXT should reset the connection (ECONNRESET); SO_ERROR is {errno.errorcode.get(err, err)}"
