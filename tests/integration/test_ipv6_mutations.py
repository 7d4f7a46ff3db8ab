"""The IPv6 cases fail a SUT that is wrong the way the RFCs forbid: each mutation of
tests/integration/ipv6_mutations.py (an nftables ruleset or sysctls in the SUT's namespace)
breaks one requirement, and the cases about it must FAIL (NOT-IMPLEMENTED for a MAY); the known
Linux deviations, put right, must PASS."""

import pytest

from tests.integration.ipv6_mutations import MUTATIONS, run


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_cases_judge_a_sut_broken_on_purpose(mutation, tmp_path):
    got = run(mutation, tmp_path)
    wrong = {case_id: got.get(case_id) for case_id, want in mutation.cases.items() if got.get(case_id) != want}
    assert not wrong, f"under {mutation.name!r}: {wrong} (wanted {mutation.cases})"
