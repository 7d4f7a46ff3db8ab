"""The SUT's own counters around a burst: did every stimulus reach it, did it fail to send any
answer it tried to, and did every answer it sent reach the tester?

A rate-limit case sends a burst and counts the answers on the wire: fewer answers than stimuli
show a limit only if every stimulus arrived and every answer the SUT sent came back. A NIC, an
emulated one above all, may drop part of a burst sent back to back, on the way in or on the way
out, and the missing answers would then pass for a limit (or fail a SUT that must answer every
one); a slow SUT may also fail to send answers for want of buffer space, which is no rate limit.
Where the SUT offers its counters, the case reads an input counter and, where they exist, the
counters of the answers it sent and of those it failed to send, before and after the burst, and
is INCONCLUSIVE when they show a loss; where it offers none, the count stands unverified, and the case's preconditions
say so.
"""

from __future__ import annotations

from typing import Any

from conformance.verdict import Inconclusive, NotApplicable

Counter = tuple[str, str]  # (table, name), e.g. ("snmp6", "Ip6.InReceives")


class BurstCounters:
    """Reads `received` (the SUT's input counter) and `answered` (its count of the answers the
    case looks for, if it keeps one) when made, and again in `check`."""

    def __init__(self, control: Any, received: Counter, answered: Counter | None = None,
                 failed: Counter | None = None) -> None:
        self.control, self.received, self.answered, self.failed = control, received, answered, failed
        self.before = self._read()

    def _read(self) -> dict[Counter, int] | None:
        values: dict[Counter, int] = {}
        try:
            for table in {c[0] for c in (self.received, self.answered, self.failed) if c is not None}:
                counters: dict[str, int] = self.control.counters(table)
                values.update({(table, name): value for name, value in counters.items()})
        except NotApplicable:  # no agent, or one without counters
            return None
        return values

    def check(self, sent: int, what: str, seen: int, answers: str) -> None:
        """INCONCLUSIVE unless the input counter rose by at least `sent` (other traffic, such as
        the fence, only adds to it) and the SUT counted no more `answers` sent than the `seen`
        ones that reached the tester."""
        after = self._read()
        if self.before is None or after is None or self.received not in after:
            note = f"not verified that all {sent} {what} reached the SUT: it offers no {self.received[1]} counter"
            try:
                self.control.preconditions.append(note)
            except NotApplicable:  # no agent at all: nowhere to say it but here
                pass
            return
        arrived = after[self.received] - self.before.get(self.received, 0)
        if arrived < sent:
            raise Inconclusive(
                f"only {arrived} of the {sent} {what} reached the SUT ({self.received[1]} rose by {arrived}), so fewer "
                f"{answers} than stimuli show nothing about a limit"
            )
        if self.failed is not None and self.failed in after:
            failed = after[self.failed] - self.before.get(self.failed, 0)
            if failed > 0:
                raise Inconclusive(
                    f"the SUT failed to send {failed} of the {answers} it tried to send ({self.failed[1]} rose by "
                    f"{failed}); a message lost to an error is no rate limit, so the count on the wire shows nothing "
                    "about one"
                )
        if self.answered is not None and self.answered in after:
            counted = after[self.answered] - self.before.get(self.answered, 0)
            if counted > seen:
                raise Inconclusive(
                    f"the SUT counted {counted} {answers} sent ({self.answered[1]}) but {seen} reached the tester: "
                    "the rest were lost on the way, so the count on the wire shows nothing about a limit"
                )
