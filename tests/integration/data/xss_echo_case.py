"""A real case whose frames carry markup, for tests/integration/test_report_xss.py.

The SUT mirrors an ICMP echo's data, so the hostile bytes come back off the wire too; the case
fails on purpose so that the bytes also reach the assertion message and the baseline reason.
"""

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from conformance.catalog import MUST, case
from conformance.match import like

PAYLOAD = b'<script>alert(1)</script>"onmouseover=alert(2) x=\'<img src=x onerror=alert(3)>'


@case("ICMP-XSS-ECHO", rfc=792, section="Echo or Echo Reply Message", level=MUST, layer=3,
      title='Echo data <script>alert(1)</script> "onmouseover=alert(2)')
def test_echo_mirrors_hostile_data(lan):
    """The echo reply returns the data of the request <b>unchanged</b>, even "onmouseover=alert(2)."""
    request = (Ether(src=lan.tester.mac, dst=lan.sut.mac) / IP(src=lan.tester.ip, dst=lan.sut.ip)
               / ICMP(type="echo-request", id=0x5353, seq=1) / PAYLOAD)
    reply = lan.tester.exchange(request, expect=like(ICMP(type="echo-reply", id=0x5353)))
    data = bytes(reply[ICMP].payload)
    assert data == PAYLOAD, f"the reply must carry the request's data; it carried {data!r}"
    assert data != PAYLOAD, f"deliberate failure carrying the payload into the report: {PAYLOAD.decode()}"
