"""How long the SUT keeps retransmitting an unanswered SYN by default (RFC 9293 3.8.3, MUST-23).

Three minutes cannot be watched inside a case, so the case computes the span from the settings
that govern it on the SUT and checks that computation against the start of a real schedule
observed on the wire. See the case's docstring for the method and its limits.
"""

from cases.tcp.flow import arrival_ns, sut_syn
from conformance.agent import Unsupported
from conformance.catalog import MUST, case
from conformance.verdict import Inconclusive

PORT = 9101
SPAN = 180.0  # seconds: "at least 3 minutes"
GAP_TOLERANCE = 0.25  # seconds of timer slack between the model and the wire
# The settings a Linux SUT's SYN schedule is made of (Documentation/networking/ip-sysctl.rst).
SYN_RETRIES = "net.ipv4.tcp_syn_retries"
LINEAR_TIMEOUTS = "net.ipv4.tcp_syn_linear_timeouts"
RTO_MAX_MS = "net.ipv4.tcp_rto_max_ms"


def syn_timeouts(initial_rto: float, retries: int, linear: int, rto_max: float) -> list[float]:
    """The RTO of each expiry of an active open's SYN timer, the last one being the expiry that
    gives up: `linear` + 1 expiries at the initial RTO, then doubling up to `rto_max`, for
    `retries` + `linear` retransmissions in all."""
    out: list[float] = []
    rto = initial_rto
    for k in range(retries + linear + 1):
        out.append(rto)
        if k >= linear:
            rto = min(rto * 2, rto_max)
    return out


@case("TCP-RETRANSMIT-SYN-3-MINUTES", title="Default SYN retransmission lasts three minutes", rfc=9293, section="3.8.3", level=MUST, layer=4, needs=("sockets", "sysctl"),
      also=(1122,), waits="two SYN retransmission timeouts (2 to 3 s), to check the computed schedule on the wire")
def test_default_syn_retransmission_lasts_three_minutes(lan):
    """With the SUT's default settings, an unanswered SYN keeps being retransmitted for at least 3 minutes before the open attempt is given up.

    RFC 9293 3.8.3: "R2 for a SYN segment MUST be set large enough to provide retransmission of
    the segment for at least 3 minutes (MUST-23)" (RFC 1122 4.2.3.5 says the same). Read here as
    leniently as the words allow: R2, the point where the SUT closes the attempt, must come no
    earlier than 180 s after the first SYN.

    Method. The SUT's own defaults are read, not set: its SYN retry count
    (net.ipv4.tcp_syn_retries), the number of expiries before backoff starts
    (net.ipv4.tcp_syn_linear_timeouts) and the RTO ceiling (net.ipv4.tcp_rto_max_ms). From them
    the case builds the schedule of SYN timeouts the kernel documents, and checks it against
    the wire: the SUT's application opens a connection the tester never answers, and the first
    two retransmission gaps must match the schedule's first two timeouts (the initial RTO is
    taken from the first gap). Only then is the sum of the schedule's timeouts, the moment R2
    is reached, compared with 180 s. A SUT whose settings are not these (another kernel, another
    stack) cannot be judged this way and the case is INCONCLUSIVE; so is one whose observed
    start disagrees with the computed one.
    """
    try:
        retries = int(lan.control.sysctl(SYN_RETRIES))
    except (OSError, ValueError, Unsupported):
        raise Inconclusive(f"the SUT has no {SYN_RETRIES}: the case cannot compute its SYN schedule") from None
    try:
        linear = int(lan.control.sysctl(LINEAR_TIMEOUTS))
    except (OSError, ValueError, Unsupported):
        linear = 0  # kernels before 6.7 back off from the first expiry
    try:
        rto_max = int(lan.control.sysctl(RTO_MAX_MS)) / 1000
    except (OSError, ValueError, Unsupported):
        rto_max = 120.0  # TCP_RTO_MAX of kernels without the sysctl

    lan.app.connect(lan.tester.ip, PORT)
    syns = [lan.tester.expect(sut_syn(lan, PORT))]
    for _ in range(2):
        syns.append(lan.tester.expect(sut_syn(lan, PORT), timeout=5.0))
    t = [arrival_ns(lan.tester, s) / 1e9 for s in syns]
    gaps = [t[1] - t[0], t[2] - t[1]]
    schedule = syn_timeouts(gaps[0], retries, linear, rto_max)
    if abs(gaps[1] - schedule[1]) > GAP_TOLERANCE:
        raise Inconclusive(
            f"the SUT's SYN retransmissions came {gaps[0]:.3f} s and {gaps[1]:.3f} s apart, but its settings "
            f"({SYN_RETRIES}={retries}, {LINEAR_TIMEOUTS}={linear}) predict {schedule[0]:.3f} s and {schedule[1]:.3f} s: "
            "the computed schedule does not describe this SUT"
        )
    give_up = sum(schedule)
    last_retransmission = sum(schedule[:-1])
    assert give_up >= SPAN, (
        f"RFC 9293 3.8.3 (MUST-23): R2 for a SYN must allow retransmission for at least 3 minutes; with the SUT's "
        f"defaults ({SYN_RETRIES}={retries}, {LINEAR_TIMEOUTS}={linear}, initial RTO {gaps[0]:.2f} s as observed) it "
        f"retransmits {retries + linear} times, the last {last_retransmission:.0f} s after the first SYN, and gives up "
        f"after {give_up:.0f} s"
    )
