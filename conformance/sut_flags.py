"""The SUT's command-line options, as data: shared by the pytest plugin (conformance.sut_options)
and the `conformance` command, which builds its parser from them without importing the plugin's
machinery (and Scapy with it) only to list the catalog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.sut import KINDS

PROFILE_DIR = Path(__file__).parent / "profiles"


# (flags, argparse keyword arguments): shared by the pytest plugin and `conformance run/list/show`.
OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--sut-file",), {"default": None, "metavar": "FILE",
                       "help": "an external SUT described in a TOML file: how it is started and reached (its agent), "
                       "and which TAP or interface plays which role (see docs/sut.md and examples/)"}),
    (("--sut-restart",), {"action": "store_true", "default": False,
                          "help": "tap/iface: restart a SUT (its start command) that died, and go on; every death and "
                          "restart is reported"}),
    (("--sut",), {"default": "netns", "choices": KINDS,
                  "help": "netns: the local kernel in a fresh namespace per case (default); tap: a stack behind a "
                  "TAP device; iface: a device on an existing interface"}),
    (("--sut-profile",), {"default": None, "metavar": "FILE",
                          "help": "netns: a TOML profile of sysctls and commands for the SUT, or the name of a shipped "
                          "one: " + ", ".join(sorted(p.stem for p in PROFILE_DIR.glob("*.toml")))}),
    (("--sut-sysctl",), {"action": "append", "default": [], "metavar": "KEY=VALUE",
                         "help": "netns: a sysctl for the SUT, applied after the profile (repeatable)"}),
    (("--sut-command",), {"default": None, "metavar": "CMD",
                          "help": "tap: start CMD as the SUT; {tap} and $CONFORMANCE_TAP name its TAP device, {netns} "
                          "and $CONFORMANCE_NETNS the namespace the TAP is in"}),
    (("--iface",), {"default": None, "metavar": "NAME",
                    "help": "tap: the TAP's name (default cftap0; without --sut-command, an existing TAP to attach "
                    "to); iface: the interface that leads to the device"}),
    (("--sut-ip",), {"default": None, "metavar": "ADDR", "help": "tap/iface: the SUT's IPv4 address"}),
    (("--sut-mac",), {"default": None, "metavar": "MAC", "help": "tap/iface: the SUT's MAC (default: learned by ARP)"}),
    (("--tester-ip",), {"default": None, "metavar": "ADDR",
                        "help": "tap/iface: a free address on the SUT's segment for the tester (with --sut-command "
                        "the default is the address next to --sut-ip)"}),
    (("--sut-tcp-port",), {"type": int, "default": None, "metavar": "PORT",
                           "help": "tap/iface: a TCP port that listens on the SUT, for cases that need one"}),
    (("--sut-udp-port",), {"type": int, "default": None, "metavar": "PORT",
                           "help": "tap/iface: a UDP port bound on the SUT, for cases that need one"}),
    (("--allow-addresses-outside-test-ranges",), {"action": "store_true", "default": False,
                                                   "help": "tap/iface: accept --sut-ip/--tester-ip outside "
                                                   "198.18.0.0/15, the range the suite otherwise sends to"}),
    (("--allow-host-traffic-iface",), {"action": "store_true", "default": False,
                                        "help": "iface: use --iface even though it carries this machine's own "
                                        "traffic (it has addresses, a default route, or the route to a "
                                        "nameserver); crafted frames will go out on it"}),
]
