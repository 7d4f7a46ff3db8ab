"""A case that starts a process inside the SUT's namespace and then blocks until killed.

tests/integration/test_killed_run.py kills the run with SIGKILL while this case waits.
"""

import os
from pathlib import Path

from scapy.layers.l2 import ARP

from conformance import runs
from conformance.catalog import MUST, case
from conformance.match import like


@case("ARP-DATA-KILLED", rfc=826, section="Packet Reception", level=MUST, layer=2)
def test_started_process_then_blocks(lan):
    """Holds a child process in the SUT namespace while the run is killed."""
    child = runs.spawn(lan.control.channel.ns, ["sleep", "600"])
    Path(os.environ["KILLED_RUN_PIDFILE"]).write_text(str(child.pid))
    lan.tester.expect(like(ARP(op=99)), timeout=600)
