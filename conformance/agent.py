"""The suite's side of the SUT agent protocol (docs/agent.md): channels that carry requests to
an agent, and the errors a case sees.

- `InProcessChannel`: the local kernel. The agent's own code (conformance_agent.server.Agent)
  runs in this process, inside the SUT's namespace for each request, and requests and answers
  go through the same JSON encoding as on a stream: one implementation of SUT control.
- `StreamChannel`: any byte stream to a remote agent (a command's stdio, a unix socket, a TCP
  connection, a VM's virtio-serial port behind a unix socket).

A verb, knob or option the SUT does not offer raises `Unsupported` (a pytest skip with the
reason); an agent that dies or stops answering raises `AgentLost` (INCONCLUSIVE, naming it).
"""

from __future__ import annotations

import errno
import json
import os
import select
import socket
import subprocess
import time
from typing import Any, NoReturn

from conformance.netns import Namespace
from conformance.verdict import Inconclusive, NotApplicable
from conformance_agent.protocol import OS, TIMEOUT, UNSUPPORTED, decode, encode
from conformance_agent.server import Agent

REQUEST_TIMEOUT = 30.0  # beyond any verb's own timeout: a silent agent is a lost agent


class AgentFailure(RuntimeError):
    """The agent could not carry out a request for a reason that is not the SUT's answer (a
    malformed request, a bug of the agent): an ERROR of the suite."""


class Unsupported(NotApplicable):
    """The SUT's agent does not offer what the case needs: the case does not apply to it."""


class AgentLost(Inconclusive):
    """The agent stopped answering: nothing more can be judged on this SUT."""


def raise_for(verb: str, error: dict[str, Any]) -> None:
    kind, message = error.get("kind"), str(error.get("message", ""))
    if kind == UNSUPPORTED:
        raise Unsupported(f"the SUT does not offer this: {message}")
    if kind == OS:
        name = error.get("errno") or ""
        code = getattr(errno, name, 0) if name else 0
        raise OSError(code, message)
    if kind == TIMEOUT:
        raise TimeoutError(message)
    raise AgentFailure(f"agent {verb}: {kind}: {message}")


class Channel:
    """Carries one request at a time to an agent and returns its result."""

    name = "agent"

    def __init__(self) -> None:
        self._ids = 0
        self.hello: dict[str, Any] = {}

    def call(self, verb: str, **args: Any) -> Any:
        self._ids += 1
        answer = self._exchange({"id": self._ids, "verb": verb, "args": args})
        if not answer.get("ok"):
            raise_for(verb, answer.get("error") or {})
        return answer.get("result")

    def _exchange(self, request: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def offers(self, verb: str) -> bool:
        return verb in self.hello.get("verbs", ())

    def close(self) -> None:
        pass


class InProcessChannel(Channel):
    """The agent's code in this process, each request run inside `ns`."""

    name = "the in-process agent"

    def __init__(self, ns: Namespace) -> None:
        super().__init__()
        self.ns = ns
        self.agent = Agent()
        self.hello = self.call("hello")

    def _exchange(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.ns.entered():
            answer = self.agent.handle(decode(encode(request)))
        return decode(encode(answer))

    def close(self) -> None:
        with self.ns.entered():
            self.agent.close()


class StreamChannel(Channel):
    """An agent at the other end of a byte stream: two fds (read, write), or a socket."""

    def __init__(self, read_fd: int, write_fd: int, name: str, proc: subprocess.Popen[bytes] | None = None,
                 owned: tuple[Any, ...] = ()) -> None:
        super().__init__()
        self.read_fd, self.write_fd = read_fd, write_fd
        self.name = name
        self.proc = proc
        self._owned = owned
        self._buffer = b""
        self.lost = ""

    @classmethod
    def command(cls, argv: list[str], name: str | None = None, **popen: Any) -> StreamChannel:
        """Start `argv` and speak to the agent on its stdin/stdout (ssh, socat, a serial tool)."""
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **popen)
        assert proc.stdin is not None and proc.stdout is not None
        return cls(proc.stdout.fileno(), proc.stdin.fileno(), name or f"the agent of `{' '.join(argv)}`", proc,
                   (proc.stdin, proc.stdout))

    @classmethod
    def connect(cls, address: str, timeout: float = 10.0) -> StreamChannel:
        """Connect to `unix:PATH` or `tcp:HOST:PORT`, retrying until `timeout` (the SUT may still
        be starting)."""
        kind, _, where = address.partition(":")
        deadline = time.monotonic() + timeout
        while True:
            try:
                if kind == "unix":
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    sock.connect(where)
                elif kind == "tcp":
                    host, _, port = where.rpartition(":")
                    sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
                else:
                    raise ValueError(f"agent address {address!r}: use unix:PATH or tcp:HOST:PORT")
                break
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        sock.setblocking(True)
        return cls(sock.fileno(), sock.fileno(), f"the agent at {address}", owned=(sock,))

    def _exchange(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.lost:
            raise AgentLost(self.lost)
        try:
            data = encode(request)
            while data:
                data = data[os.write(self.write_fd, data):]
            line = self._readline(REQUEST_TIMEOUT + float(request["args"].get("timeout") or 0))
        except OSError as exc:
            self._lose(f"the connection broke ({exc.strerror})")
        if line is None:
            self._lose(f"it did not answer {request['verb']} within {REQUEST_TIMEOUT:g} s")
        if not line:
            self._lose("it closed the connection")
        answer = decode(line)
        if answer.get("id") not in (request["id"], None):
            self._lose(f"it answered request {answer.get('id')} when {request['id']} was asked")
        return answer

    def _readline(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                return b""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _lose(self, why: str) -> NoReturn:
        status = ""
        if self.proc is not None:
            try:
                self.proc.wait(timeout=1.0)  # a closed stream is usually a process ending
                status = f"; its process exited with status {self.proc.returncode}"
            except subprocess.TimeoutExpired:
                status = "; its process is still running"
        self.lost = f"{self.name} was lost: {why}{status}"
        raise AgentLost(self.lost)

    def start(self) -> dict[str, Any]:
        self.hello = self.call("hello")
        return self.hello

    def close(self) -> None:
        for obj in self._owned:
            try:
                obj.close()
            except OSError:
                pass
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def describe_hello(hello: dict[str, Any]) -> str:
    return json.dumps({k: hello.get(k) for k in ("agent", "protocol", "system", "release", "machine")})
