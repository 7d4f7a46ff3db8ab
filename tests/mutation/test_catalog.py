"""The fault catalog itself (no root): enough faults, across the areas, each a profile the suite
accepts, naming cases that exist. The runs that inject them are test_mutation.py and
bench/mutation.py."""

import json
import subprocess
import sys
from collections import Counter

import pytest

from conformance import profile as profiles
from tests.mutation.faults import REPO, load, matching


@pytest.fixture(scope="module")
def faults():
    return load()


@pytest.fixture(scope="module")
def case_ids():
    listing = subprocess.run([sys.executable, "-m", "conformance.cli", "list", "--json"], cwd=REPO,
                             capture_output=True, text=True, check=True)
    return {entry["id"] for entry in json.loads(listing.stdout)}


def test_at_least_forty_faults_across_the_catalog(faults):
    assert len(faults) >= 40
    areas = Counter(f.area for f in faults)
    assert set(areas) >= {"arp", "ethernet", "ipv4", "fragmentation", "icmp", "pmtu", "routing", "tcp", "udp"}


def test_every_named_case_exists(faults, case_ids):
    missing = [f"{f.id}: {pattern}" for f in faults for pattern in f.cases if not matching(pattern, case_ids)]
    assert not missing, f"cases named by faults but not in the catalog: {missing}"


def test_every_fault_says_what_it_models_in_one_sentence(faults):
    for f in faults:
        assert f.models.endswith(".") and f.models.count(". ") == 0, f.id


def test_every_fault_is_a_profile_the_suite_accepts(faults, tmp_path):
    for f in faults:
        loaded = profiles.load(f.write_profile(tmp_path))
        assert loaded.sysctls == {k: str(v) for k, v in f.sysctls.items()}, f.id
        assert len(loaded.commands) == bool(f.nft) + len(f.commands), f.id
        if f.nft:
            assert f.nft.strip() in loaded.commands[0], f.id


def test_the_ci_subset_is_a_handful(faults):
    assert 6 <= sum(f.ci for f in faults) <= 8
