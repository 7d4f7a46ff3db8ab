"""The catalog cache answers exactly what a collection would, collects again only what changed,
and narrows a run to the modules a selection can touch."""

import json
import textwrap

import pytest

from conformance import catalog_cache
from conformance.catalog import CaseInfo, Filter, Level
from conformance.catalog_cache import Entry


def module(*ids, level="MUST"):
    return textwrap.dedent("".join(f'''
        @case("{i}", rfc=791, section="3.1", level={level}, layer=3)
        def test_{i.lower().replace("-", "_")}(lan):
            """Requirement of {i}."""
        ''' for i in ids))


def entry(case_id, module_name):
    info = CaseInfo(id=case_id, title=case_id, rfc=791, section="3.1", level=Level.MUST, layer=3,
                    requirement=f"Requirement of {case_id}.")
    return Entry(info, f"cases/{module_name}::test_{case_id.lower()}", f"/x/{module_name}:2", ("segment",))


class FakeCollector:
    """Collects by reading the ids in the modules' text: what a pytest collection would find."""

    def __init__(self, root):
        self.root = root
        self.calls = []

    def __call__(self, paths, rootdir):
        self.calls.append(([p.name for p in paths], rootdir))
        cases = self.root / "cases"
        files = sorted(cases.rglob("test_*.py")) if paths == [cases.resolve()] else paths
        found = []
        for path in files:
            for case_id in catalog_cache.case_ids(path.read_bytes()) or []:
                found.append(entry(case_id, str(path.relative_to(cases.resolve()))))
        return found, self.root.resolve()


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cases = tmp_path / "cases"
    (cases / "ip").mkdir(parents=True)
    (cases / "ip" / "test_header.py").write_text(module("IP4-A", "IP4-B"))
    (cases / "ip" / "test_options.py").write_text(module("IP4-C"))
    (cases / "test_udp.py").write_text(module("UDP-D"))
    (cases / "ip" / "frames.py").write_text("X = 1\n")
    (tmp_path / "conftest.py").write_text("from fixtures import PLUGINS as pytest_plugins\n")
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "lan.py").write_text("X = 1\n")
    return tmp_path


def ids(entries):
    return [e.info.id for e in entries]


def test_a_second_listing_comes_from_the_cache(tree):
    collect = FakeCollector(tree)
    first = catalog_cache.catalog(tree / "cases", collect)
    assert ids(first) == ["IP4-A", "IP4-B", "IP4-C", "UDP-D"]
    again = catalog_cache.catalog(tree / "cases", collect)
    assert again == first
    assert len(collect.calls) == 1, "nothing changed: nothing is collected again"


def test_a_changed_case_module_alone_is_collected_again(tree):
    collect = FakeCollector(tree)
    catalog_cache.catalog(tree / "cases", collect)
    (tree / "cases" / "ip" / "test_options.py").write_text(module("IP4-C", "IP4-E"))
    after = catalog_cache.catalog(tree / "cases", collect)
    assert collect.calls[-1] == (["test_options.py"], tree.resolve())
    assert ids(after) == ["IP4-A", "IP4-B", "IP4-C", "IP4-E", "UDP-D"], "the module keeps its place"


@pytest.mark.parametrize("change", ["helper", "new module", "removed module", "fixture", "root conftest", "package"])
def test_anything_else_that_changed_means_a_full_collection(tree, change, monkeypatch):
    collect = FakeCollector(tree)
    catalog_cache.catalog(tree / "cases", collect)
    cases = tree / "cases"
    if change == "helper":
        (cases / "ip" / "frames.py").write_text("X = 2\n")
    elif change == "new module":
        (cases / "ip" / "test_more.py").write_text(module("IP4-F"))
    elif change == "removed module":
        (cases / "ip" / "test_options.py").unlink()
    elif change == "fixture":
        (tree / "fixtures" / "lan.py").write_text("X = 2\n")
    elif change == "root conftest":
        (tree / "conftest.py").write_text("pytest_plugins = []\n")
    else:
        real = catalog_cache.sources

        def other_package(cases_dir):
            src = real(cases_dir)
            src.key = "another conformance package"
            return src

        monkeypatch.setattr(catalog_cache, "sources", other_package)
    catalog_cache.catalog(cases, collect)
    assert len(collect.calls) == 2, "the change is noticed"
    assert collect.calls[-1][0] == ["cases"], "the whole cases directory is collected"


def test_without_a_writable_cache_every_listing_collects(tree, monkeypatch):
    blocker = tree / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    collect = FakeCollector(tree)
    assert ids(catalog_cache.catalog(tree / "cases", collect)) == ["IP4-A", "IP4-B", "IP4-C", "UDP-D"]
    catalog_cache.catalog(tree / "cases", collect)
    assert len(collect.calls) == 2


def test_a_damaged_cache_is_collected_again(tree):
    collect = FakeCollector(tree)
    catalog_cache.catalog(tree / "cases", collect)
    catalog_cache.cache_file(tree / "cases").write_text("{not json")
    assert ids(catalog_cache.catalog(tree / "cases", collect)) == ["IP4-A", "IP4-B", "IP4-C", "UDP-D"]
    assert len(collect.calls) == 2


def names(narrowed):
    modules, _ = narrowed
    return [p.name for p in modules]


def test_a_selection_narrows_to_the_modules_that_hold_it(tree):
    cases = tree / "cases"
    assert catalog_cache.modules_for(cases, Filter(ids=("IP4-C",))) is None, "no cache yet: collect everything"
    catalog_cache.catalog(cases, FakeCollector(tree))
    assert names(catalog_cache.modules_for(cases, Filter(ids=("IP4-C",)))) == ["test_options.py"]
    assert names(catalog_cache.modules_for(cases, Filter(ids=("ip4-*",)))) == ["test_header.py", "test_options.py"]
    assert names(catalog_cache.modules_for(cases, Filter(protocol=("udp",)))) == ["test_udp.py"]
    # Every pattern must still name a collected case, or the plugin would call it unknown.
    assert names(catalog_cache.modules_for(cases, Filter(ids=("IP4-C",), exclude=("UDP-D",)))) == [
        "test_options.py", "test_udp.py"]
    _, rootdir = catalog_cache.modules_for(cases, Filter(ids=("IP4-C",)))
    assert rootdir == tree.resolve()
    assert catalog_cache.modules_for(cases, Filter()) is None, "no selection: the whole directory"
    assert catalog_cache.modules_for(cases, Filter(level=(Level.MUST,))) is None, "everything: no narrowing"


def test_a_changed_module_is_read_for_its_case_ids(tree):
    cases = tree / "cases"
    catalog_cache.catalog(cases, FakeCollector(tree))
    (cases / "ip" / "test_options.py").write_text(module("IP4-C", "IP4-NEW"))
    assert names(catalog_cache.modules_for(cases, Filter(ids=("IP4-NEW",)))) == ["test_options.py"]
    # An id that is not a plain string: the module might hold anything.
    (cases / "test_udp.py").write_text("ID = 'UDP-D'\n@case(ID, rfc=768, section='x', level=MUST, layer=4)\n"
                                       "def test_d(lan):\n    '''x'''\n")
    assert names(catalog_cache.modules_for(cases, Filter(ids=("IP4-A",)))) == ["test_header.py", "test_udp.py"]
    (cases / "ip" / "test_more.py").write_text(module("IP4-F"))
    assert catalog_cache.modules_for(cases, Filter(ids=("IP4-A",))) is None, "a new module: collect everything"


def test_case_ids_are_read_from_the_decorators():
    text = module("ARP-X", "ARP-Y").encode() + b'\n@catalog.case(\n    "ARP-Z", rfc=1)\ndef test_z(): pass\n'
    assert catalog_cache.case_ids(text) == ["ARP-X", "ARP-Y", "ARP-Z"]
    assert catalog_cache.case_ids(b"@case(CASE_ID, rfc=1)\ndef test(): pass\n") is None


def test_the_cache_is_plain_json_with_the_entries(tree):
    catalog_cache.catalog(tree / "cases", FakeCollector(tree))
    data = json.loads(catalog_cache.cache_file(tree / "cases").read_text())
    assert [m for m, _ in data["modules"]] == ["ip/test_header.py", "ip/test_options.py", "test_udp.py"]
    assert Entry.from_json(data["modules"][0][1][0]) == entry("IP4-A", "ip/test_header.py")
