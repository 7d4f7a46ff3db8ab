"""Case metadata: the `@case` decorator and the catalog it builds.

    @case("ARP-REPLY-UNICAST", rfc=826, section="Packet Reception", level=MUST, layer=2)
    def test_request_for_own_address_gets_unicast_reply(lan):
        '''A request for the SUT's address is answered, to the requester alone.'''

The decorator validates the metadata and attaches it as the `conformance_case` marker, so it
travels with the pytest item (and, through user_properties, to the xdist controller).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, TypeVar

import pytest


class Level(str, Enum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"

    def __str__(self) -> str:
        return self.value


MUST, SHOULD, MAY = Level.MUST, Level.SHOULD, Level.MAY

PROTOCOLS = {
    "ETH": "ethernet",
    "ARP": "arp",
    "IP4": "ipv4",
    "FRAG": "fragmentation",
    "ICMP": "icmp",
    "PMTU": "pmtu",
    "RT": "routing",
    "TCP": "tcp",
    "UDP": "udp",
    "TUN": "tuntap",
    "ADDR": "addresses",
    # IPv6 (issue 14). Longer prefixes are tried as well as their shorter namesakes (ICMP6 after ICMP).
    "IP6": "ipv6",
    "ICMP6": "icmpv6",
    "PMTU6": "pmtu6",
    "TCP6": "tcp6",
    "UDP6": "udp6",
    "ND": "nd",
    "SLAAC": "slaac",
    "MLD": "mld",
    "ADDRSEL": "addrsel",
}
ID_PATTERN = re.compile(r"^({})(-[A-Z0-9]+)+$".format("|".join(PROTOCOLS)))
MARKER = "conformance_case"


class CatalogError(ValueError):
    """Case metadata that is missing or malformed."""


@dataclass(frozen=True)
class CaseInfo:
    id: str
    title: str
    rfc: int
    section: str
    level: Level
    layer: int
    requirement: str
    doc: str = ""
    tags: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # SUT capabilities the case relies on, e.g. "sysctl"
    waits: str = ""  # a deliberate wait the case cannot avoid, named for the report
    extra_rfcs: tuple[int, ...] = field(default=())
    # The optional feature the case exercises (an optional specification, an option a host may
    # ignore, a negotiated TCP option): a SUT that lacks it is "not implemented", not a failure.
    optional: str = ""

    @property
    def judges_optional(self) -> bool:
        """A MAY is optional by definition; other levels only when the case names the feature."""
        return self.level is Level.MAY or bool(self.optional)

    @property
    def protocol(self) -> str:
        return PROTOCOLS[self.id.split("-", 1)[0]]

    @property
    def rfc_url(self) -> str:
        anchor = _section_anchor(self.section)
        return f"https://www.rfc-editor.org/rfc/rfc{self.rfc}" + (f"#section-{anchor}" if anchor else "")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["level"] = self.level.value
        d["protocol"] = self.protocol
        d["rfc_url"] = self.rfc_url
        d["tags"] = list(self.tags)
        d["needs"] = list(self.needs)
        d["extra_rfcs"] = list(self.extra_rfcs)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaseInfo:
        keep = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        keep["level"] = Level(keep["level"])
        for name in ("tags", "needs", "extra_rfcs"):
            keep[name] = tuple(keep.get(name, ()))
        return cls(**keep)


def _section_anchor(section: str) -> str:
    m = re.match(r"^\d+(\.\d+)*", section.strip())
    return m.group(0) if m else ""


F = TypeVar("F", bound=Callable[..., Any])


def case(
    case_id: str,
    *,
    rfc: int,
    section: str,
    level: Level | str,
    layer: int,
    title: str | None = None,
    tags: Iterable[str] = (),
    needs: Iterable[str] = (),
    waits: str = "",
    also: Iterable[int] = (),
    optional: str = "",
) -> Callable[[F], F]:
    """Declare a test function as the conformance case `case_id`.

    `optional` names the optional feature a MUST or SHOULD case depends on (e.g. "RFC 5227
    address conflict detection", "the TCP Timestamps option"); the case calls
    `conformance.verdict.not_implemented(reason)` when the SUT shows it lacks it.
    """

    def wrap(fn: F) -> F:
        info = make_info(fn, case_id, rfc=rfc, section=section, level=level, layer=layer, title=title,
                         tags=tags, needs=needs, waits=waits, also=also, optional=optional)
        return pytest.mark.conformance_case(info=info)(fn)  # type: ignore[no-any-return]

    return wrap


def make_info(fn: Callable[..., Any], case_id: str, *, rfc: int, section: str, level: Level | str, layer: int,
              title: str | None, tags: Iterable[str], needs: Iterable[str], waits: str,
              also: Iterable[int], optional: str = "") -> CaseInfo:
    where = f"{fn.__module__}.{fn.__qualname__}"
    if not ID_PATTERN.match(case_id):
        raise CatalogError(f"{where}: case id {case_id!r} must be upper case and start with one of {sorted(PROTOCOLS)}")
    try:
        lvl = Level(str(level).upper())
    except ValueError:
        raise CatalogError(f"{where}: level {level!r} is not MUST, SHOULD or MAY") from None
    if not isinstance(rfc, int) or rfc <= 0:
        raise CatalogError(f"{where}: rfc must be an RFC number, not {rfc!r}")
    if not section.strip():
        raise CatalogError(f"{where}: section is empty")
    if layer not in (2, 3, 4):
        raise CatalogError(f"{where}: layer must be 2, 3 or 4, not {layer!r}")
    doc = (fn.__doc__ or "").strip()
    if not doc:
        raise CatalogError(f"{where}: a case needs a docstring stating its requirement")
    requirement = " ".join(doc.split("\n\n", 1)[0].split())
    if title is None:
        name = fn.__name__.removeprefix("test_").replace("_", " ")
        title = name[:1].upper() + name[1:]
    return CaseInfo(
        id=case_id, title=title, rfc=rfc, section=section.strip(), level=lvl, layer=layer,
        requirement=requirement, doc=_dedent(doc), tags=tuple(tags), needs=tuple(needs), waits=waits,
        extra_rfcs=tuple(also), optional=optional.strip(),
    )


def _dedent(doc: str) -> str:
    import inspect

    return inspect.cleandoc(doc)


def info_of(item: pytest.Item) -> CaseInfo | None:
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None
    info = marker.kwargs["info"]
    assert isinstance(info, CaseInfo)
    return info


def check_unique(infos: Iterable[tuple[str, CaseInfo]]) -> None:
    """Two functions must never claim one id (parametrized items of one function may)."""
    owner: dict[str, str] = {}
    for func, info in infos:
        if owner.setdefault(info.id, func) != func:
            raise CatalogError(f"case id {info.id} is used by both {owner[info.id]} and {func}")


@dataclass(frozen=True)
class Filter:
    """Selection over the catalog: every given criterion must hold."""

    protocol: tuple[str, ...] = ()
    rfc: tuple[int, ...] = ()
    level: tuple[Level, ...] = ()
    text: str = ""
    ids: tuple[str, ...] = ()  # exact ids or fnmatch globs
    tags: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # ids or globs left out whatever else matches

    def __call__(self, info: CaseInfo) -> bool:
        from fnmatch import fnmatchcase

        if self.protocol and info.protocol not in self.protocol:
            return False
        if self.rfc and info.rfc not in self.rfc and not set(info.extra_rfcs) & set(self.rfc):
            return False
        if self.level and info.level not in self.level:
            return False
        if self.ids and not any(fnmatchcase(info.id, pat.upper()) for pat in self.ids):
            return False
        if any(fnmatchcase(info.id, pat.upper()) for pat in self.exclude):
            return False
        if self.tags and not set(self.tags) & set(info.tags):
            return False
        if self.text:
            hay = " ".join((info.id, info.title, info.requirement, f"rfc{info.rfc}", f"RFC {info.rfc}", info.section)).lower()
            if self.text.lower() not in hay:
                return False
        return True

    def validate(self) -> None:
        known = set(PROTOCOLS.values())
        for p in self.protocol:
            if p not in known:
                raise CatalogError(f"unknown protocol {p!r}; known: {', '.join(sorted(known))}")


# What each topology fixture needs of the SUT. An external SUT offers `segment` with a lan link,
# `second_segment` with near and far links, and the rest through its agent; `netns` is the local
# kernel alone (topologies only the suite's own namespaces can be: TUN/TAP devices in the SUT,
# several next hops).
FIXTURE_NEEDS = {
    "lan": ("segment",),
    "mtu_lan": ("segment", "control"),
    "kernel_mac_lan": ("segment", "control"),
    "two_gateway_lan": ("segment", "routes"),
    "routed": ("second_segment",),
    "pmtu_routed": ("second_segment", "control"),
    "multipath": ("netns",),
    "tuntap": ("netns",),
    "lan6": ("segment",),
    "routed6": ("second_segment",),
    "pmtu_routed6": ("second_segment", "control"),
    "nd_host": ("segment", "control"),
    "slaac_host": ("segment", "control"),
    "nd_router": ("second_segment", "control"),
}
BASE_FIXTURES = {"case_record", "sut_target"}


def needs_of(item: pytest.Item, info: CaseInfo) -> tuple[str, ...]:
    """What a case needs of the SUT: what it declares, plus what its fixtures and its body show.

    Each topology fixture needs what FIXTURE_NEEDS says; `.control.` in the body means reading
    or changing the SUT's state; `.app.` means running applications on it (only `.app.listen(`
    is satisfied by a port the user names).
    """
    needs = set(info.needs)
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    for name in getattr(item, "fixturenames", ()):
        fdefs = defs.get(name) or ()
        module = getattr(getattr(fdefs[-1], "func", None), "__module__", "") if fdefs else ""
        if module.startswith("fixtures.") and name not in BASE_FIXTURES:
            needs.update(FIXTURE_NEEDS.get(name, ("netns",)))
    source = _source(item)
    if ".control." in source:
        needs.add("control")
    app_calls = set(re.findall(r"\.app\.(\w+)\(", source))
    if app_calls:
        needs.add("tcp_listener" if app_calls == {"listen"} else "sockets")
    return tuple(sorted(needs))


def _source(item: pytest.Item) -> str:
    import inspect

    fn = getattr(item, "function", None)
    try:
        return inspect.getsource(fn) if fn is not None else ""
    except (OSError, TypeError):
        return ""
