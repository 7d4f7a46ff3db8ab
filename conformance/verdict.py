"""Verdicts, and the exceptions a case or fixture raises when it cannot judge.

- `Inconclusive`: the conditions a case needs could not be established; nothing was judged.
- `NotImplementedBySut`: the SUT shows it lacks an optional feature the case exercises (a MAY,
  an optional specification such as RFC 5227, an option the RFC lets a host ignore, a TCP
  option the SUT did not negotiate). That violates nothing, so it is its own verdict, counted
  apart from failures and never a deviation.
"""

from __future__ import annotations

from enum import Enum
from typing import NoReturn

import pytest


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"  # the SUT violated the requirement
    NOT_IMPLEMENTED = "not-implemented"  # the SUT lacks an optional feature; no violation
    SKIP = "skip"  # the case does not apply to this SUT
    INCONCLUSIVE = "inconclusive"  # the environment could not establish the conditions
    ERROR = "error"  # the suite itself broke

    def __str__(self) -> str:
        return self.value


class Inconclusive(pytest.skip.Exception):  # type: ignore[name-defined,misc]
    """The conditions a case needs could not be established, so nothing was judged.

    It is a kind of skip to pytest (the run does not fail on it), and the plugin reports it as
    INCONCLUSIVE with the reason given here.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(msg=reason, pytrace=False)
        self.reason = reason


class NotImplementedBySut(pytest.skip.Exception):  # type: ignore[name-defined,misc]
    """The SUT does not implement the optional feature the case exercises.

    Only a case that declares that feature (`@case(..., optional="...")`) or a MAY case may
    raise it; the plugin reports anything else as an ERROR of the suite.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(msg=reason, pytrace=False)
        self.reason = reason


class NotApplicable(pytest.skip.Exception):  # type: ignore[name-defined,misc]
    """The case asks of the SUT something this SUT does not offer (a capability, a verb of its
    agent, a frame the send guard will not put on its wire): SKIP, "not applicable: <reason>".
    A baseline never needs to list such a skip."""

    PREFIX = "not applicable: "

    def __init__(self, reason: str) -> None:
        super().__init__(msg=self.PREFIX + reason, pytrace=False)
        self.reason = reason


def not_implemented(reason: str) -> NoReturn:
    """End the case: the SUT lacks the optional feature it declares (say what showed it)."""
    raise NotImplementedBySut(reason)
