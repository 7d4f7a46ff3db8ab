"""The Internet Timestamp option (RFC 791 3.1, RFC 1122 3.2.1.8 (e), 3.2.2.8).

RFC 1122 makes the option OPTIONAL (MAY); the rules below bind a host that implements it.
Each case sends an Echo Request with the option and reads the option back from the Echo
Reply, which RFC 1122 3.2.2.6 says carries the option as the destination updated it.
"""

import socket
import struct
import time

from scapy.layers.inet import UDP

from cases.ipv4.frames import (
    OPT_TS,
    SUT_PORT,
    TESTER_PORT,
    echo_datagram,
    echo_reply,
    ether,
    find_option,
    ip_like,
    next_ident,
    timestamp_option,
)
from conformance.catalog import MAY, case
from conformance.match import like

IP_OPTIONS = 4
MS_PER_DAY = 86_400_000
CLOCK_TOLERANCE_MS = 120_000  # 3.2.2.8: "correct within a few minutes"


def returned_timestamp(lan, option: bytes) -> bytes:
    """The Timestamp option of the Echo Reply to a request carrying `option`."""
    ident = next_ident()
    reply = lan.tester.exchange(ether(lan, echo_datagram(lan, ident, options=option)), expect=echo_reply(lan, ident))
    found = find_option(reply, OPT_TS)
    assert found is not None, "RFC 1122 3.2.2.6: the Echo Reply must return the request's Timestamp option; it had none"
    return found.data


def stamps(option: bytes, width: int = 4) -> list[int]:
    """The timestamps recorded in a flag-0 option (up to its pointer)."""
    used = option[4 : option[2] - 1]
    return [struct.unpack("!I", used[i + width - 4 : i + width])[0] for i in range(0, len(used), width)]


def ms_since_midnight_ut() -> int:
    return int(time.time() * 1000) % MS_PER_DAY


@case("IP4-OPT-TS-DESTINATION-STAMPS", rfc=1122, section="3.2.1.8", level=MAY, layer=3, also=(791,))
def test_destination_adds_timestamp(lan):
    """A host that implements the Timestamp option adds its timestamp to a Timestamp option before passing it to ICMP.

    3.2.1.8 (e): "The destination host MUST (if possible) add the current timestamp to a
    Timestamp option before passing the option to the transport layer or to ICMP for
    processing." The request's option (flag 0, timestamps only) has room for three entries and
    none used; the returned option must have at least one entry filled and the pointer moved.
    """
    option = returned_timestamp(lan, timestamp_option(5, 0, 3))
    assert option[2] >= 9, f"the pointer must have moved past at least one recorded timestamp (>= 9); it is {option[2]}"
    assert any(stamps(option)), f"a recorded timestamp must be filled in; the entries are {option[4:].hex()}"


@case("IP4-OPT-TS-VALUE-UT", rfc=1122, section="3.2.2.8", level=MAY, layer=3, also=(791,))
def test_timestamp_value_is_milliseconds_since_midnight_ut(lan):
    """A standard timestamp value is milliseconds since midnight UT, correct within a few minutes; any other value has the high-order bit set.

    3.2.1.8 (e): "A timestamp value MUST follow the rules given in Section 3.2.2.8"; RFC 791:
    a value not in milliseconds since midnight UT has its high-order bit set. The tester's
    clock is the reference (the tester and the SUT share this machine's clock); the tolerance
    is two minutes.
    """
    before = ms_since_midnight_ut()
    option = returned_timestamp(lan, timestamp_option(5, 0, 3))
    after = ms_since_midnight_ut()
    recorded = [s for s in stamps(option) if s]
    assert recorded, f"no timestamp was recorded; the entries are {option[4:].hex()}"
    for value in recorded:
        if value & 0x8000_0000:
            continue  # a declared non-standard value
        assert value < MS_PER_DAY, f"a standard timestamp counts milliseconds of one day (< {MS_PER_DAY}); the SUT wrote {value}"
        distance = min(abs(value - before), abs(value - after), MS_PER_DAY - abs(value - before))
        assert distance <= CLOCK_TOLERANCE_MS, (
            f"a standard timestamp must be milliseconds since midnight UT within a few minutes; the SUT wrote {value}, "
            f"the clock said {before}..{after}"
        )


@case("IP4-OPT-TS-PRESPECIFIED-OTHER", rfc=791, section="3.1", level=MAY, layer=3, also=(1122,))
def test_prespecified_timestamp_for_another_address_is_not_recorded(lan):
    """With prespecified addresses (flag 3), a host records its timestamp only when the next specified address is its own.

    RFC 791: "An IP module only registers its timestamp if it matches its own address with the
    next specified internet address." The option names 198.18.0.77 first; the SUT must leave
    the pointer at 5 and that entry's timestamp zero.
    """
    entries = bytes([198, 18, 0, 77]) + bytes(4) + bytes([198, 18, 0, 78]) + bytes(4)
    option = returned_timestamp(lan, timestamp_option(5, 3, 2, entries=entries))
    assert option[2] == 5, f"the SUT is not the next prespecified address, so the pointer must stay 5; it is {option[2]}"
    assert option[8:12] == bytes(4), f"the entry for 198.18.0.77 must not get the SUT's timestamp; it holds {option[8:12].hex()}"


@case("IP4-OPT-TS-PRESPECIFIED-OWN", rfc=791, section="3.1", level=MAY, layer=3, also=(1122,))
def test_prespecified_timestamp_for_own_address_is_recorded(lan):
    """With prespecified addresses (flag 3), a host whose address is the next one specified records its timestamp there.

    The option names the SUT's own address first (pointer 5); the SUT must fill that entry's
    timestamp and move the pointer past it (to 13 or beyond).
    """
    entries = bytes(int(x) for x in lan.sut.ip.split(".")) + bytes(4) + bytes([198, 18, 0, 78]) + bytes(4)
    option = returned_timestamp(lan, timestamp_option(5, 3, 2, entries=entries))
    assert option[2] >= 13, f"the SUT is the next prespecified address, so the pointer must move past its entry (>= 13); it is {option[2]}"
    assert option[8:12] != bytes(4), "the SUT's prespecified entry must carry its timestamp; it is still zero"


@case("IP4-OPT-TS-OVERFLOW-COUNTED", rfc=791, section="3.1", level=MAY, layer=3, also=(1122,))
def test_full_timestamp_option_increments_overflow(lan):
    """A host that cannot record its timestamp because the option is full increments the overflow count.

    RFC 791: "If the time stamp data area is already full (the pointer exceeds the length) the
    datagram is forwarded without inserting the time stamp, but the overflow count is
    incremented by one." The option's two entries are used (pointer 13, overflow 0).
    """
    option = returned_timestamp(lan, timestamp_option(13, 0, 2, entries=bytes(range(1, 9))))
    assert option[2] == 13, f"a full option keeps its pointer (13); it is {option[2]}"
    assert option[4:12] == bytes(range(1, 9)), f"a full option's entries must be left alone; they are {option[4:12].hex()}"
    overflow = option[3] >> 4
    assert overflow >= 1, f"RFC 791: the overflow count must be incremented when no room is left; it is {overflow}"


@case("IP4-OPT-TS-ORIGINATOR-STAMPS", rfc=1122, section="3.2.1.8", level=MAY, layer=3, needs=("sockets",))
def test_originating_host_records_timestamp(lan):
    """A host that implements the Timestamp option records its own timestamp in one it originates.

    3.2.1.8 (e): "The originating host MUST record a timestamp in a Timestamp option whose
    Internet address fields are not pre-specified". A UDP socket sets a Timestamp option
    (flag 0, room for two entries, none used); the datagram on the wire must carry one entry.
    """
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    sock.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, timestamp_option(5, 0, 2))
    sock.send(b"timestamped")
    sent = lan.tester.expect(like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / UDP(dport=TESTER_PORT), name="the SUT socket's datagram"))
    found = find_option(sent, OPT_TS)
    assert found is not None, "the Timestamp option set by the transport layer must be sent"
    assert found.data[2] >= 9 and stamps(found.data)[0] != 0, (
        f"RFC 1122 3.2.1.8 (e): the originator MUST record a timestamp; the option was {found.data.hex()}"
    )
