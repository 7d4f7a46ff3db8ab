"""Options of the handshake (RFC 9293 3.7.1, RFC 6691, RFC 7323, RFC 2018): MSS, window scale,
SACK-permitted and timestamps, each sent only where the RFC allows and used as negotiated."""

from scapy.layers.inet import TCP

from cases.tcp.frames import (
    SERVICE_PORT,
    TIMESTAMPS,
    WINDOW_SCALE,
    active_open,
    declined,
    established,
    peer,
    synack_for,
)
from conformance.catalog import MAY, MUST, SHOULD, case
from conformance.tcp import seq_add, tcp_options

SACK_INFO, WSCALE_INFO = 2, 4  # TCPI_OPT_* bits of tcp_info
TSVAL = 0x11223344


def _synack(lan, options):
    """The SUT's SYN-ACK to a SYN with `options` (precondition: it comes)."""
    lan.app.listen(SERVICE_PORT)
    tcp = peer(lan)
    return synack_for(lan, tcp, tcp.segment("S", options=options))


# --- MSS -------------------------------------------------------------------------------------

@case("TCP-OPT-MSS-SENT", title="SYN-ACK carries an MSS", rfc=9293, section="3.7.1", level=SHOULD, layer=4, needs=("sockets",))
def test_syn_ack_carries_mss(lan):
    """A SYN-ACK carries an MSS option when the SUT's receive MSS differs from the default 536, even if the SYN carried none (SHLD-5)."""
    synack = _synack(lan, [])
    opts = tcp_options(synack)
    assert "MSS" in opts, f"the SYN-ACK on a 1500-byte MTU link (receive MSS 1460, not 536) should carry an MSS option; came options {synack[TCP].options}"


@case("TCP-OPT-MSS-FROM-MTU", title="MSS is the interface MTU minus the fixed headers", rfc=6691, section="2", level=SHOULD, layer=4, also=(9293,), needs=("sockets", "control"))
def test_mss_is_interface_mtu_minus_fixed_headers(lan):
    """The MSS a SUT announces is its interface MTU minus the fixed IP and TCP headers (40 bytes for IPv4), not less.

    The SUT's MTU is set to 1400 first, so an MSS fixed at 1460 or copied from the SYN would show.
    """
    lan.control.set_mtu(lan.sut.ifname, 1400)
    synack = _synack(lan, [("MSS", 1460)])
    mss = tcp_options(synack).get("MSS")
    assert mss == 1360, f"with a 1400-byte MTU the MSS option should be 1400 - 20 - 20 = 1360; came {mss}"


@case("TCP-OPT-MSS-IN-SYN", title="Active-open SYN carries an MSS", rfc=9293, section="3.7.1", level=SHOULD, layer=4, needs=("sockets",))
def test_active_open_syn_carries_mss(lan):
    """The SUT's own SYN carries an MSS option when its receive MSS differs from 536."""
    _tcp, _sock, syn = active_open(lan)
    mss = tcp_options(syn).get("MSS")
    assert mss is not None, f"the SUT's SYN should carry an MSS option; came options {syn[TCP].options}"


# --- window scale ----------------------------------------------------------------------------

@case("TCP-OPT-WS-ONLY-IF-OFFERED", title="No Window Scale in a SYN-ACK unless offered", rfc=7323, section="2.2", level=MUST, layer=4, needs=("sockets",))
def test_no_window_scale_in_syn_ack_unless_offered(lan):
    """A SYN-ACK carries a Window Scale option only if the SYN did.

    RFC 7323 2.2 permits the option in a <SYN,ACK> (a MAY) only if one was received in the
    <SYN>; outside that permission it is not sent, which the case reads as MUST NOT.
    """
    synack = _synack(lan, [("MSS", 1460)])
    assert "WScale" not in tcp_options(synack), (
        f"the SYN carried no Window Scale option, so the SYN-ACK must not either; came options {synack[TCP].options}"
    )


@case("TCP-OPT-WS-ANSWERED", rfc=7323, section="2.2", level=MAY, layer=4, needs=("sockets",))
def test_window_scale_offer_is_answered(lan):
    """A Window Scale option in the SYN may be answered by one in the SYN-ACK, with a shift count of at most 14, and then scaling is in use both ways."""
    synack = _synack(lan, [("MSS", 1460), ("WScale", 5)])
    shift = tcp_options(synack).get("WScale")
    assert shift is not None, f"the SUT did not answer the Window Scale offer; options {synack[TCP].options}"
    assert shift <= 14, f"the shift count sent must not exceed 14; came {shift}"


@case("TCP-OPT-WS-CLAMP-14", rfc=7323, section="2.3", level=MUST, layer=4, needs=("sockets",), optional=WINDOW_SCALE)
def test_window_scale_above_14_is_used_as_14(lan):
    """A received Window Scale shift count above 14 is used as 14."""
    _tcp, sock, synack = established(lan, options=[("MSS", 1460), ("WScale", 15)])
    if "WScale" not in tcp_options(synack):
        declined(WINDOW_SCALE, "its SYN-ACK did not answer the Window Scale offer")
    info = sock.tcp_info()
    assert info.snd_wscale == 14, f"a shift count of 15 must be used as 14; the SUT's send scale is {info.snd_wscale}"


@case("TCP-OPT-WS-NON-SYN-IGNORED", title="Window Scale outside a SYN is ignored", rfc=7323, section="2.2", level=MUST, layer=4, needs=("sockets",), optional=WINDOW_SCALE)
def test_window_scale_outside_syn_is_ignored(lan):
    """A Window Scale option in a segment without SYN is ignored: the scale agreed in the handshake stays."""
    tcp, sock, synack = established(lan, options=[("MSS", 1460), ("WScale", 2)])
    if "WScale" not in tcp_options(synack):
        declined(WINDOW_SCALE, "its SYN-ACK did not answer the Window Scale offer")
    tcp.send_data(b"scale stays", options=[("WScale", 9), ("NOP", None)])
    tcp.expect_ack()
    info = sock.tcp_info()
    assert info.snd_wscale == 2, f"the send window scale must stay at the negotiated 2; it became {info.snd_wscale}"


@case("TCP-OPT-WS-NOT-RETURNED", rfc=7323, section="2.2", level=MUST, layer=4, needs=("sockets",), optional=WINDOW_SCALE)
def test_active_open_without_window_scale_answer_uses_no_scaling(lan):
    """When the SUT offered Window Scale in its SYN and the SYN-ACK carries none, both scale factors are zero."""
    tcp, sock, syn = active_open(lan)
    if "WScale" not in tcp_options(syn):
        declined(WINDOW_SCALE, "its own SYN offered no Window Scale option")
    lan.tester.send(tcp.segment("SA", seq=tcp.isn, ack=seq_add(syn[TCP].seq, 1), options=[("MSS", 1460)]))
    tcp.snd_nxt = seq_add(tcp.isn, 1)
    tcp.expect_ack()
    info = sock.tcp_info()
    assert info.state == "ESTABLISHED", f"the connection must be ESTABLISHED; it is {info.state}"
    assert not info.options & WSCALE_INFO and (info.snd_wscale, info.rcv_wscale) == (0, 0), (
        f"without a Window Scale option in the SYN-ACK both sides must use scale 0; tcp_info says "
        f"wscale {'on' if info.options & WSCALE_INFO else 'off'}, send {info.snd_wscale}, receive {info.rcv_wscale}"
    )


# --- SACK-permitted --------------------------------------------------------------------------

@case("TCP-OPT-SACKOK-ANSWERED", title="SACK-permitted offer is answered", rfc=2018, section="2", level=MAY, layer=4, needs=("sockets",))
def test_sack_permitted_offer_is_answered(lan):
    """A SACK-permitted option in the SYN may be answered by one in the SYN-ACK."""
    _tcp, sock, synack = established(lan, options=[("MSS", 1460), ("SAckOK", b"")])
    assert "SAckOK" in tcp_options(synack), f"the SUT did not answer the SACK-permitted offer; options {synack[TCP].options}"
    assert sock.tcp_info().options & SACK_INFO, "the SYN-ACK said SACK-permitted but tcp_info shows SACK off"


# --- timestamps ------------------------------------------------------------------------------

@case("TCP-OPT-TS-ONLY-IF-OFFERED", title="No Timestamps in a SYN-ACK unless offered", rfc=7323, section="3.2", level=MUST, layer=4, needs=("sockets",))
def test_no_timestamps_in_syn_ack_unless_offered(lan):
    """A SYN-ACK carries a Timestamps option only if the SYN did.

    RFC 7323 3.2 permits TSopt in a <SYN,ACK> (a MAY) only if one was received in the initial
    <SYN>; outside that permission it is not sent, which the case reads as MUST NOT.
    """
    synack = _synack(lan, [("MSS", 1460)])
    assert "Timestamp" not in tcp_options(synack), (
        f"the SYN carried no Timestamps option, so the SYN-ACK must not either; came options {synack[TCP].options}"
    )


@case("TCP-OPT-TS-SYN-ACK-ECHO", title="SYN-ACK echoes the SYN's timestamp", rfc=7323, section="3.2", level=MUST, layer=4, needs=("sockets",), optional=TIMESTAMPS)
def test_syn_ack_echoes_syn_timestamp(lan):
    """A SYN-ACK with a Timestamps option echoes the SYN's TSval in its TSecr."""
    synack = _synack(lan, [("MSS", 1460), ("Timestamp", (TSVAL, 0))])
    ts = tcp_options(synack).get("Timestamp")
    if ts is None:
        declined(TIMESTAMPS, "its SYN-ACK did not answer the Timestamps offer")
    assert ts[1] == TSVAL, f"TSecr of the SYN-ACK must echo the SYN's TSval {TSVAL:#x}; came {ts[1]:#x}"


@case("TCP-OPT-TS-NOT-NEGOTIATED-IGNORED", rfc=7323, section="3.2", level=MUST, layer=4, needs=("sockets",))
def test_timestamps_on_connection_without_them_are_ignored(lan):
    """A Timestamps option on a connection that did not negotiate timestamps is ignored and the segment processed normally: its data is delivered, and no timestamps are sent back."""
    tcp, sock, _ = established(lan, options=[("MSS", 1460)])
    tcp.send_data(b"stray timestamp", options=[("NOP", None), ("NOP", None), ("Timestamp", (TSVAL, 0))])
    ack = tcp.expect_ack()
    assert "Timestamp" not in tcp_options(ack), f"timestamps were not negotiated, so the SUT must not send them; its ACK carries {ack[TCP].options}"
    got = sock.recv()
    assert got == b"stray timestamp", f"the segment must be processed normally and its data delivered; the application read {got!r}"


@case("TCP-OPT-TS-SYN-TSECR-ZERO", title="Active-open SYN has a zero TSecr", rfc=7323, section="3.2", level=SHOULD, layer=4, needs=("sockets",), optional=TIMESTAMPS)
def test_active_open_syn_has_zero_tsecr(lan):
    """The SUT's SYN, which has no ACK bit, carries TSecr zero in its Timestamps option."""
    _tcp, _sock, syn = active_open(lan)
    ts = tcp_options(syn).get("Timestamp")
    if ts is None:
        declined(TIMESTAMPS, "its own SYN carries no Timestamps option")
    assert ts[1] == 0, f"without the ACK bit the TSecr field should be zero; the SUT's SYN carries {ts[1]:#x}"


