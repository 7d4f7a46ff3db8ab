"""The mutation self-test's CI subset (root): a handful of faults from faults.toml (those marked
`ci`), one per area, each injected into the local kernel's SUT through `conformance run
--sut-profile`. Under each fault every case it names must FAIL; without it (the control, one
run for all of them) the same cases must PASS, or the FAIL would prove nothing. The whole
catalog of faults runs in bench/mutation.py."""

from pathlib import Path

import pytest

from tests.mutation.faults import Fault, Outcome, judge, load, run_cases, selection

pytestmark = pytest.mark.root

CI_FAULTS = [f for f in load() if f.ci]


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case the CI faults name, on the unbroken kernel."""
    return run_cases(selection(CI_FAULTS), tmp_path_factory.mktemp("control"), workers=2)


@pytest.mark.parametrize("fault", CI_FAULTS, ids=[f.id for f in CI_FAULTS])
def test_fault_turns_its_cases_fail(fault: Fault, control: dict[str, Outcome], tmp_path: Path) -> None:
    faulty = run_cases(fault.cases, tmp_path / "reports", profile=fault.write_profile(tmp_path))
    verdict = judge(fault, faulty, control)
    assert verdict.control_ok, f"{fault.id}: the control does not hold: {verdict.problems}"
    assert verdict.caught, f"{fault.id} ({fault.models}) was not caught: {verdict.problems}"
    assert sorted(verdict.catchers) == sorted(fault.must_fail)  # the CI faults name ids, not globs
