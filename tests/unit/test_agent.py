"""The agent protocol without root: framing, errors, knobs, option names, and the suite's stream
channel talking to a real agent over a socket pair (its application verbs on loopback)."""

from __future__ import annotations

import io
import socket
import threading

import pytest

from conformance.agent import AgentFailure, StreamChannel, Unsupported
from conformance_agent import knobs, protocol
from conformance_agent.server import Agent, serve


def ask(agent: Agent, verb: str, **args):
    return agent.handle({"id": 1, "verb": verb, "args": args})


def test_hello_says_what_the_agent_offers():
    hello = ask(Agent(), "hello")["result"]
    assert hello["protocol"] == protocol.PROTOCOL_VERSION == 1
    assert {"hello", "reset", "knob_set", "tcp_listen", "recvmsg"} <= set(hello["verbs"])
    assert "shell" not in " ".join(hello["verbs"]) and "exec" not in " ".join(hello["verbs"]), "no pass-through"
    assert hello["knobs"]["ipv4.forwarding"]


@pytest.mark.parametrize(("verb", "args", "kind", "text"), [
    ("no_such_verb", {}, "unsupported", "does not offer the verb 'no_such_verb'"),
    ("knob_get", {"name": "ipv9.warp"}, "unsupported", "no knob ipv9.warp"),
    ("route_get", {}, "invalid", "missing argument 'dst'"),
    ("recv", {"handle": 99}, "invalid", "no socket 99"),
    ("sysctl_get", {"key": "net/../../etc"}, "invalid", "is not a sysctl key"),
    ("route_add", {"dst": "198.18.0.0/24", "bogus": 1}, "unsupported", "route attributes ['bogus'] are not offered"),
])
def test_errors_come_back_by_kind(verb, args, kind, text):
    answer = ask(Agent(), verb, **args)
    assert answer["ok"] is False and answer["error"]["kind"] == kind and text in answer["error"]["message"]


def test_a_stream_session_answers_each_line_and_survives_garbage():
    out = io.BytesIO()
    serve(io.BytesIO(b'{"id": 1, "verb": "hello", "args": {}}\nnot json\n\n{"id": 2, "verb": "nope"}\n'), out)
    answers = [protocol.decode(line) for line in out.getvalue().splitlines()]
    assert [a["id"] for a in answers] == [1, None, 2]
    assert answers[0]["ok"] and answers[1]["error"]["kind"] == "invalid" and answers[2]["error"]["kind"] == "unsupported"


def test_linux_keys_travel_as_portable_knobs():
    assert knobs.knob_of_sysctl("net.ipv4.ip_forward") == ("ipv4.forwarding", None)
    assert knobs.knob_of_sysctl("net.ipv4.neigh.eth1.retrans_time_ms") == ("arp.retrans_time_ms", "eth1")
    assert knobs.knob_of_sysctl("net.ipv4.conf.all.rp_filter") == ("ipv4.rp_filter", "all")
    assert knobs.knob_of_sysctl("net.ipv4.tcp_mtu_probing") is None
    for name in knobs.KNOBS:
        key = knobs.sysctl_of(name, "eth0")
        assert knobs.knob_of_sysctl(key)[0] == name, "every knob maps back from its key"


def test_socket_options_and_flags_travel_by_name():
    level = protocol.level_name(socket.SOL_SOCKET)
    name = protocol.option_name(socket.SOL_SOCKET, socket.SO_RCVBUF)
    assert (level, name) == ("SOL_SOCKET", "SO_RCVBUF")
    assert protocol.option_number(level, name) == socket.SO_RCVBUF
    assert protocol.option_number("SOL_IP", "IP_MTU") == 14 and protocol.option_number("IPPROTO_TCP", "TCP_NODELAY") == 1
    assert protocol.flag_number(protocol.flag_names(socket.MSG_OOB | socket.MSG_PEEK)) == socket.MSG_OOB | socket.MSG_PEEK
    with pytest.raises(protocol.AgentError, match="not offered"):
        protocol.option_number("SOL_SOCKET", "SO_NOPE")


@pytest.fixture
def channel():
    """The suite's stream channel and an agent serving the other end of a socket pair."""
    ours, theirs = socket.socketpair()
    reader, writer = theirs.makefile("rb"), theirs.makefile("wb")
    server = threading.Thread(target=serve, args=(reader, writer), daemon=True)
    server.start()
    ch = StreamChannel(ours.fileno(), ours.fileno(), "the test agent", owned=(ours,))
    ch.start()
    yield ch
    ch.close()
    theirs.close()
    server.join(timeout=5)


def test_the_stream_channel_maps_answers_to_what_a_case_sees(channel):
    assert channel.hello["agent"].startswith("conformance-agent")
    with pytest.raises(Unsupported, match="not applicable: the SUT does not offer this"):
        channel.call("knob_get", name="ipv9.warp")
    with pytest.raises(AgentFailure, match="no socket 42"):
        channel.call("recv", handle=42, timeout=0)


def test_applications_through_the_channel_on_loopback(channel):
    from conformance.app import SutApps

    apps = SutApps(channel, "127.0.0.1")
    a = apps.udp_at("127.0.0.1", 0)
    b = apps.udp_at("127.0.0.1", 0, connect=a.getsockname())
    assert b.send(b"over the seam") == 13
    assert a.recv(timeout=2) == b"over the seam"
    with pytest.raises(TimeoutError):
        a.recv(timeout=0.05)
    listener = apps.listen_at("127.0.0.1", 0)
    client = apps.connect("127.0.0.1", listener.getsockname()[1])
    server = listener.accept(timeout=2)
    client.send(b"x" * 10)
    assert server.read(10, timeout=2) == b"x" * 10
    assert client.tcp_info().state == "ESTABLISHED"
    assert server.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_STREAM
    client.close()
    assert server.recv(timeout=2) == b"", "a graceful close ends the stream"
    apps.close_all()
    with pytest.raises(AgentFailure, match="no socket"):
        server.recv(timeout=0)
