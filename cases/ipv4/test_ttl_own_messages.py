"""The TTL of the datagrams a host's own stack makes in answer to others (RFC 1122 3.2.1.7).

IP4-TTL-NEVER-ZERO judges a datagram an application sends. The messages the ICMP and TCP
layers make by themselves (an Echo Reply, a Port Unreachable, a reset) take another path in
most stacks, one where a TTL nobody set is zero; the same sentence covers them.
"""

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import Ether

from cases.ipv4.frames import echo_datagram, echo_reply, ether, ip_like, next_ident, udp_datagram
from conformance.catalog import MUST, case
from conformance.match import like
from conformance.verdict import Inconclusive

CLOSED_TCP_PORT = 8081  # nothing listens on it in a fresh SUT
CLOSED_UDP_PORT = 7409
TESTER_TCP_PORT = 40409


@case("IP4-TTL-NEVER-ZERO-OWN-MESSAGES", title="The stack's own messages never carry TTL 0", rfc=1122, section="3.2.1.7", level=MUST, layer=3)
def test_host_never_sends_ttl_zero_in_the_messages_its_stack_makes(lan):
    """A host sends no datagram with TTL zero, the messages its own stack makes in answer included: an Echo Reply, a TCP reset, a Port Unreachable.

    "A host MUST NOT send a datagram with a Time-to-Live (TTL) value of zero." An Echo Request
    (RFC 1122 3.2.2.6: every host MUST answer it) and a SYN to a port with no listener (RFC 9293
    3.10.7.1: answered with a reset) must each draw an answer; one of them missing is a failure
    of another requirement, and this case is then INCONCLUSIVE. A UDP datagram to a closed port
    may draw a Port Unreachable (a SHOULD); when one comes, it is judged too. Each answer is
    read before the tester's fence is answered, so no wait is needed.
    """
    t = lan.tester
    ident = next_ident()
    echo = t.before_fence(echo_reply(lan, ident), stimulus=ether(lan, echo_datagram(lan, ident)))
    if echo is None:
        raise Inconclusive("precondition not met: the SUT did not answer the Echo Request (ICMP-ECHO-MIRROR judges "
                           "that), so the TTL of its Echo Reply cannot be judged")
    syn = (Ether(src=t.mac, dst=lan.sut.mac) / IP(src=t.ip, dst=lan.sut.ip, ttl=64)
           / TCP(sport=TESTER_TCP_PORT, dport=CLOSED_TCP_PORT, flags="S", seq=0x0BADCAFE, window=8192))
    reset = t.before_fence(like(ip_like(src=lan.sut.ip, dst=t.ip) / TCP(sport=CLOSED_TCP_PORT, dport=TESTER_TCP_PORT),
                                name="the SUT's reset for the SYN to a closed port"), stimulus=syn)
    if reset is None:
        raise Inconclusive("precondition not met: the SUT sent no reset for a SYN to a closed port (TCP-RST-CLOSED-SYN "
                           "judges that), so the TTL of its reset cannot be judged")
    unreachable = t.before_fence(
        like(ip_like(src=lan.sut.ip, dst=t.ip) / ICMP(type=3, code=3), name="the SUT's Port Unreachable"),
        stimulus=ether(lan, udp_datagram(lan, b"to a closed port", dport=CLOSED_UDP_PORT)),
    )
    answers = [("the Echo Reply", echo), ("the TCP reset", reset)] + (
        [("the Port Unreachable", unreachable)] if unreachable is not None else [])
    zero = [name for name, packet in answers if packet[IP].ttl == 0]
    assert not zero, (
        f"RFC 1122 3.2.1.7: a host MUST NOT send a datagram with TTL zero; {' and '.join(zero)} carried TTL 0 "
        f"(judged: {', '.join(name for name, _ in answers)})"
    )
