"""Stage the part of Debian's Python 3.11 that the agent needs, for the VM's initramfs.

Run by scripts/vm-sut under /usr/bin/python3.11 -I -S (the interpreter the VM will run, so the
module set and the bytecode match it):

    python3.11 -I -S collect_python.py AGENT_PACKAGE_DIR STAGING_ROOT

Which stdlib modules: what `python3 -S -m conformance_agent` imports to start, plus everything
the agent's source files import, followed statically (modulefinder: imports inside functions
count too, so a verb that is rarely used does not fail in the VM for a missing module). Stdlib
modules are shipped as bytecode only (unchecked-hash .pyc in place of the .py: about a third of
the source's size, and nothing to compile at boot); the agent is shipped as source, so that its
tracebacks on the console show the lines, with its bytecode beside it.

Prints a JSON object: {"modules": N, "extensions": [paths of the .so files staged]}, so the
caller can add the shared libraries those need.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import modulefinder
import os
import py_compile
import shutil
import sys

STDLIB = os.path.dirname(os.__file__)  # /usr/lib/python3.11
DYNLOAD = os.path.join(STDLIB, "lib-dynload")
# What the interpreter itself needs before the agent's first import: the codecs it looks up by
# name at start (the VM runs in the C locale, which Python 3.11 turns into UTF-8 mode), and runpy
# for -m.
STARTUP = ["encodings", "encodings.aliases", "encodings.utf_8", "encodings.ascii", "encodings.latin_1", "runpy"]
# Reached only on paths the agent never takes inside the VM: the interactive debugger and help(),
# Windows and macOS, installed-package metadata and resources (the import system reaches them
# lazily), archives (shutil's make_archive), and the C accelerators whose pure-Python fallback the
# stdlib takes by itself (_decimal; _hashlib would bring libcrypto's 4 MB for hashes that Python
# has built in). Leaving them out halves the Python part of the image.
EXCLUDES = ["pdb", "pydoc", "doctest", "unittest", "tkinter", "idlelib", "ensurepip", "lib2to3", "distutils",
            "test", "curses", "readline", "_osx_support", "_aix_support", "nt", "winreg", "msvcrt",
            "_winapi", "_overlapped", "_scproxy", "java", "org", "vms_lib", "plistlib",
            "importlib.metadata", "importlib.resources", "email", "tarfile", "zipfile", "gzip", "bz2", "lzma",
            "_bz2", "_lzma", "_hashlib", "_decimal"]


def find_modules(agent_dir: str) -> dict[str, str]:
    """Module name -> file, for every stdlib module the agent may import."""
    parent = os.path.dirname(os.path.abspath(agent_dir))
    finder = modulefinder.ModuleFinder(path=[parent, *sys.path], excludes=EXCLUDES)
    for name in STARTUP:
        finder.import_hook(name)
    for root, _dirs, files in os.walk(agent_dir):
        for file in sorted(files):
            if file.endswith(".py"):
                finder.run_script(os.path.join(root, file))
    found = {}
    for name, module in finder.modules.items():
        path = module.__file__
        if path and (path.startswith(STDLIB + os.sep)):
            found[name] = path
    return found


def compile_sourceless(source: str, target: str) -> None:
    """Bytecode in place of the source: an unchecked-hash .pyc needs no .py beside it."""
    with open(source, "rb") as f:
        data = f.read()
    shown = source  # tracebacks name the file where it lived on the build machine
    code = compile(data, shown, "exec", dont_inherit=True)
    pyc = importlib._bootstrap_external._code_to_hash_pyc(  # type: ignore[attr-defined]
        code, importlib.util.source_hash(data), checked=False)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as f:
        f.write(pyc)


def stage(agent_dir: str, root: str) -> dict[str, object]:
    modules = find_modules(agent_dir)
    extensions = []
    for path in sorted(set(modules.values())):
        target = root + path
        if path.endswith(".py"):
            compile_sourceless(path, target + "c")
        else:  # an extension module in lib-dynload
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(path, target)
            extensions.append(path)
    os.makedirs(root + DYNLOAD, exist_ok=True)  # getpath's landmark for exec_prefix
    agent_target = os.path.join(root, "opt", "conformance", os.path.basename(os.path.abspath(agent_dir)))
    shutil.copytree(agent_dir, agent_target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # Its bytecode beside it, so the agent's first start in the VM compiles nothing.
    compileall.compile_dir(agent_target, quiet=1, ddir=os.path.join("/opt/conformance", os.path.basename(agent_target)),
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return {"modules": len(modules), "extensions": extensions}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python3.11 -I -S collect_python.py AGENT_PACKAGE_DIR STAGING_ROOT")
    print(json.dumps(stage(sys.argv[1], sys.argv[2])))
