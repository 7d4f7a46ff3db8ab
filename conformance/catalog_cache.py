"""The catalog as pytest collected it, kept per case module between commands.

Collecting the catalog imports every case module, Scapy and the fixtures: about a second. What
it yields (each case's metadata, node id, place and needs) depends on the case files, on the
conformance package that reads them and on pytest, nothing else. So `conformance list` and
`show` keep each module's entries under the hash of the module's text, beside a key made of all
the rest: the package's sources, every other file under the cases directory (helpers,
`__init__.py`, conftest files), the ini files above it, the pytest settings in the environment,
and the versions of Python and pytest. When only some case modules changed, just those are
collected again; when anything else changed, or a module appeared or went, the whole catalog is.
Whatever the cache says is a real collection's answer: it is never guessed.

`conformance run` uses the cache to hand pytest only the modules a selection can touch (see
`modules_for`), so that running one case does not import all of them. A module changed since
the cache was written is read for the case ids in its text and kept whenever it might match.

The cache lives in $XDG_CACHE_HOME/ipstack-conformance (~/.cache by default); where it cannot
be read or written, every command collects as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from conformance.catalog import PROTOCOLS, CaseInfo, Filter

FORMAT = 1
INI_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
FIXTURES = "fixtures"  # the suite's topology fixtures, beside the root conftest.py
ENVIRONMENT = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
TEST_MODULE = re.compile(r"(^test_.*|.*_test)\.py$")  # pytest's default python_files
CASE_DECORATOR = re.compile(rb"^[ \t]*@(?:[\w.]+\.)?case\(", re.MULTILINE)
CASE_ID = re.compile(rb"^[ \t]*@(?:[\w.]+\.)?case\(\s*(?:case_id\s*=\s*)?([\"'])([A-Z0-9][A-Z0-9-]*)\1", re.MULTILINE)


@dataclass(frozen=True)
class Entry:
    """One case as collected: its metadata, node id, 'file:line', and what it needs of a SUT."""

    info: CaseInfo
    nodeid: str
    where: str
    needs: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"info": self.info.as_dict(), "nodeid": self.nodeid, "where": self.where, "needs": list(self.needs)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        return cls(CaseInfo.from_dict(data["info"]), data["nodeid"], data["where"], tuple(data["needs"]))


# Collects `paths` with pytest (with `rootdir` as --rootdir when given); returns the entries and
# the rootdir pytest used.
Collector = Callable[[list[Path], "Path | None"], tuple[list[Entry], Path]]


@dataclass
class Sources:
    """What the catalog of `cases_dir` is made from, as hashes."""

    cases_dir: Path
    files: dict[str, str]  # every .py under cases_dir, by path relative to it -> sha256 of its text
    key: str  # everything else the collection depends on

    def text(self, module: str) -> bytes:
        return (self.cases_dir / module).read_bytes()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sources(cases_dir: Path) -> Sources:
    import pytest

    cases_dir = cases_dir.resolve()
    files = {str(p.relative_to(cases_dir)): _sha(p.read_bytes()) for p in sorted(cases_dir.rglob("*.py"))
             if "__pycache__" not in p.parts}
    key = hashlib.sha256()
    key.update(f"{FORMAT} {sys.version} {pytest.__version__}".encode())
    for name in ENVIRONMENT:
        key.update(f"{name}={os.environ.get(name, '')}".encode())
    package = Path(__file__).resolve().parent
    for p in sorted(package.rglob("*.py")):
        key.update(str(p.relative_to(package)).encode() + bytes.fromhex(_sha(p.read_bytes())))
    for directory in (cases_dir, *cases_dir.parents):
        for name in INI_FILES:
            ini = directory / name
            if ini.is_file():
                key.update(str(ini).encode() + bytes.fromhex(_sha(ini.read_bytes())))
        if (directory / "conftest.py").is_file():  # a checkout's root: its conftest and the fixtures it loads
            for p in [directory / "conftest.py", *sorted((directory / FIXTURES).rglob("*.py"))]:
                key.update(str(p).encode() + bytes.fromhex(_sha(p.read_bytes())))
    for module, digest in files.items():
        if not TEST_MODULE.match(Path(module).name):  # helpers, __init__, conftest: they change any module
            key.update(module.encode() + bytes.fromhex(digest))
    return Sources(cases_dir, files, key.hexdigest())


def cache_file(cases_dir: Path) -> Path:
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ipstack-conformance"
    except (RuntimeError, KeyError):  # no home directory to be found: the cache goes nowhere
        base = Path("/nonexistent")
    return base / f"catalog-{_sha(str(cases_dir.resolve()).encode())[:16]}.json"


def _load(src: Sources) -> dict[str, Any] | None:
    try:
        data = json.loads(cache_file(src.cases_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != src.key:
        return None
    return data


def _store(src: Sources, rootdir: Path, modules: dict[str, list[Entry]]) -> None:
    path = cache_file(src.cases_dir)
    data = {"format": FORMAT, "key": src.key, "files": src.files, "rootdir": str(rootdir),
            "modules": [[m, [e.as_json() for e in entries]] for m, entries in modules.items()]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass  # no cache: the next command collects again


def _changed(src: Sources, cached: dict[str, Any]) -> set[str]:
    old: dict[str, str] = cached["files"]
    return {m for m in set(src.files) | set(old) if src.files.get(m) != old.get(m)}


def _by_module(src: Sources, rootdir: Path, entries: list[Entry]) -> dict[str, list[Entry]] | None:
    """Entries grouped by their module (path relative to the cases directory), in their order;
    None if one lies outside the cases directory."""
    out: dict[str, list[Entry]] = {}
    for e in entries:
        try:
            module = str((rootdir / e.nodeid.split("::", 1)[0]).resolve().relative_to(src.cases_dir))
        except ValueError:
            return None
        out.setdefault(module, []).append(e)
    return out


def catalog(cases_dir: Path, collect: Collector) -> list[Entry]:
    """Every case under `cases_dir`, as `collect` (a real pytest collection) finds them, from the
    cache where it holds the answer."""
    src = sources(cases_dir)
    cached = _load(src)
    if cached is not None:
        modules = {m: [Entry.from_json(e) for e in entries] for m, entries in cached["modules"]}
        changed = _changed(src, cached)
        if not changed:
            return [e for entries in modules.values() for e in entries]
        if changed <= set(modules) and changed <= set(src.files):  # only known case modules' text changed
            rootdir = Path(cached["rootdir"])
            found, used = collect([src.cases_dir / m for m in sorted(changed)], rootdir)
            fresh = _by_module(src, used, found)
            if used == rootdir and fresh is not None and set(fresh) <= changed:
                for m in changed:
                    modules[m] = fresh.get(m, [])
                _store(src, rootdir, modules)
                return [e for entries in modules.values() for e in entries]
    found, rootdir = collect([src.cases_dir], None)
    grouped = _by_module(src, rootdir, found)
    if grouped is not None:
        _store(src, rootdir, grouped)
    return found


def case_ids(text: bytes) -> list[str] | None:
    """The ids of the @case decorators in a module's text, or None where one is not a plain
    string (the module must then be collected to know)."""
    ids = [m.group(2).decode() for m in CASE_ID.finditer(text)]
    return ids if len(ids) == len(CASE_DECORATOR.findall(text)) else None


def modules_for(cases_dir: Path, selection: Filter) -> tuple[list[Path], Path] | None:
    """The case modules that hold every case `selection` can select, and every case its id
    patterns (including --exclude) name, with the rootdir of the cached collection (so that node
    ids stay those of a full run). None when that cannot be told without collecting (no cache),
    or when it would not narrow anything."""
    patterns = [p.upper() for p in (*selection.ids, *selection.exclude)]
    if not any((selection.protocol, selection.rfc, selection.level, selection.text, selection.ids, selection.tags)):
        return None
    src = sources(cases_dir)
    cached = _load(src)
    if cached is None:
        return None
    changed = _changed(src, cached)
    known = [m for m, _ in cached["modules"]]
    if not changed <= set(known):
        return None  # a module appeared or went, or one without cases changed: only a collection knows
    keep: list[str] = []
    for module, entries in cached["modules"]:
        if module in changed:
            if module not in src.files:
                continue
            ids = case_ids(src.text(module))
            if ids is None or any(_may_select(selection, patterns, case_id) for case_id in ids):
                keep.append(module)
        elif any(selection(info) or _named(patterns, info.id)
                 for info in (CaseInfo.from_dict(e["info"]) for e in entries)):
            keep.append(module)
    if not keep or len(keep) == len(known):
        return None
    return [src.cases_dir / m for m in keep], Path(cached["rootdir"])


def _named(patterns: list[str], case_id: str) -> bool:
    return any(fnmatchcase(case_id, p) for p in patterns)


def _may_select(selection: Filter, patterns: list[str], case_id: str) -> bool:
    """Whether a case known only by its id might be selected (or named by a pattern): the
    criteria an id alone cannot settle count as met."""
    if _named(patterns, case_id):
        return True
    if selection.ids and not _named([p.upper() for p in selection.ids], case_id):
        return False
    prefix = case_id.split("-", 1)[0]
    return not selection.protocol or PROTOCOLS.get(prefix) in selection.protocol
