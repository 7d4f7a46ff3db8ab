"""Verdicts, and the exception a case or fixture raises when the conditions cannot be set up."""

from __future__ import annotations

from enum import Enum

import pytest


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"  # the SUT violated the requirement
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
