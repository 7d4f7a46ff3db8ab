"""The reassembly timeout and ICMP Time Exceeded code 1 (RFC 1122 3.3.2, RFC 792).

Precondition of every case here: the SUT's reassembly timeout is shortened to 1 or 2 seconds
through its own setting (net.ipv4.ipfrag_time on Linux) instead of waiting out the default;
the wait for that timeout cannot be avoided and is declared in `waits`.
"""

import time

from scapy.layers.inet import ICMP, IPerror

from cases.fragmentation.frames import fragment, frames_since, split
from cases.ipv4.frames import echo_data, echo_datagram, echo_reply, ether, ip_like, next_ident
from conformance.catalog import MUST, SHOULD, case
from conformance.match import Matcher, like
from conformance.verdict import Inconclusive

TIMEOUT_S = 1
LATE_S = 4.0  # how long past the timeout an answer may take on a loaded machine


def time_exceeded(lan, ident: int) -> Matcher:
    return like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / ICMP(type=11) / IPerror(id=ident),
                name=f"Time Exceeded about the datagram id={ident:#x}")


def incomplete(lan, ident: int) -> tuple[bytes, bytes]:
    """The first and the last fragment of an Echo Request of 300 data octets."""
    first, last = fragment(echo_datagram(lan, ident, echo_data(300, ident)), split(308, 160))
    return first, last


@case("FRAG-TIMEOUT-TIME-EXCEEDED", rfc=1122, section="3.3.2", level=MUST, layer=3, needs=("sysctl",), also=(792,),
      waits="reassembly timeout, 1 s after net.ipv4.ipfrag_time=1")
def test_timeout_with_fragment_zero_sends_time_exceeded(lan):
    """When reassembly times out and fragment zero has arrived, the SUT sends ICMP Time Exceeded code 1 quoting fragment zero.

    3.3.2: "If this timeout expires, the partially-reassembled datagram MUST be discarded and an
    ICMP Time Exceeded message sent to the source host (if fragment zero has been received)";
    RFC 792: code 1 is "fragment reassembly time exceeded". Only the first fragment is sent.
    """
    lan.control.set_sysctl("net.ipv4.ipfrag_time", TIMEOUT_S)
    ident = next_ident()
    first, _ = incomplete(lan, ident)
    lan.tester.send(ether(lan, first))
    error = lan.tester.expect(time_exceeded(lan, ident), timeout=TIMEOUT_S + LATE_S)
    assert error[ICMP].code == 1, f"RFC 792: reassembly timeout is Time Exceeded code 1; the SUT sent code {error[ICMP].code}"
    quoted = error[IPerror]
    assert quoted.frag == 0 and quoted.flags.MF, f"the error must quote fragment zero (offset 0, MF set); it quoted offset {quoted.frag * 8}, flags {quoted.flags}"


@case("FRAG-TIMEOUT-NO-ERROR-WITHOUT-FIRST", rfc=1122, section="3.3.2", level=MUST, layer=3, needs=("sysctl", "counters"),
      also=(792,), waits="two reassembly timeouts, 1 s and 2 s after net.ipv4.ipfrag_time")
def test_timeout_without_fragment_zero_sends_no_error(lan):
    """When reassembly times out before fragment zero arrived, no Time Exceeded is sent.

    3.3.2 sends Time Exceeded only "if fragment zero has been received" (RFC 1122 3.2.2 also
    forbids ICMP errors about non-initial fragments). Datagram A's last fragment arrives with a
    1 s timeout in force; then, with the timeout at 2 s, datagram B's first fragment. B's Time
    Exceeded, due about a second after A's timeout, proves A's timeout has passed: none may
    have come for A. Ip.ReasmFails must show that both reassemblies timed out, or the absence
    proves nothing (INCONCLUSIVE).
    """
    lan.control.set_sysctl("net.ipv4.ipfrag_time", TIMEOUT_S)
    a, b = next_ident(), next_ident()
    _, a_last = incomplete(lan, a)
    b_first, _ = incomplete(lan, b)
    before = lan.control.counters()
    start = len(lan.tester.capture.frames)
    lan.tester.send(ether(lan, a_last))
    lan.control.set_sysctl("net.ipv4.ipfrag_time", TIMEOUT_S + 1)
    lan.tester.send(ether(lan, b_first))
    lan.tester.expect(time_exceeded(lan, b), timeout=TIMEOUT_S + 1 + LATE_S)
    about_a = [p for p in frames_since(lan, start) if time_exceeded(lan, a)(p)]
    assert not about_a, f"RFC 1122 3.3.2: no Time Exceeded may be sent when fragment zero never arrived; got {about_a[0].summary()}"
    failed = lan.control.counters()["Ip.ReasmFails"] - before["Ip.ReasmFails"]
    if failed != 2:
        raise Inconclusive(f"both reassemblies must have timed out (Ip.ReasmFails +2) for the absence to count; it moved by {failed}")


@case("FRAG-TIMEOUT-DISCARDS", rfc=1122, section="3.3.2", level=MUST, layer=3, needs=("sysctl",),
      waits="reassembly timeout, 1 s after net.ipv4.ipfrag_time=1")
def test_timed_out_fragments_are_discarded(lan):
    """After the reassembly timeout the partial datagram is discarded: a fragment arriving later cannot complete it.

    3.3.2: "the partially-reassembled datagram MUST be discarded". The first fragment times
    out (its Time Exceeded marks the moment); the last fragment then arrives and must not be
    joined to the discarded first one, so no Echo Reply may come.
    """
    lan.control.set_sysctl("net.ipv4.ipfrag_time", TIMEOUT_S)
    ident = next_ident()
    first, last = incomplete(lan, ident)
    lan.tester.send(ether(lan, first))
    lan.tester.expect(time_exceeded(lan, ident), timeout=TIMEOUT_S + LATE_S)
    lan.tester.send(ether(lan, last))
    lan.tester.expect_none(like(echo_reply(lan, ident).template, name="an Echo Reply built from the timed-out first fragment"))


@case("FRAG-TIMEOUT-FIXED", title="Reassembly timeout is not set from the TTL", rfc=1122, section="3.3.2", level=SHOULD, layer=3, needs=("sysctl",),
      waits="reassembly timeout, 1 s after net.ipv4.ipfrag_time=1")
def test_reassembly_timeout_is_not_set_from_ttl(lan):
    """The reassembly timeout is a fixed value, not set from the remaining TTL of the fragments.

    3.3.2: "The reassembly timeout value SHOULD be a fixed value, not set from the remaining
    TTL." The first fragment carries TTL 255 (a TTL-derived timer would run 255 s); with the
    configured timeout of 1 s its Time Exceeded must come about 1 s later, and not before 0.5 s.
    """
    lan.control.set_sysctl("net.ipv4.ipfrag_time", TIMEOUT_S)
    ident = next_ident()
    first, _ = fragment(echo_datagram(lan, ident, echo_data(300, ident)), split(308, 160), ttl=255)
    sent_at = time.time_ns()
    lan.tester.send(ether(lan, first))
    try:
        lan.tester.expect(time_exceeded(lan, ident), timeout=TIMEOUT_S + LATE_S)
    except AssertionError as exc:
        raise AssertionError(f"RFC 1122 3.3.2: with a fixed 1 s timeout the fragment must expire within {TIMEOUT_S + LATE_S:g} s "
                             f"whatever its TTL (255); no Time Exceeded came.\n{exc}") from None
    arrived = next(f for f in lan.tester.capture.frames if f.direction == "in" and time_exceeded(lan, ident)(f.packet))
    elapsed = (arrived.t_ns - sent_at) / 1e9
    assert elapsed >= TIMEOUT_S / 2, f"the timeout is the configured {TIMEOUT_S} s; the fragment expired after {elapsed:.3f} s"
