"""What a case leaves behind for the results file, and the keys under which a run keeps the
objects its plugins share (pytest's stash). Kept apart from the fixture modules so that the
plugin can name them before pytest loads those modules as plugins."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from conformance.external import Attachment
from conformance.sut import SutTarget
from conformance.wire import Capture


@dataclass
class CaseRecord:
    """A case's frames and the conditions it ran under."""

    capture: Capture = field(default_factory=Capture)
    preconditions: list[str] = field(default_factory=list)


CAPTURE_KEY = pytest.StashKey[CaseRecord]()  # on the item: its CaseRecord
SUT_KEY = pytest.StashKey[SutTarget]()  # on the config: the SUT of this run
ATTACHMENT_KEY = pytest.StashKey[Attachment]()  # on the config: an external SUT's attachment
