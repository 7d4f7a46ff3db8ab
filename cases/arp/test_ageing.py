"""ARP cache validation (RFC 1122 2.3.2.1): entries that have not been confirmed for a while are
checked again before they are trusted, and entries whose owner stopped answering are flushed.

RFC 1122 2.3.2.1's MUST is "a mechanism to flush out-of-date cache entries"; the unicast poll is
one of four mechanisms its IMPLEMENTATION note describes, with no keyword, hence MAY.

The SUT's own timers are shortened through its sysctls (stated as preconditions): reachable
time 100 ms, no delay before the first probe, 100 ms between probes. How many unicast polls the
SUT sends (Linux: net.ipv4.neigh.<if>.ucast_solicit, 3 by default) is left as the SUT is
configured: whether it polls point-to-point at all is what ARP-STALE-UNICAST-POLL judges.
"""

from scapy.layers.inet import UDP
from scapy.layers.l2 import ARP, Ether

from cases.arp.frames import BROADCAST, request_for
from conformance.catalog import MAY, MUST, case
from conformance.match import like
from conformance.verdict import Inconclusive

TIMERS_WAIT = "the SUT's reachable time (100 ms base after sysctl) until its entry goes stale"


def shorten_timers(lan):
    prefix = f"net.ipv4.neigh.{lan.sut.ifname}."
    lan.control.set_sysctl(prefix + "base_reachable_time_ms", 100)
    lan.control.set_sysctl(prefix + "delay_first_probe_time", 0)
    lan.control.set_sysctl(prefix + "retrans_time_ms", 100)


def resolve_then_wait_stale(lan):
    """Let the SUT resolve the tester (answered), then wait until its entry is no longer fresh."""
    sock = lan.app.udp(connect=(lan.tester.ip, 9))
    sock.send(b"resolve")
    # Consumed here, so that later expectations only see what the SUT sends after going stale.
    try:
        lan.tester.expect(request_for(lan.tester.ip))
        lan.tester.expect(like(UDP(dport=9)), timeout=2.0)
    except AssertionError as exc:
        raise Inconclusive(f"precondition not met: the SUT resolves the tester and sends it a datagram ({exc})") from None

    def stale() -> bool:
        entry = lan.control.neighbours(lan.sut.ifname).get(lan.tester.ip)
        return entry is not None and entry.state == "STALE"

    try:
        lan.app.wait_until(stale, timeout=5.0, what=f"the SUT's entry for {lan.tester.ip} going stale")
    except TimeoutError as exc:
        raise Inconclusive(f"precondition not met: {exc} (reachable time shortened to 100 ms)") from None
    return sock


@case("ARP-STALE-REVALIDATE", rfc=1122, section="2.3.2.1", level=MUST, layer=2, needs=("sysctl", "neighbours", "sockets"),
      waits=TIMERS_WAIT)
def test_stale_entry_is_revalidated(lan):
    """An entry that has outlived its validity is checked with an ARP request when it is used
    again: out-of-date entries are not trusted forever."""
    shorten_timers(lan)
    sock = resolve_then_wait_stale(lan)
    sock.send(b"after stale")
    lan.tester.expect(request_for(lan.tester.ip), timeout=2.0)


@case("ARP-STALE-UNICAST-POLL", rfc=1122, section="2.3.2.1", level=MAY, layer=2, needs=("sysctl", "neighbours", "sockets"),
      waits=TIMERS_WAIT)
def test_stale_entry_is_polled_point_to_point_first(lan):
    """A stale entry is polled with a point-to-point ARP request to the cached hardware address
    before any broadcast (RFC 1122's "unicast poll")."""
    shorten_timers(lan)
    sock = resolve_then_wait_stale(lan)
    sock.send(b"after stale")
    first = lan.tester.expect(request_for(lan.tester.ip), timeout=2.0)
    assert first[Ether].dst == lan.tester.mac, (
        f"the first re-validation request must go point-to-point to {lan.tester.mac}, went to {first[Ether].dst}"
    )
    assert (first[ARP].hwsrc, first[ARP].psrc) == (lan.sut.mac, lan.sut.ip), (
        f"the poll must carry the SUT's own addresses ({lan.sut.mac}, {lan.sut.ip}) as sender, "
        f"carried ({first[ARP].hwsrc}, {first[ARP].psrc})"
    )


@case("ARP-POLL-FAILURE-FLUSH", rfc=1122, section="2.3.2.1", level=MUST, layer=2, needs=("sysctl", "neighbours", "sockets"),
      waits=TIMERS_WAIT + ", and two 100 ms unanswered polls")
def test_unanswered_polls_flush_entry(lan):
    """When re-validation of a stale entry goes unanswered the entry is flushed: the next datagram
    starts a fresh broadcast resolution instead of going to the old hardware address.

    Tolerance: the polls are awaited for up to 5 s in all, against 2 x 100 ms configured.
    """
    shorten_timers(lan)
    sock = resolve_then_wait_stale(lan)
    lan.tester.answer_arp = False
    sock.send(b"after stale")
    lan.tester.expect(request_for(lan.tester.ip), timeout=2.0)

    def given_up() -> bool:
        entry = lan.control.neighbours(lan.sut.ifname).get(lan.tester.ip)
        return entry is None or entry.state in ("FAILED", "INCOMPLETE")

    try:
        lan.app.wait_until(given_up, timeout=5.0, what=f"the SUT giving up its entry for {lan.tester.ip}")
    except TimeoutError:
        entry = lan.control.neighbours(lan.sut.ifname).get(lan.tester.ip)
        raise AssertionError(f"RFC 1122 2.3.2.1: an entry whose owner stopped answering must be flushed; after 5 s of "
                             f"unanswered polls the SUT's entry for {lan.tester.ip} is still {entry}") from None
    sock.send(b"after flush")
    request = lan.tester.expect(like(Ether(dst=BROADCAST) / ARP(op="who-has", pdst=lan.tester.ip)), timeout=2.0)
    sent_blind = [f for f in lan.tester.arrived() if like(UDP(dport=9), where={"Raw.load": b"after flush"})(f.packet)
                  and f.t_ns < _time_of(lan, request)]
    assert not sent_blind, "after the polls failed the datagram must wait for a new resolution, not go to the old hardware address"


def _time_of(lan, packet) -> int:
    for f in lan.tester.capture.frames:
        if f._packet is packet:
            return int(f.t_ns)
    raise AssertionError("frame not captured")
