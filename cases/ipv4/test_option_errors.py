"""Malformed IP options: the datagram is discarded and a Parameter Problem points at the bad
octet (RFC 792 Parameter Problem, RFC 1122 3.2.2.5, RFC 791 3.1)."""

from scapy.layers.inet import ICMP

from cases.ipv4.frames import (
    OPT_EOL,
    OPT_EXPERIMENT,
    OPT_RR,
    RECORD_ROUTE,
    TIMESTAMP,
    echo_datagram,
    echo_reply,
    ether,
    ip_like,
    next_ident,
    require_record_route,
    require_timestamp,
    route_option,
    timestamp_option,
)
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like

OPTIONS_START = 20  # the first option octet, counted from the start of the header


def parameter_problem_for(lan, options: bytes, pointers: tuple[int, ...], what: str) -> None:
    """Send an Echo Request with `options`; expect Parameter Problem code 0 quoting it, with a
    pointer among `pointers` (octets counted from the start of the quoted header)."""
    ident = next_ident()
    problem = lan.tester.exchange(
        ether(lan, echo_datagram(lan, ident, options=options)),
        expect=like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / ICMP(type=12), name="a Parameter Problem from the SUT"),
    )
    # The quote is read as bytes: scapy gives up dissecting a quoted header whose options are malformed.
    quoted = bytes(problem[ICMP].payload)
    assert quoted[4:6] == ident.to_bytes(2, "big"), f"the Parameter Problem must quote the offending request (id {ident:#x}); it quoted {quoted[:20].hex()}"
    icmp = problem[ICMP]
    assert icmp.code == 0, f"an error located by the pointer is Parameter Problem code 0; the SUT sent code {icmp.code}"
    shown = " or ".join(str(p) for p in pointers)
    assert icmp.ptr in pointers, (
        f"RFC 792: the pointer identifies the octet where the error was detected ({what}: octet {shown}); "
        f"the SUT's pointer was {icmp.ptr}"
    )


@case("IP4-OPT-LENGTH-BELOW-2", rfc=1122, section="3.2.2.5", level=SHOULD, layer=3, also=(792, 791))
def test_option_length_below_two_draws_parameter_problem(lan):
    """An option whose length octet is below 2 (it cannot even cover its own type and length) draws Parameter Problem pointing at that option.

    RFC 1122 3.2.2.5: "A host SHOULD generate Parameter Problem messages"; RFC 792: the pointer
    identifies the octet of the header where the error was detected. A Record Route with
    length 1 is the first option (octet 20); the pointer must name its type or length octet.
    """
    parameter_problem_for(lan, bytes([OPT_RR, 1, 4, 0]), (OPTIONS_START, OPTIONS_START + 1),
                          "the option's type or length octet")


@case("IP4-OPT-LENGTH-PAST-HEADER", rfc=1122, section="3.2.2.5", level=SHOULD, layer=3, also=(792, 791))
def test_option_running_past_header_draws_parameter_problem(lan):
    """An option whose length runs past the end of the header draws Parameter Problem pointing at that option.

    The header has 4 option octets; the experimental option (type 30) in them claims 12.
    """
    parameter_problem_for(lan, bytes([OPT_EXPERIMENT, 12, 0, 0]), (OPTIONS_START, OPTIONS_START + 1),
                          "the option's type or length octet")


@case("IP4-OPT-RR-POINTER-BELOW-4", rfc=1122, section="3.2.2.5", level=SHOULD, layer=3, also=(792, 791),
      optional=RECORD_ROUTE)
def test_record_route_pointer_below_four_draws_parameter_problem(lan):
    """A Record Route option whose pointer is below 4 draws Parameter Problem pointing at the pointer octet.

    RFC 791: for Record Route "the smallest legal value for the pointer is 4". A pointer of 3
    sits in octet 22 of the header (type 20, length 21, pointer 22). Only a host that processes
    Record Route reads the pointer: one that does not (RFC 1122 makes it optional) ignores the
    option as unknown, which a well-formed Record Route shows first (NOT-IMPLEMENTED).
    """
    require_record_route(lan)
    parameter_problem_for(lan, route_option(OPT_RR, 3, ["0.0.0.0"]) + bytes([OPT_EOL]), (OPTIONS_START + 2,),
                          "the option's pointer octet")


@case("IP4-OPT-TS-POINTER-BELOW-5", rfc=1122, section="3.2.2.5", level=SHOULD, layer=3, also=(792, 791),
      optional=TIMESTAMP)
def test_timestamp_pointer_below_five_draws_parameter_problem(lan):
    """A Timestamp option whose pointer is below 5 draws Parameter Problem pointing at the pointer octet.

    RFC 791: for the Internet Timestamp "the smallest legal value is 5". A pointer of 4 sits
    in octet 22 of the header. Only a host that processes the Timestamp option (optional in
    RFC 1122) reads the pointer; a well-formed option shows first whether it does.
    """
    require_timestamp(lan)
    parameter_problem_for(lan, timestamp_option(4, 0, 2), (OPTIONS_START + 2,), "the option's pointer octet")


@case("IP4-OPT-MALFORMED-DISCARDED", rfc=792, section="Parameter Problem Message", level=MUST, layer=3, also=(1122,),
      optional=RECORD_ROUTE)
def test_datagram_with_malformed_option_is_not_processed(lan):
    """A datagram whose options cannot be processed is discarded, not delivered.

    RFC 792: "If the gateway or host processing a datagram finds a problem with the header
    parameters such that it cannot complete processing the datagram it must discard the
    datagram." (The lower-case "must" of this pre-RFC 2119 text is read as MUST.) An Echo
    Request with a Record Route pointer of 3 must draw no Echo Reply. A host that does not
    process Record Route (optional, RFC 1122 3.2.1.8 (d)) ignores the option and can complete
    processing, so the case first checks that a well-formed Record Route is processed
    (NOT-IMPLEMENTED otherwise).
    """
    require_record_route(lan)
    ident = next_ident()
    options = route_option(OPT_RR, 3, ["0.0.0.0"]) + bytes([OPT_EOL])
    lan.tester.send(ether(lan, echo_datagram(lan, ident, options=options)))
    reply = echo_reply(lan, ident)
    lan.tester.expect_none(like(reply.template, name="an Echo Reply to the request with the malformed option (RFC 792: it must be discarded)"))
