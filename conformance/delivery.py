"""What an application on the SUT received, concluded by a positive control to the same socket.

"The datagram was not delivered" proves nothing unless the socket would have received one
that should be: after the stimulus, a valid datagram carrying a marker is sent to the same
socket, on the same link. The SUT handles the frames of one link in order, so once the marker
is read, the stimulus has been dealt with, and whatever the socket held before the marker is
what the stimulus delivered. A marker that never comes makes the check INCONCLUSIVE, naming the
socket: nothing can be concluded from the silence of a socket that receives nothing.
"""

from __future__ import annotations

from typing import Protocol

from scapy.packet import Packet

from conformance.verdict import Inconclusive
from conformance.wire import FENCE_TIMEOUT, Port


class Receiver(Protocol):
    def recv(self, size: int = 65535, timeout: float = 1.0) -> bytes: ...


def held_before_control(port: Port, sock: Receiver, control: Packet | bytes, marker: bytes, *, socket_name: str) -> list[bytes]:
    """Send `control`, a valid datagram whose data is `marker`, from `port` to the socket `sock`;
    return the data of every datagram `sock` received before the marker (what the stimulus sent
    before it delivered), plus anything readable right behind the marker, so that a stimulus
    handled late cannot hide. INCONCLUSIVE if the marker does not arrive."""
    port.send(control, note="control datagram")
    held: list[bytes] = []
    while True:
        try:
            data = sock.recv(timeout=FENCE_TIMEOUT)
        except TimeoutError:
            raise Inconclusive(
                f"the control datagram to {socket_name}, sent after the stimulus, was not delivered within "
                f"{FENCE_TIMEOUT} s, so the socket is not shown to receive anything and what the stimulus "
                "delivered cannot be concluded"
            ) from None
        if data == marker:
            break
        held.append(data)
    while True:
        try:
            held.append(sock.recv(timeout=0))
        except TimeoutError:
            return held
