"""A tiny IPv4 "stack" on a TAP, for the tests of an external SUT's life: it answers ARP for its
address and ICMP echo requests, says so on stdout, and dies of SIGBUS on an echo request whose
identifier is 0xdead (a stand-in for a stack that crashes on some input).

    python3 fragile_stack.py TAP IP MAC
"""

import fcntl
import os
import signal
import socket
import struct
import sys

TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def main() -> None:
    tap, ip, mac = sys.argv[1], socket.inet_aton(sys.argv[2]), bytes.fromhex(sys.argv[3].replace(":", ""))
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
    print(f"fragile stack up on {tap}", flush=True)
    while True:
        frame = os.read(fd, 2048)
        dst, src, kind = frame[:6], frame[6:12], frame[12:14]
        if kind == b"\x08\x06" and frame[20:22] == b"\x00\x01" and frame[38:42] == ip:
            reply = src + mac + b"\x08\x06" + frame[14:20] + b"\x00\x02" + mac + ip + frame[22:28] + frame[28:32]
            os.write(fd, reply)
        elif kind == b"\x08\x00" and frame[30:34] == ip and frame[23] == 1 and frame[34] == 8:
            ihl = (frame[14] & 0x0F) * 4
            icmp = frame[14 + ihl:14 + struct.unpack("!H", frame[16:18])[0]]
            if icmp[4:6] == b"\xde\xad":
                print("fatal input: echo id 0xdead", file=sys.stderr, flush=True)
                os.kill(os.getpid(), signal.SIGBUS)
            body = b"\x00\x00\x00\x00" + icmp[4:]
            body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
            header = bytearray(frame[14:14 + ihl])
            header[8], header[12:16], header[16:20], header[10:12] = 64, ip, frame[26:30], b"\0\0"
            header[10:12] = struct.pack("!H", checksum(bytes(header)))
            os.write(fd, src + mac + b"\x08\x00" + bytes(header) + body)
        del dst


if __name__ == "__main__":
    main()
