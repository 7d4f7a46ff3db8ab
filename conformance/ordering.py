"""The order cases run in: timer-bound cases first under xdist, and `--shuffle SEED`.

Under xdist, cases that declare a wait (`waits=` in @case) come first, so that each worker
hands them to a forked process of its own at the start (conformance.overlap) and their waits
run alongside all the other cases instead of after them.

`--shuffle SEED` runs the cases in a random order that the seed reproduces (the timer-bound
ones still first under xdist, in their own random order). Verdicts must not depend on order; a
shuffled run shows whether they do. The seed is printed in the header and recorded in
results.json. Under xdist every worker shuffles with the controller's seed, so all of them see
the same collection.

PYTEST_DONT_REWRITE: a plugin module the CLI may import before pytest loads it.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from conformance import overlap

SEED_KEY = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("conformance").addoption(
        "--shuffle", default=None, metavar="SEED",
        help="run the cases in a random order: an integer seed, or 'random' for a fresh one (printed)")


def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("shuffle")
    inherited = getattr(config, "workerinput", {}).get("conformance_shuffle_seed")
    if inherited is not None:
        config.stash[SEED_KEY] = int(inherited)
    elif value == "random":
        config.stash[SEED_KEY] = random.SystemRandom().randrange(1 << 32)
    elif value is not None:
        try:
            config.stash[SEED_KEY] = int(value)
        except ValueError:
            raise pytest.UsageError(f"--shuffle {value!r}: give an integer seed or 'random'") from None


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
def pytest_configure_node(node: Any) -> None:
    seed = node.config.stash.get(SEED_KEY, None)
    if seed is not None:
        node.workerinput["conformance_shuffle_seed"] = seed


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.stash.get(SEED_KEY, None)
    return None if seed is None else f"case order shuffled with seed {seed} (--shuffle {seed} repeats it)"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seed = config.stash.get(SEED_KEY, None)
    if seed is not None:
        items.sort(key=lambda item: item.nodeid)  # the same start on every worker, whatever the file order
        random.Random(seed).shuffle(items)
    if overlap.enabled(config):
        items.sort(key=lambda item: not overlap.is_timer_bound(item))  # stable: the order within each part holds


def seed_of(config: pytest.Config) -> int | None:
    return config.stash.get(SEED_KEY, None)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    seed = config.stash.get(SEED_KEY, None)
    if seed is not None and not hasattr(config, "workerinput"):
        terminalreporter.write_line(f"case order shuffled with seed {seed} (--shuffle {seed} repeats it)")
