"""Field-level frame matchers with explicit don't-cares.

A matcher is written as the frame it expects, with only the fields that matter filled in:

    like(Ether(dst=tester.mac) / ARP(op="is-at", psrc=sut.ip))

Every field given explicitly in the template is compared; every field left out is a don't-care.
Layers are found by class, so `IP()/ICMP()/IPerror()` matches an ICMP error quoting an IP header.
Extra conditions that are not plain equality go in `where`, keyed "Layer.field":

    like(IP(src=sut.ip) / ICMP(type=11), where={"IP.ttl": at_least(1)})

`mismatches(frame)` lists each field that differs, with the expected and observed value, so a
failed expectation can say exactly what was wrong with the frames that did arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from scapy.packet import NoPayload, Packet


@dataclass(frozen=True)
class Mismatch:
    field: str
    expected: str
    observed: str

    def __str__(self) -> str:
        return f"{self.field}: expected {self.expected}, observed {self.observed}"


class Predicate:
    """A named condition on one field value, for `where`."""

    def __init__(self, test: Callable[[Any], bool], description: str) -> None:
        self.test = test
        self.description = description

    def __call__(self, value: Any) -> bool:
        return bool(self.test(value))

    def __repr__(self) -> str:
        return self.description


def at_least(n: int) -> Predicate:
    return Predicate(lambda v: v is not None and v >= n, f">= {n}")


def at_most(n: int) -> Predicate:
    return Predicate(lambda v: v is not None and v <= n, f"<= {n}")


def one_of(*values: Any) -> Predicate:
    return Predicate(lambda v: v in values, "one of " + ", ".join(map(repr, values)))


def not_equal(value: Any) -> Predicate:
    return Predicate(lambda v: v != value, f"!= {value!r}")


class Matcher:
    """Matches frames against a template's explicit fields plus `where` conditions."""

    def __init__(self, template: Packet, where: dict[str, Any] | None = None, name: str | None = None) -> None:
        self.template = template
        self.where = dict(where or {})
        self.name = name
        for key in self.where:
            if key.count(".") != 1:
                raise ValueError(f"where-key {key!r} must be 'Layer.field'")

    def __call__(self, frame: Packet) -> bool:
        return not self.mismatches(frame)

    def mismatches(self, frame: Packet) -> list[Mismatch]:
        out: list[Mismatch] = []
        counts: dict[type, int] = {}
        layer: Packet | NoPayload = self.template
        while isinstance(layer, Packet) and not isinstance(layer, NoPayload):
            cls = type(layer)
            nth = counts.get(cls, 0) + 1
            counts[cls] = nth
            seen = frame.getlayer(cls, nb=nth)
            label = cls.__name__ if nth == 1 else f"{cls.__name__}[{nth}]"
            if seen is None:
                out.append(Mismatch(label, "present", "absent"))
                break  # deeper layers of the template cannot be found either
            for fname, want in _explicit(layer).items():
                fld = layer.get_field(fname)
                got = seen.getfieldval(fname)
                if _machine(fld, layer, want) != _machine(fld, seen, got):
                    out.append(Mismatch(f"{label}.{fname}", _show(fld, layer, want), _show(fld, seen, got)))
            layer = layer.payload
        for key, want in self.where.items():
            lname, fname = key.split(".")
            seen = _find_layer(frame, lname)
            if seen is None:
                out.append(Mismatch(lname, "present", "absent"))
                continue
            got = seen.getfieldval(fname)
            ok = want(got) if callable(want) else got == want
            if not ok:
                out.append(Mismatch(key, repr(want) if not callable(want) else str(want), repr(got)))
        return out

    def describe(self) -> str:
        if self.name:
            return self.name
        parts = []
        layer: Packet | NoPayload = self.template
        while isinstance(layer, Packet) and not isinstance(layer, NoPayload):
            fields = ", ".join(f"{k}={_show(layer.get_field(k), layer, v)}" for k, v in _explicit(layer).items())
            parts.append(f"{type(layer).__name__}({fields})")
            layer = layer.payload
        text = " / ".join(parts)
        if self.where:
            text += " where " + ", ".join(f"{k} {v if callable(v) else '== ' + repr(v)}" for k, v in self.where.items())
        return text

    def __repr__(self) -> str:
        return f"like({self.describe()})"


class AnyOf(Matcher):
    """Matches a frame that any one of several matchers matches."""

    def __init__(self, *matchers: Matcher, name: str | None = None) -> None:
        super().__init__(matchers[0].template, name=name or " or ".join(m.describe() for m in matchers))
        self.matchers = matchers

    def mismatches(self, frame: Packet) -> list[Mismatch]:
        found = [m.mismatches(frame) for m in self.matchers]
        return [] if any(not diffs for diffs in found) else min(found, key=len)


def like(template: Packet, *, where: dict[str, Any] | None = None, name: str | None = None) -> Matcher:
    """A matcher for frames that have every field set explicitly in `template`."""
    return Matcher(template, where, name)


def closest(matcher: Matcher, frames: Iterable[Packet]) -> tuple[Packet, list[Mismatch]] | None:
    """The frame that differs from the matcher in the fewest fields, with those fields."""
    best: tuple[Packet, list[Mismatch]] | None = None
    for frame in frames:
        diffs = matcher.mismatches(frame)
        if best is None or len(diffs) < len(best[1]):
            best = (frame, diffs)
    return best


def _explicit(layer: Packet) -> dict[str, Any]:
    """The fields the template's author set. Some layers put fields there on their own (scapy's
    IP always holds options=[]); those count only when given a value of their own."""
    auto = _auto_fields(type(layer))
    return {k: v for k, v in layer.fields.items() if k not in auto or auto[k] != v}


_AUTO: dict[type, dict[str, Any]] = {}


def _auto_fields(cls: type) -> dict[str, Any]:
    if cls not in _AUTO:
        _AUTO[cls] = dict(cls().fields)
    return _AUTO[cls]


def _find_layer(frame: Packet, name: str) -> Packet | None:
    layer: Packet | NoPayload = frame
    while isinstance(layer, Packet) and not isinstance(layer, NoPayload):
        if type(layer).__name__ == name:
            return layer
        layer = layer.payload
    return None


def _machine(fld: Any, pkt: Packet, value: Any) -> Any:
    """Compare fields in wire form, so 'is-at' equals 2 and MAC case does not matter."""
    if value is None:
        return None
    try:
        return fld.i2m(pkt, fld.any2i(pkt, value))
    except Exception:  # a field that cannot encode this value: compare as given
        return value


def _show(fld: Any, pkt: Packet, value: Any) -> str:
    if value is None:
        return "None"
    try:
        shown = fld.i2repr(pkt, fld.any2i(pkt, value))
    except Exception:
        shown = repr(value)
    raw = value if isinstance(value, int) and not isinstance(value, bool) else None
    if raw is not None and str(raw) != str(shown):
        return f"{shown} ({raw})"
    return str(shown)
