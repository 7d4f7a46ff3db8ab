"""conformance-agent: the SUT side of the conformance suite's control seam.

A small stdlib-only program that runs on (or beside) a system under test and answers the
suite's requests over any byte stream: the stdio of a command, a serial/virtio port, a unix
socket or a TCP connection. It configures the SUT (addresses, routes, rules, neighbours, named
knobs), reads its state (counters, neighbour and TCP tables) and runs applications on it
(sockets). The protocol is in docs/agent.md; the suite uses the very same code in-process for
the local kernel, so there is one implementation of SUT control.

This package must import nothing outside the standard library.
"""

__version__ = "1.0"
