"""Multi-part ICMP messages (RFC 4884): what an error must look like when the SUT appends an
ICMP Extension Structure to it.

Extensions are optional: an error whose length attribute is zero carries none, and a SUT that
sends none has violated nothing; the case then reports NOT-IMPLEMENTED.
"""

from scapy.layers.inet import ICMP, IP

from cases.icmp.frames import quoted, udp_datagram, unreachable
from conformance.catalog import MUST, case
from conformance.verdict import not_implemented

PORT_UNREACHABLE = 3
MIN_ORIGINAL = 128


@case("ICMP-EXT-ORIGINAL-DATAGRAM-128", rfc=4884, section="4", level=MUST, layer=3,
      optional="RFC 4884 ICMP extensions")
def test_error_with_extensions_quotes_at_least_128_octets_zero_padded(lan):
    """An ICMP error that carries an extension structure gives its original-datagram field at least 128 octets, zero padded, and says so in its length attribute.

    RFC 4884 4: "when the ICMP Extension Structure is appended to an ICMP message and that ICMP
    message contains an 'original datagram' field, the 'original datagram' field MUST contain at
    least 128 octets. If the original datagram did not contain 128 octets, the 'original
    datagram' field MUST be zero padded to 128 octets." 4.1: for ICMPv4 the length attribute
    (octet 5 of a Destination Unreachable) gives that field's length in 32-bit words. The tester
    sends a 30-octet UDP datagram to a closed port; if the Port Unreachable's length attribute
    is zero, no extension is carried (NOT-IMPLEMENTED). Otherwise the field it announces must be
    at least 128 octets, start with the datagram as sent and be zeros after it, and an extension
    structure must follow it.
    """
    sent = udp_datagram(lan.tester.mac, lan.sut.mac, lan.tester.ip, lan.sut.ip, data=b"ab")
    error = lan.tester.exchange(sent, expect=unreachable(lan.sut.ip, lan.tester.ip, PORT_UNREACHABLE))
    length_words = bytes(error[ICMP])[5]
    if length_words == 0:
        not_implemented("the Port Unreachable's length attribute is zero: the SUT appended no ICMP extension structure")
    body = quoted(error)
    original = length_words * 4
    datagram = bytes(sent[IP])[: sent[IP].len]
    assert original >= MIN_ORIGINAL, (
        f"RFC 4884 4: with an extension structure appended, the original-datagram field MUST hold at least "
        f"{MIN_ORIGINAL} octets; the length attribute announces {original}"
    )
    assert len(body) > original, (
        f"RFC 4884 4.1: the length attribute ({original} octets) announces an extension structure after the "
        f"original-datagram field, but the message holds only {len(body)} octets after its header"
    )
    field = body[:original]
    assert field[: len(datagram)] == datagram, "RFC 4884 4: the original-datagram field must begin with the datagram as sent"
    padding = field[len(datagram):]
    assert padding == bytes(len(padding)), (
        f"RFC 4884 4: a datagram shorter than {MIN_ORIGINAL} octets MUST be zero padded to {MIN_ORIGINAL}; the "
        f"{len(padding)} octets after the {len(datagram)}-octet datagram were not all zero: {padding.hex()}"
    )
