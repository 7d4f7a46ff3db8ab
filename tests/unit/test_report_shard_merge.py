"""Sharding and merging without root: the partition, the durations it reads, and what merge refuses."""

import json
from pathlib import Path

import pytest

from conformance import shard
from conformance.cli import main
from conformance.report import merge
from conformance.report.model import read_results, write_results
from conformance.report.synthetic import make_run


@pytest.mark.parametrize(("text", "index", "count"), [("1/1", 1, 1), ("2/4", 2, 4), (" 3 / 3 ", 3, 3)])
def test_shard_option_reads_k_of_n(text, index, count):
    assert shard.parse(text) == shard.Shard(index, count)


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "two/4", "1", "1/2/3"])
def test_a_bad_shard_option_is_one_sentence(text):
    with pytest.raises(shard.ShardError, match=r"K/N|K must be between 1 and N"):
        shard.parse(text)


def test_the_estimate_reads_the_declared_waits():
    assert shard.estimate_ms("") == shard.ESTIMATE_BASE_MS
    assert shard.estimate_ms("two SYN retransmission timeouts (1 s + 2 s)") == shard.ESTIMATE_BASE_MS + 3000
    assert shard.estimate_ms("two unanswered ARP requests, 100 ms apart") == shard.ESTIMATE_BASE_MS + 100
    assert shard.estimate_ms("one retransmission timeout (0.2-1 s)") == shard.ESTIMATE_BASE_MS + 1000


def test_partition_is_deterministic_complete_and_balanced():
    costs = [(f"CASE-{i:03d}", float((i * 37) % 101 + 1)) for i in range(200)] + [("SLOW-1", 900.0), ("SLOW-2", 850.0)]
    first = shard.partition(costs, 4)
    assert shard.partition(list(reversed(costs)), 4) == first, "the order the cases were collected in does not matter"
    assert set(first) == {k for k, _ in costs} and set(first.values()) == {1, 2, 3, 4}
    loads = [sum(ms for k, ms in costs if first[k] == i) for i in range(1, 5)]
    assert max(loads) - min(loads) <= max(ms for _, ms in costs), loads
    assert first["SLOW-1"] != first["SLOW-2"], "the two longest cases go to different shards"
    assert shard.digest(first, 4) == shard.digest(dict(reversed(list(first.items()))), 4)
    moved = dict(first, **{"CASE-000": first["CASE-000"] % 4 + 1})
    assert shard.digest(moved, 4) != shard.digest(first, 4)


def test_more_shards_than_cases_leaves_shards_empty():
    assert sorted(shard.partition([("A", 1.0), ("B", 1.0)], 5).values()) == [1, 2]


def test_durations_come_from_the_newest_complete_unsharded_runs(tmp_path):
    reports = tmp_path / "reports"
    older = make_run(reports / "20260101-000000-0001", 4, seed=1)
    newer = make_run(reports / "20260102-000000-0002", 4, seed=1)
    part = make_run(reports / "20260103-000000-0003", 4, seed=1)
    for c in newer["cases"]:
        c["duration_ms"] = 7.0
    part["run"]["shard"] = {"index": 1, "count": 2}
    for c in part["cases"]:
        c["duration_ms"] = 999.0
    for r, d in ((older, "20260101-000000-0001"), (newer, "20260102-000000-0002"), (part, "20260103-000000-0003")):
        write_results(reports / d / "results.json", r)
    durations, used = shard.recorded_durations(reports)
    assert set(durations.values()) == {7.0}, "the newest unsharded run wins; a shard is no source"
    assert used[0].endswith("20260102-000000-0002/results.json")
    assert shard.recorded_durations(reports / "20260101-000000-0001")[0] == {
        c["id"]: c["duration_ms"] for c in older["cases"]}
    assert shard.recorded_durations(tmp_path / "nothing-here") == ({}, [])


def _sharded(tmp_path: Path, results: dict, count: int, *, digest: str = "d1") -> list[Path]:
    """The synthetic run cut into `count` shard runs the way --shard would have."""
    plan = shard.partition([(c["id"], c["duration_ms"]) for c in results["cases"]], count)
    dirs = []
    for index in range(1, count + 1):
        run_dir = tmp_path / f"shard-{index}"
        part = json.loads(json.dumps(results))
        part["run"]["id"] = f"2026010{index}-000000-000{index}"
        part["run"]["shard"] = {"index": index, "count": count, "digest": digest,
                                "cases_in_all_shards": len(results["cases"]),
                                "cases": sum(1 for v in plan.values() if v == index)}
        part["cases"] = [c for c in part["cases"] if plan[c["id"]] == index]
        run_dir.mkdir()
        (run_dir / "pcap").symlink_to(tmp_path / "full" / "pcap")
        write_results(run_dir / "results.json", part)
        dirs.append(run_dir)
    return dirs


def test_merged_shards_are_the_full_run(tmp_path, capsys):
    full = make_run(tmp_path / "full", 30, seed=2)
    dirs = _sharded(tmp_path, full, 3)
    code = main(["merge", *map(str, dirs), "--report-dir", str(tmp_path / "merged")])
    out = capsys.readouterr().out
    assert code == (1 if full["summary"]["outcomes"]["fail"] + full["summary"]["outcomes"]["error"] else 0)
    merged = read_results(tmp_path / "merged" / "latest" / "results.json")
    assert {c["id"]: c["outcome"] for c in merged["cases"]} == {c["id"]: c["outcome"] for c in full["cases"]}
    assert merged["summary"] == full["summary"]
    assert [s["shard"]["index"] for s in merged["run"]["shards"]] == [1, 2, 3]
    assert merged["run"]["complete"] is True
    latest = tmp_path / "merged" / "latest"
    for name in ("index.html", "junit.xml", "run.pcapng"):
        assert (latest / name).stat().st_size > 0
    assert all((latest / c["pcap"]).exists() for c in merged["cases"])
    assert "merged 3 run(s): 30 cases" in out


def test_merge_refuses_what_is_not_one_run(tmp_path, capsys):
    full = make_run(tmp_path / "full", 12, seed=2)
    dirs = _sharded(tmp_path, full, 2)
    other = tmp_path / "other"
    json_other = json.loads((dirs[1] / "results.json").read_text())
    json_other["run"]["shard"]["digest"] = "another"
    other.mkdir()
    write_results(other / "results.json", json_other)
    assert main(["merge", str(dirs[0]), str(other), "--report-dir", str(tmp_path / "m")]) == 2
    assert "partition digests differ" in capsys.readouterr().err
    assert main(["merge", str(dirs[0]), str(dirs[0]), "--report-dir", str(tmp_path / "m")]) == 2
    assert "is in both" in capsys.readouterr().err
    assert main(["merge", str(dirs[0]), "--report-dir", str(tmp_path / "m")]) == 1
    assert "incomplete" in capsys.readouterr().err and "shards not given: 2/2" in merge.check(
        merge.load_runs([dirs[0]]))[1]
    assert main(["merge", str(tmp_path / "nowhere")]) == 2
    assert "no such results file" in capsys.readouterr().err
