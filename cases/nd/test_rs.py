"""Router Solicitations a host sends when its interface comes up (RFC 4861 6.3.7), and when it
must stop. IPv6 is turned on at the SUT's interface in front of the tester (`slaac_host`)."""

from scapy.layers.inet6 import ICMPv6NDOptSrcLLAddr, IPv6

from cases.nd.frames import any_rs, ra, same_ip
from cases.nd.steps import positive_control, watch
from conformance.catalog import MUST, SHOULD, case

NEEDS = ("sysctl",)


def first_rs(host, timeout=3.0):
    host.enable()
    try:
        return host.tester.expect(any_rs(), timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"RFC 4861 6.3.7: a host SHOULD send Router Solicitations when its interface becomes enabled; "
                             f"none came within {timeout:g} s ({exc})") from None


@case("ND-RS-SENT", rfc=4861, section="6.3.7", level=SHOULD, layer=3, needs=NEEDS)
def test_host_solicits_routers_when_interface_comes_up(slaac_host):
    """A host whose interface becomes enabled sends a Router Solicitation rather than wait for
    the next unsolicited advertisement."""
    first_rs(slaac_host)


@case("ND-RS-HOPLIMIT", rfc=4861, section="4.1", level=MUST, layer=3, needs=NEEDS)
def test_router_solicitation_hop_limit_255(slaac_host):
    """A Router Solicitation is sent with Hop Limit 255."""
    rs = first_rs(slaac_host)
    assert rs[IPv6].hlim == 255, f"RFC 4861 4.1: Hop Limit 255; it was {rs[IPv6].hlim}"


@case("ND-RS-SLLAO", rfc=4861, section="4.1", level=SHOULD, layer=3, needs=NEEDS)
def test_router_solicitation_carries_source_lladdr(slaac_host):
    """A Router Solicitation from an assigned address carries the Source Link-Layer Address
    option; one from the unspecified address must not."""
    rs = first_rs(slaac_host)
    has = ICMPv6NDOptSrcLLAddr in rs
    if same_ip(rs[IPv6].src, "::"):
        assert not has, "RFC 4861 4.1: the option MUST NOT be included if the Source Address is the unspecified address"
    else:
        assert has, f"RFC 4861 4.1: from {rs[IPv6].src} the Source Link-Layer Address option SHOULD be included; it was not"


@case("ND-RS-DESIST-AFTER-RA", rfc=4861, section="6.3.7", level=MUST, layer=3, needs=NEEDS,
      waits="two solicitations 1 s apart (RTR_SOLICITATION_INTERVAL shortened to 1 s), then 1.5 s of watched silence")
def test_host_stops_soliciting_after_advertisement(slaac_host):
    """Once a valid Router Advertisement with a non-zero Router Lifetime has come, the host sends
    no more solicitations on that interface.

    The positive control: unanswered, the SUT solicits again (the interval shortened to 1 s, the
    smallest its setting takes); after the advertisement, 1.5 s pass without one."""
    slaac_host.control.set_sysctl(slaac_host.conf_prefix + "router_solicitation_interval", 1)
    slaac_host.control.set_sysctl(slaac_host.conf_prefix + "router_solicitation_max_interval", 1)
    first_rs(slaac_host)
    positive_control("unanswered, the SUT solicits again", lambda: slaac_host.tester.expect(any_rs(), timeout=2.5))
    slaac_host.tester.send(ra(slaac_host.router.mac, slaac_host.router.ll, lifetime=1800))
    watch(slaac_host.tester, 1.5)
    again = [f for f in slaac_host.tester.arrived() if any_rs()(f.packet)]
    assert not again, "RFC 4861 6.3.7: after a valid advertisement the host MUST desist from sending solicitations; it sent another"
