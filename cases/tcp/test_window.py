"""The send window: the peer's offered window bounds what the SUT sends, and a zero window is
probed (RFC 9293 3.8.6, 3.8.6.1; RFC 1122 4.2.2.17)."""

import time
from itertools import pairwise

from cases.tcp.flow import arrival_ns, data_past, establish, forbid, has_no, seq_add
from cases.tcp.frames import precondition
from conformance.catalog import MUST, SHOULD, case
from conformance.tcp import payload

PROBE_TIMEOUT = 2.5  # the first probe comes after one RTO (1 s before any RTT sample), with room for a busy machine


@case("TCP-WINDOW-RESPECTED", title="SUT sends no data beyond the offered window", rfc=9293, section="3.8.6", level=MUST, layer=4, needs=("sockets",), also=(1122,))
def test_sut_sends_no_data_beyond_the_offered_window(lan):
    """The SUT sends no data beyond the right edge of the window the peer offered (SND.UNA + SND.WND).

    RFC 9293 3.8.6: the sender "packages the data to be transmitted into segments that fit the
    current window"; its glossary puts the new sequence numbers a TCP may emit between SND.NXT
    and SND.UNA + SND.WND - 1. Neither sentence carries a keyword; they are read as MUST.

    The tester offers a 1000-octet window and acknowledges nothing; the SUT's application writes
    5000 octets. The SUT may send up to 1000 octets, and not one more.
    """
    flow = establish(lan, window=1000)
    edge = seq_add(flow.peer.rcv_nxt, 1000)
    flow.sock.send(bytes(5000))
    flow.receive(1000, ack=False)
    forbid(lan.tester, data_past(flow, edge),
           f"the peer offered 1000 octets, so the SUT must not send past {edge:#x}")


@case("TCP-WINDOW-ZERO-PROBED", title="SUT probes a zero window", rfc=9293, section="3.8.6.1", level=MUST, layer=4, needs=("sockets",),
      also=(1122,), waits="one retransmission timeout before the first probe (0.2-1 s)")
def test_sut_probes_a_zero_window(lan):
    """When the peer offers a zero window and data is waiting, the SUT probes the window, and
    sends the data once the window opens.

    The tester's handshake ACK offers window 0; the application writes 100 octets. A probe
    (any segment of the connection) must come; the tester then opens the window and the 100
    octets must follow.
    """
    flow = establish(lan, ack_window=0)
    flow.sock.send(b"p" * 100)
    try:
        flow.take(flow.from_sut(), timeout=PROBE_TIMEOUT)
    except AssertionError:
        raise AssertionError(
            f"probing of zero windows must be supported (MUST-36); no probe came within {PROBE_TIMEOUT} s"
        ) from None
    flow.peer.window = 65535
    flow.send(flags="A")
    data = b"".join(payload(s) for s in flow.receive(100))
    assert data == b"p" * 100, "once the window opened, the SUT must send the waiting data"


@case("TCP-WINDOW-ZERO-PROBE-BACKOFF", rfc=9293, section="3.8.6.1", level=SHOULD, layer=4, needs=("sockets",),
      also=(1122,), waits="three zero-window probe intervals (about 1.4 s on Linux; each awaited up to 2.5 times the last)")
def test_zero_window_probe_interval_grows_exponentially(lan):
    """The interval between successive zero-window probes grows exponentially (SHLD-30).

    The window stays closed and the tester stays silent, so only the SUT's own timer paces the
    probes: the time from the write to the first probe, and then between probes, must grow by
    at least half each time (a doubling, with room for timer slack).
    """
    flow = establish(lan, ack_window=0)
    times = [time.time_ns()]  # the window is already closed: the probe timer starts with this write
    flow.sock.send(b"p" * 100)
    with precondition("the SUT probes the zero window (TCP-WINDOW-ZERO-PROBED)"):
        times.append(arrival_ns(lan.tester, flow.take(flow.from_sut(), timeout=PROBE_TIMEOUT * 2)))
    for _ in range(2):
        # a backed-off interval is twice the last or more: wait for up to 2.5 times the last gap
        wait = max(PROBE_TIMEOUT * 2, 2.5 * (times[-1] - times[-2]) / 1e9)
        probe = flow.take(flow.from_sut(), timeout=wait)
        times.append(arrival_ns(lan.tester, probe))
    gaps = [(b - a) / 1e6 for a, b in pairwise(times)]
    shown = ", ".join(f"{g:.0f}" for g in gaps)
    for earlier, later in pairwise(gaps):
        assert later >= 1.5 * earlier, f"probe intervals should grow exponentially; they were {shown} ms"


@case("TCP-WINDOW-ZERO-KEPT-OPEN", rfc=9293, section="3.8.6.1", level=MUST, layer=4, needs=("sockets", "sysctl"),
      also=(1122,), waits="four zero-window probe intervals with tcp_retries2=1 (about 1.4 s)")
def test_connection_stays_open_while_probes_are_answered(lan):
    """As long as the receiver acknowledges the probes, the sender keeps the connection open, however
    long the window stays closed (MUST-37).

    The retransmission limit is set to 1 (net.ipv4.tcp_retries2), so a sender that counted answered
    probes as failures would give up after the second; the tester answers four probes with a
    zero window and the connection must still be ESTABLISHED, with no error.
    """
    lan.control.set_sysctl("net.ipv4.tcp_retries2", 1)
    flow = establish(lan, ack_window=0)
    flow.sock.send(b"p" * 100)
    for n in range(4):
        try:
            flow.take(flow.from_sut(where={"TCP.flags": has_no("RF")}), timeout=PROBE_TIMEOUT)
        except AssertionError:
            raise AssertionError(f"the SUT stopped probing after {n} answered probes") from None
        flow.send(flags="A")
    info = flow.sock.tcp_info()
    assert info.state == "ESTABLISHED" and flow.sock.error() == 0, (
        f"the connection must stay open while probes are acknowledged; it is {info.state} "
        f"with error {flow.sock.error()}"
    )
    forbid(lan.tester, flow.from_sut(where={"TCP.flags": lambda f: "R" in str(f)}),
           "the SUT must not reset a connection whose peer answers its window probes")
