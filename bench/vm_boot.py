"""The SUT VM's costs: building its image (cold and cached), the image's size, and the time from
starting scripts/vm-sut to `vm-sut: ready` (the agent inside answered hello), over N boots.

    sudo .venv/bin/python bench/vm_boot.py [--boots 10] [--taps 2] [--accel auto|kvm|tcg] [--kernel-args ...]

Each boot is a fresh vm-sut in a fresh namespace with --taps persistent TAPs, as the suite starts
it. The cold build uses a throw-away cache directory; the boots use the cached image. The load
average is printed with the figures: the machine is shared, and boots are CPU-bound.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance import runs
from conformance.netns import Namespace

VM_SUT = Path(__file__).resolve().parent.parent / "scripts" / "vm-sut"


def timed(argv: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return time.monotonic() - started, done.stdout


def hello(path: str) -> float:
    """Seconds from connecting to the agent's socket to its answer to hello."""
    started = time.monotonic()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        sock.sendall(b'{"id":1,"verb":"hello","args":{}}\n')
        answer = sock.makefile("rb").readline()
    if not json.loads(answer).get("ok"):
        sys.exit(f"the agent refused hello: {answer!r}")
    return time.monotonic() - started


def boot_once(cache: Path, taps: int, extra: list[str], workdir: Path) -> tuple[float, float]:
    """Seconds from spawning vm-sut to its `vm-sut: ready` line, and from a new client's connect
    to the agent's first answer once the previous client has gone (the agent inside has exited
    and starts anew); the VM is stopped after."""
    ns = Namespace("vm-bench")
    try:
        names = [f"vmb{i}" for i in range(taps)]
        for name in names:
            status, out = runs.run_command(ns, f"ip tuntap add dev {name} mode tap && ip link set {name} up")
            if status != 0:
                sys.exit(f"cannot make the TAP {name}: {out}")
        argv = [str(VM_SUT), "--cache-dir", str(cache), "--agent-socket", str(workdir / "agent.sock"),
                "--console-log", str(workdir / "console.log"), *extra]
        for name in names:
            argv += ["--tap", name]
        started = time.monotonic()
        proc = runs.spawn(ns, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        line = proc.stdout.readline() if ready else b""
        elapsed = time.monotonic() - started
        if line != b"vm-sut: ready\n":
            proc.kill()
            sys.exit(f"vm-sut did not get ready ({line!r}): {proc.stderr.read().decode(errors='replace')}")
        time.sleep(1.0)  # vm-sut has left the socket: let the agent inside see it and exit
        reconnect = hello(str(workdir / "agent.sock"))
        proc.terminate()
        proc.wait(timeout=10)
        return elapsed, reconnect
    finally:
        ns.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boots", type=int, default=10)
    parser.add_argument("--taps", type=int, default=2)
    parser.add_argument("--accel", default="auto", choices=("auto", "kvm", "tcg"))
    parser.add_argument("--kernel-args", default="")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/vm_boot.py needs root (TAPs, namespaces, /dev/kvm)")
    extra = ["--accel", args.accel] + (["--kernel-args", args.kernel_args] if args.kernel_args else [])

    work = Path(tempfile.mkdtemp(prefix="vm-bench-"))
    try:
        cache = work / "cache"
        load_before = os.getloadavg()[0]
        cold, out = timed([str(VM_SUT), "--build-only", "--cache-dir", str(cache)])
        cached, _ = timed([str(VM_SUT), "--build-only", "--cache-dir", str(cache)])
        manifest = json.loads(out)
        measured = [boot_once(cache, args.taps, extra, work) for _ in range(args.boots)]
        boots = [ready for ready, _ in measured]
        reconnects = [again for _, again in measured]
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"kernel            {manifest['inputs']['kernel']} (host: {os.uname().release})")
    print(f"build, cold       {cold:.2f} s (of which the image itself {manifest['build_seconds']:.2f} s)")
    print(f"build, cached     {cached:.3f} s (finding the inputs' digest and the cached image)")
    print(f"initramfs         {manifest['size'] / 2**20:.2f} MiB gzip ({manifest['uncompressed'] / 2**20:.1f} MiB unpacked; "
          f"Python stdlib part {manifest['python_stdlib_bytes'] / 2**20:.1f} MiB, {manifest['python_stdlib_modules']} modules)")
    print(f"boot to ready     median {statistics.median(boots):.2f} s, p90 {percentile(boots, 0.9):.2f} s, "
          f"min {min(boots):.2f} s, max {max(boots):.2f} s over {len(boots)} boots "
          f"({args.taps} TAPs, accel {args.accel}{', ' + args.kernel_args if args.kernel_args else ''})")
    print(f"new client        median {statistics.median(reconnects):.2f} s, p90 {percentile(reconnects, 0.9):.2f} s "
          "from connecting to the socket to the answer to hello, 1 s after the previous client left "
          "(the agent inside starts anew)")
    print(f"load average      {load_before:.2f} before, {load_after:.2f} after (2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
