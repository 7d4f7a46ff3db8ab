"""Under xdist, cases that declare a wait run first (each in a fork of its worker, see
conformance.overlap); elsewhere, and with --no-overlap, the order is the collection's."""

import types

import pytest

from conformance import ordering
from conformance.catalog import MUST, make_info


def item(name, waits=""):
    def fn():
        """A requirement."""

    info = make_info(fn, f"UDP-{name}", rfc=768, section="x", level=MUST, layer=4, title=None, tags=(), needs=(),
                     waits=waits, also=())
    marker = pytest.mark.conformance_case(info=info).mark
    return types.SimpleNamespace(nodeid=name, get_closest_marker=lambda m, marker=marker: marker if m == "conformance_case" else None)


def config(worker=True, no_overlap=False, seed=None):
    c = types.SimpleNamespace(stash={}, getoption=lambda name, default=None: no_overlap if name == "no_overlap" else default)
    if worker:
        c.workerinput = {}
    if seed is not None:
        c.stash[ordering.SEED_KEY] = seed
    return c


def order(cfg, items):
    ordering.pytest_collection_modifyitems(cfg, items)
    return [i.nodeid for i in items]


def catalog():
    return [item("A"), item("B", waits="a timer"), item("C"), item("D", waits="another timer")]


def test_timer_bound_cases_come_first_in_an_xdist_worker():
    assert order(config(), catalog()) == ["B", "D", "A", "C"]


def test_without_xdist_or_with_no_overlap_the_order_holds():
    assert order(config(worker=False), catalog()) == ["A", "B", "C", "D"]
    assert order(config(no_overlap=True), catalog()) == ["A", "B", "C", "D"]


def test_a_shuffled_order_keeps_the_timer_bound_cases_first_and_is_the_same_on_every_worker():
    first = order(config(seed=7), catalog())
    assert set(first[:2]) == {"B", "D"}
    assert order(config(seed=7), list(reversed(catalog()))) == first
