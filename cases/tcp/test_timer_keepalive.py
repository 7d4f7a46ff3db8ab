"""Keep-alives: off by default, a default interval of at least two hours, sent only after an
idle interval, and without data (RFC 1122 4.2.3.6). The interval is shortened through the
application's own socket options (TCP_KEEPIDLE), never waited out at its default."""

import socket

from cases.tcp.flow import arrival_ns, establish, last_sent_ns
from conformance.catalog import MUST, SHOULD, case
from conformance.tcp import payload, seq_add
from conformance.verdict import Inconclusive

TWO_HOURS = 7200


def keepalive_on(flow, idle_s: int = 1) -> None:
    flow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    flow.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle_s)
    flow.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)


@case("TCP-TIMER-KEEPALIVE-OFF-BY-DEFAULT", title="Keep-alives are off by default", rfc=1122, section="4.2.3.6", level=MUST, layer=4, needs=("sockets",),
      waits="1.25 s watched for a keep-alive with a 1 s interval")
def test_keepalive_is_off_by_default(lan):
    """Keep-alives, if implemented, default to off: neither an accepted connection nor one the
    application opened has them enabled unless the application asks.

    The SUT's own report (SO_KEEPALIVE) must say off on both. Then the behaviour: two accepted
    connections get a keep-alive interval of 1 s (TCP_KEEPIDLE); the application turns
    keep-alives on for one of them only, the control. Within 1.25 s of the handshakes the
    control must send a keep-alive (or keep-alives are not shown to work at all, and the silence
    proves nothing: INCONCLUSIVE) and the untouched connection must send nothing.
    """
    untouched = establish(lan)
    control = establish(lan, listener=untouched.listener, sport=untouched.peer.sport + 1, isn=0x30000000)
    opened = lan.app.connect(lan.tester.ip, 9200)
    flags = {"an accepted": untouched.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
             "an opened": opened.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)}
    assert not any(flags.values()), (
        "keep-alives must default to off; SO_KEEPALIVE reads " + " and ".join(f"{v} on {k} connection" for k, v in flags.items())
    )
    for flow in (untouched, control):
        flow.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        flow.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    control.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    lan.tester.expect_none(untouched.from_sut(), window=1.25)
    try:
        control.take(control.from_sut(), timeout=1.0)
    except AssertionError:
        raise Inconclusive(
            "the control connection, with keep-alives turned on and a 1 s interval, sent no keep-alive within "
            "2.25 s, so keep-alives are not shown to work and the untouched connection's silence proves nothing"
        ) from None


@case("TCP-TIMER-KEEPALIVE-DEFAULT-2H", title="Keep-alive interval defaults to at least two hours", rfc=1122, section="4.2.3.6", level=MUST, layer=4, needs=("sockets",),
      waits="the 1 s keep-alive interval")
def test_keepalive_interval_defaults_to_at_least_two_hours(lan):
    """The keep-alive interval is configurable and defaults to no less than two hours.

    The interval of a freshly accepted connection is read from the SUT (TCP_KEEPIDLE) before the
    case sets anything. That this option is the interval that governs the keep-alives is then
    shown by behaviour: set to 1 s, with keep-alives on, it must bring a keep-alive at least
    0.95 s (timer slack) after the tester's last segment; if none comes within 3 s, neither the
    configuration nor the default read can be shown to mean anything (INCONCLUSIVE).
    """
    flow = establish(lan)
    idle = flow.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
    assert idle >= TWO_HOURS, f"the keep-alive interval must default to at least {TWO_HOURS} s; it is {idle} s"
    keepalive_on(flow)
    quiet_from = last_sent_ns(lan.tester)
    try:
        probe = flow.take(flow.from_sut(), timeout=3.0)
    except AssertionError:
        raise Inconclusive(
            "with keep-alives on and TCP_KEEPIDLE set to 1 s no keep-alive came within 3 s, so the option is not "
            "shown to govern them and the default it reads proves nothing"
        ) from None
    after = (arrival_ns(lan.tester, probe) - quiet_from) / 1e9
    assert after >= 0.95, (
        f"the interval must be configurable: set to 1 s, the keep-alive must wait 1 s of silence; it came after {after:.3f} s"
    )


@case("TCP-TIMER-KEEPALIVE-ONLY-WHEN-IDLE", title="Keep-alive is sent only after an idle interval", rfc=1122, section="4.2.3.6", level=MUST, layer=4, needs=("sockets",),
      waits="1.5 s of traffic, then the 1 s keep-alive interval")
def test_keepalive_is_sent_only_after_an_idle_interval(lan):
    """Keep-alive segments are sent only when nothing has been received on the connection for the
    keep-alive interval.

    With a 1 s interval, the tester sends a data segment every 0.3 s for 1.5 s: no keep-alive
    may come meanwhile. Then it goes quiet, and the first keep-alive must come no earlier than
    1 s after the tester's last segment (0.95 s accepted for timer slack).
    """
    flow = establish(lan)
    keepalive_on(flow)
    for _ in range(5):
        flow.send(b"k")
        flow.expect_ack(flow.peer.snd_nxt)
        try:
            probe = flow.take(flow.from_sut(seq=seq_add(flow.peer.rcv_nxt, -1)), timeout=0.3)
        except AssertionError:
            continue
        raise AssertionError(
            "a keep-alive must only be sent after an idle interval; one came while the tester sent data every 0.3 s: "
            + probe.summary()
        )
    quiet_from = last_sent_ns(lan.tester)
    probe = flow.take(flow.from_sut(seq=seq_add(flow.peer.rcv_nxt, -1)), timeout=3.0)
    idle = (arrival_ns(lan.tester, probe) - quiet_from) / 1e9
    assert idle >= 0.95, f"with a 1 s interval the keep-alive must wait 1 s of silence; it came after {idle:.3f} s"


@case("TCP-TIMER-KEEPALIVE-NO-DATA", title="Keep-alive segment carries no data", rfc=1122, section="4.2.3.6", level=SHOULD, layer=4, needs=("sockets",),
      waits="the 1 s keep-alive interval")
def test_keepalive_segment_carries_no_data(lan):
    """A keep-alive segment carries no data (at most one garbage octet where configured so).

    "An implementation SHOULD send a keep-alive segment with no data; however, it MAY be
    configurable to send a keep-alive segment containing one garbage octet". The sequence number
    RFC 1122 only describes (such a segment "generally contains SEG.SEQ = SND.NXT-1") is not
    judged.
    """
    flow = establish(lan)
    keepalive_on(flow)
    probe = flow.take(flow.from_sut(), timeout=3.0)
    assert payload(probe) == b"", f"a keep-alive should carry no data; it carried {len(payload(probe))} octet(s)"
