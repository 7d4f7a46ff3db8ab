"""One ICMP error for one fragmented datagram (RFC 1122 3.2.2, 3.3.2, 4.1.3.1).

UDP to a closed port draws a Port Unreachable (RFC 1122 4.1.3.1, SHOULD); the datagram is
what the transport layer sees, after reassembly, so it is answered once. RFC 1122 3.2.2
forbids an error about a non-initial fragment, so a SUT that answered each fragment would
break a MUST.
"""

from scapy.layers.inet import ICMP, IPerror, UDPerror

from cases.fragmentation.frames import fragment, split
from cases.ipv4.frames import ether, frames_since, ip_like, next_ident, udp_datagram
from conformance.catalog import MUST, case
from conformance.match import like
from conformance.verdict import Inconclusive

CLOSED_PORT = 33435  # nothing listens on a fresh SUT
SIZE = 1200  # UDP data octets: three fragments of 400+ octets


def _port_unreachables(lan, start: int, ident: int) -> list:
    matcher = like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / ICMP(type=3, code=3) / IPerror(id=ident))
    return [p for p in frames_since(lan, start) if matcher(p)]


@case("FRAG-ONE-ERROR-PER-DATAGRAM", title="Fragmented UDP to a closed port draws one Port Unreachable", rfc=1122, section="3.2.2", level=MUST, layer=3, also=(791,))
def test_fragmented_udp_to_closed_port_draws_one_port_unreachable(lan):
    """A UDP datagram to a closed port that arrives in three fragments draws exactly one Port Unreachable, about the datagram's first fragment.

    RFC 1122 3.2.2: "An ICMP error message MUST NOT be sent as the result of receiving ... a
    datagram fragment other than the first"; 3.3.2: reassembly comes before the datagram is
    handed to UDP. The tester sends the fragments, then the fence: of the errors that came
    before the fence's answer, exactly one may be a Port Unreachable quoting this datagram, and
    it must quote offset 0. If none came, the SUT does not send Port Unreachable at all
    (UDP-CLOSED-PORT-UNREACHABLE judges that) and the case is inconclusive.
    """
    ident = next_ident()
    datagram = udp_datagram(lan, bytes(SIZE), dport=CLOSED_PORT, ident=ident)
    start = len(lan.tester.capture.frames)
    for frag in fragment(datagram, split(8 + SIZE, 408)):
        lan.tester.send(ether(lan, frag))
    lan.tester.sync()
    errors = _port_unreachables(lan, start, ident)
    if not errors:
        raise Inconclusive("the fragmented datagram to a closed port drew no Port Unreachable, so the count of "
                           "errors cannot be judged")
    offsets = [e[IPerror].frag * 8 for e in errors]
    assert len(errors) == 1, (
        f"RFC 1122 3.2.2: one datagram may draw one Port Unreachable, and none may be sent about a fragment other "
        f"than the first; {len(errors)} came, quoting fragment offsets {offsets}"
    )
    quote = errors[0]
    assert quote[IPerror].frag == 0 and UDPerror in quote and quote[UDPerror].dport == CLOSED_PORT, (
        f"RFC 1122 3.2.2: the error must be about the datagram (its first fragment, offset 0, with the UDP header); it "
        f"quoted offset {offsets[0]}"
    )
