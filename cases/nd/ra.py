"""Router Advertisements the tester sends as the segment's router (`host.router`), and how the
cases read what the SUT made of them: its route to an off-link destination (the Default Router
List, RFC 4861 6.3.4) and to a prefix (the Prefix List)."""

from __future__ import annotations

from typing import Any

from cases.nd.frames import ra

OFF_LINK = "2001:db8:99::1"  # no prefix the SUT knows: reached through a default router, or not at all


def advertise(host, **kw: Any) -> None:
    """The router's RA (`cases.nd.frames.ra` arguments), and the fence: once it is answered the
    SUT has processed the RA."""
    host.tester.send(ra(host.router.mac, host.router.ll, **kw))
    host.tester.handled()


def route(host, dst: str) -> dict[str, Any] | None:
    """The SUT's route decision for `dst`, or None when it has no route."""
    try:
        r = host.control.route_get(dst)
    except OSError:
        return None
    return r if r["type"] == 1 else None  # 1: unicast; unreachable and the like are no route


def default_gateway(host) -> str | None:
    """The next hop the SUT uses for an off-link destination (its default router), or None."""
    r = route(host, OFF_LINK)
    return r["gateway"] if r else None


def on_link(host, dst: str) -> bool:
    """Whether the SUT sends to `dst` directly on its interface (no next hop)."""
    r = route(host, dst)
    return r is not None and r["gateway"] is None and r["oif"] == host.sut.ifname
