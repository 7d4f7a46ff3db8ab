"""Addresses formed from Router Advertisements (RFC 4862 5.5.3, 5.5.4): which Prefix Information
options form an address, the lifetimes the address gets and how later advertisements change
them (the "two-hour rule"), and what deprecation and expiry mean for its use.

The SUT's link-local address is made ready first (DAD of ~0.1 s, `slaac_host`); the router's
advertisements carry Router Lifetime 0 unless the case needs a default router, so only the
Prefix Information option is at work. Section 5.5.3 states its steps in the indicative ("silently
ignore the Prefix Information option", "form an address"); they are read as MUST.
"""

import time

from scapy.layers.inet6 import IPv6

from cases.nd.frames import echo, echo_reply, pio, ra, same_ip
from cases.nd.steps import ident, watch
from cases.slaac.steps import PREFIX, advertise_prefix, formed, in_prefix, ready, slaac_address
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like

NEEDS = ("sysctl", "addresses")
TWO_HOURS = 7200
ON_PREFIX = "2001:db8:5::2"  # the tester's address in the advertised prefix
SLACK_S = 5  # lifetimes read back may have ticked down a few seconds since the advertisement


def none_formed(host, prefix=PREFIX):
    found = in_prefix(host, prefix)
    assert not found, f"RFC 4862 5.5.3: the Prefix Information option must be ignored; the SUT formed {found}"


def close_to(value, want):
    return value is not None and want - SLACK_S <= value <= want


@case("SLAAC-PIO-FORMS-ADDRESS", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_autonomous_prefix_forms_address(slaac_host):
    """A Prefix Information option with the autonomous (A) flag, a /64 prefix and a non-zero Valid
    Lifetime forms an address: the prefix plus the interface identifier."""
    ready(slaac_host)
    advertise_prefix(slaac_host, valid=86400, preferred=14400)
    found = in_prefix(slaac_host)
    assert found, f"RFC 4862 5.5.3 d: an address in {PREFIX} is formed; the SUT has {slaac_host.addresses()}"
    address = found[0]
    assert address.prefixlen == 64, f"RFC 4862 5.5.3: the address carries the advertised prefix length 64; it is {address}"


@case("SLAAC-PIO-DAD", title="An address formed from a prefix goes through DAD", rfc=4862, section="5.4", level=MUST, layer=3, needs=NEEDS)
def test_formed_address_goes_through_dad(slaac_host):
    """An address formed from an advertisement is tested with DAD before it is assigned."""
    ready(slaac_host)
    slaac_host.tester.send(ra(slaac_host.router.mac, slaac_host.router.ll, lifetime=0, options=pio(PREFIX)))
    probe = slaac_host.tester.expect(like(IPv6(src="::")), timeout=2.0)
    target = probe["ICMPv6ND_NS"].tgt
    assert target.startswith("2001:db8:5:"), f"RFC 4862 5.4: DAD for the new address in {PREFIX}; the solicitation was for {target}"


@case("SLAAC-PIO-AUTONOMOUS-CLEAR", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_prefix_without_autonomous_flag_forms_no_address(slaac_host):
    """A Prefix Information option without the A flag forms no address (the positive control:
    the same option with A set does)."""
    ready(slaac_host)
    advertise_prefix(slaac_host, A=0)
    none_formed(slaac_host)
    advertise_prefix(slaac_host, A=1)
    formed(slaac_host, usable=False)


@case("SLAAC-PIO-LINK-LOCAL-PREFIX", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_link_local_prefix_forms_no_address(slaac_host):
    """A Prefix Information option for the link-local prefix is ignored: no address is formed
    from it (the link-local address stays the only one in fe80::/64)."""
    ready(slaac_host)
    advertise_prefix(slaac_host, "fe80::/64")
    link_local = in_prefix(slaac_host, "fe80::/64")
    assert len(link_local) == 1 and same_ip(link_local[0].address, slaac_host.sut.ll), (
        f"RFC 4862 5.5.3 b: the link-local prefix is silently ignored; the SUT has {link_local} in fe80::/64")


@case("SLAAC-PIO-PREFERRED-OVER-VALID", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_preferred_lifetime_above_valid_is_ignored(slaac_host):
    """A Prefix Information option whose Preferred Lifetime exceeds its Valid Lifetime is ignored."""
    ready(slaac_host)
    advertise_prefix(slaac_host, valid=3600, preferred=7200)
    none_formed(slaac_host)
    advertise_prefix(slaac_host, valid=7200, preferred=3600)
    formed(slaac_host, usable=False)


@case("SLAAC-PIO-VALID-ZERO", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_new_prefix_with_valid_lifetime_zero_forms_no_address(slaac_host):
    """A new prefix advertised with Valid Lifetime zero forms no address."""
    ready(slaac_host)
    advertise_prefix(slaac_host, valid=0, preferred=0)
    none_formed(slaac_host)
    advertise_prefix(slaac_host, valid=3600, preferred=1800)
    formed(slaac_host, usable=False)


@case("SLAAC-PIO-PREFIX-LENGTH", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_prefix_length_not_fitting_interface_identifier_is_ignored(slaac_host):
    """A prefix whose length plus the interface identifier's (64 bits on Ethernet) is not 128 is
    ignored: a /48 forms no address."""
    ready(slaac_host)
    advertise_prefix(slaac_host, "2001:db8:5::/48")
    none_formed(slaac_host, "2001:db8:5::/48")
    advertise_prefix(slaac_host, "2001:db8:5::/64")
    formed(slaac_host, usable=False)


@case("SLAAC-LIFETIMES-FROM-PIO", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_formed_address_takes_advertised_lifetimes(slaac_host):
    """A formed address's preferred and valid lifetimes are the option's."""
    ready(slaac_host)
    address = slaac_address(slaac_host, valid=9000, preferred=3000)
    assert close_to(address.valid_s, 9000) and close_to(address.preferred_s, 3000), (
        f"RFC 4862 5.5.3 d: preferred 3000 s and valid 9000 s; the address has {address.preferred_s} and {address.valid_s}")


@case("SLAAC-VALID-LIFETIME-LONGER", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_longer_valid_lifetime_is_taken(slaac_host):
    """A later advertisement with a Valid Lifetime above the remaining one sets it."""
    ready(slaac_host)
    slaac_address(slaac_host, valid=9000, preferred=3000)
    advertise_prefix(slaac_host, valid=20000, preferred=3000)
    address = formed(slaac_host)
    assert close_to(address.valid_s, 20000), f"RFC 4862 5.5.3 e 1: the valid lifetime becomes 20000 s; it is {address.valid_s}"


@case("SLAAC-TWO-HOUR-RULE-RESET", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_short_valid_lifetime_cuts_to_two_hours(slaac_host):
    """An advertisement with a short Valid Lifetime (under two hours and the remaining lifetime)
    for an address with more than two hours left sets the valid lifetime to two hours."""
    ready(slaac_host)
    slaac_address(slaac_host, valid=20000, preferred=3000)
    advertise_prefix(slaac_host, valid=600, preferred=300)
    address = formed(slaac_host, usable=False)
    assert close_to(address.valid_s, TWO_HOURS), (
        f"RFC 4862 5.5.3 e 3: the valid lifetime is reset to two hours (7200 s); it is {address.valid_s}")


@case("SLAAC-TWO-HOUR-RULE-IGNORE", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_short_valid_lifetime_ignored_under_two_hours(slaac_host):
    """An advertisement with a short Valid Lifetime for an address with two hours or less left is
    ignored as to the valid lifetime (the advertisement is not authenticated)."""
    ready(slaac_host)
    slaac_address(slaac_host, valid=5000, preferred=3000)
    advertise_prefix(slaac_host, valid=600, preferred=300)
    address = formed(slaac_host, usable=False)
    assert close_to(address.valid_s, 5000), (
        f"RFC 4862 5.5.3 e 2: the option is ignored with regard to the valid lifetime (about 5000 s left); it is {address.valid_s}")


@case("SLAAC-PREFERRED-LIFETIME-RESET", rfc=4862, section="5.5.3", level=MUST, layer=3, needs=NEEDS)
def test_preferred_lifetime_is_reset_from_advertisement(slaac_host):
    """A later advertisement resets the address's preferred lifetime to its Preferred Lifetime,
    shorter or not."""
    ready(slaac_host)
    slaac_address(slaac_host, valid=9000, preferred=3000)
    advertise_prefix(slaac_host, valid=9000, preferred=1000)
    address = formed(slaac_host)
    assert close_to(address.preferred_s, 1000), (
        f"RFC 4862 5.5.3 e: the preferred lifetime is reset to 1000 s; it is {address.preferred_s}")


@case("SLAAC-PREFERRED-ZERO-DEPRECATES", rfc=4862, section="5.5.4", level=MUST, layer=3, needs=NEEDS)
def test_preferred_lifetime_zero_deprecates(slaac_host):
    """An address whose preferred lifetime is set to zero is deprecated (and still valid)."""
    ready(slaac_host)
    slaac_address(slaac_host, valid=9000, preferred=3000)
    advertise_prefix(slaac_host, valid=9000, preferred=0)
    formed(slaac_host, usable=False)
    # The SUT may mark the address a moment after it has handled the advertisement (Linux does it
    # from its address-check work): wait for the mark, boundedly.
    address = _await(slaac_host, lambda a: a is not None and "deprecated" in a.flags, 1.0)
    assert address is not None and "deprecated" in address.flags, (
        f"RFC 4862 5.5.4: a preferred lifetime of 0 deprecates the address; 1 s after the advertisement it is {address}")


@case("SLAAC-DEPRECATED-STILL-RECEIVES", rfc=4862, section="5.5.4", level=MUST, layer=3, needs=NEEDS)
def test_deprecated_address_still_accepts_datagrams(slaac_host):
    """Datagrams to a deprecated address are accepted and processed as normal."""
    ready(slaac_host)
    slaac_address(slaac_host, valid=9000, preferred=3000)
    advertise_prefix(slaac_host, valid=9000, preferred=0)
    address = formed(slaac_host, usable=False)
    slaac_host.tester.claims[ON_PREFIX] = slaac_host.tester.mac
    n = ident()
    slaac_host.tester.exchange(echo(slaac_host.tester.mac, ON_PREFIX, slaac_host.sut.mac, address.address, n),
                               expect=echo_reply(n))


@case("SLAAC-DEPRECATED-NOT-FOR-NEW", rfc=4862, section="5.5.4", level=SHOULD, layer=3, needs=(*NEEDS, "sockets"))
def test_deprecated_address_not_used_for_new_communication(slaac_host):
    """A deprecated address is not used to start new communication when a preferred address of
    the same scope is there (here the deprecated one would win on longest match otherwise)."""
    ready(slaac_host)
    advertise_prefix(slaac_host, "2001:db8:6::/64", lifetime=1800, valid=9000, preferred=3000)
    formed(slaac_host, "2001:db8:6::/64")  # past DAD: a candidate when the flow starts
    slaac_address(slaac_host, valid=9000, preferred=3000, lifetime=1800)
    advertise_prefix(slaac_host, lifetime=1800, valid=9000, preferred=0)
    deprecated = formed(slaac_host, usable=False)
    # Deprecation may follow the advertisement by a moment (Linux marks it from its address-check
    # work): the flow starts once the address is marked, or after 1 s.
    deprecated = _await(slaac_host, lambda a: a is not None and "deprecated" in a.flags, 1.0) or deprecated
    sock = slaac_host.app.udp_at("::", 0, connect=("2001:db8:5:8000::1", 9))
    source = sock.getsockname()[0]
    assert not same_ip(source, deprecated.address), (
        f"RFC 4862 5.5.4: a deprecated address SHOULD NOT be used to initiate new communications; the SUT chose "
        f"{source} (deprecated) over its preferred address in 2001:db8:6::/64")


@case("SLAAC-PREFERRED-EXPIRY", rfc=4862, section="5.5.4", level=MUST, layer=3, needs=NEEDS,
      waits="the advertised Preferred Lifetime, 1 s")
def test_address_deprecated_when_preferred_lifetime_expires(slaac_host):
    """When an address's preferred lifetime runs out it becomes deprecated."""
    ready(slaac_host)
    slaac_address(slaac_host, valid=600, preferred=1)
    watch(slaac_host.tester, 1.0)
    deadline_flags = _await(slaac_host, lambda a: a is not None and "deprecated" in a.flags, 2.5)
    assert deadline_flags is not None and "deprecated" in deadline_flags.flags, (
        f"RFC 4862 5.5.4: the address becomes deprecated when its preferred lifetime (1 s) expires; after 3.5 s it is {deadline_flags}")


@case("SLAAC-VALID-EXPIRY", rfc=4862, section="5.5.4", level=MUST, layer=3, needs=NEEDS,
      waits="the advertised Valid Lifetime, 2 s")
def test_address_invalid_when_valid_lifetime_expires(slaac_host):
    """When an address's valid lifetime runs out it becomes invalid: it is no longer recognised
    as a destination."""
    ready(slaac_host)
    address = slaac_address(slaac_host, valid=2, preferred=1)
    watch(slaac_host.tester, 2.0)
    left = _await(slaac_host, lambda a: a is None, 2.5)
    assert left is None, f"RFC 4862 5.5.4: the address becomes invalid when its valid lifetime (2 s) expires; after 4.5 s it is {left}"
    slaac_host.tester.claims[ON_PREFIX] = slaac_host.tester.mac
    n = ident()
    slaac_host.tester.send(echo(slaac_host.tester.mac, ON_PREFIX, slaac_host.sut.mac, address.address, n))
    slaac_host.tester.expect_none(echo_reply(n))


def _await(host, done, timeout):
    """Poll the SUT's address in PREFIX until `done(address or None)`; the address at the end."""
    deadline = time.monotonic() + timeout
    while True:
        found = in_prefix(host)
        current = found[0] if found else None
        if done(current) or time.monotonic() > deadline:
            return current
        time.sleep(0.02)
