"""SUT files: a good one describes links by role, its start and its agent; every mistake names
the file and line."""

import pytest

from conformance import sut_file
from conformance.sut import SutError

GOOD = '''description = "a router in a VM"
kind = "tap"
start = "{python} {here}/vm --tap {tap:lan} --tap {tap:far} --agent {agent_socket}"
ready = "up"
start_timeout = 60
agent = "unix:{agent_socket}"
configure = true

[links.lan]
tap = "t0"
sut_ifname = "eth0"
sut_ip = "198.18.0.1"
tester_ip = "198.18.0.2"
gateway = "198.18.0.254"

[links.near]
tap = "t0"
sut_ip = "198.18.1.1"
tester_ip = "198.18.1.2"

[links.far]
tap = "t1"
sut_ifname = "eth1"
sut_ip = "198.18.2.1"
tester_ip = "198.18.2.2"
'''


def write(tmp_path, text):
    path = tmp_path / "dut.toml"
    path.write_text(text)
    return path


def test_a_good_file_describes_a_router_with_an_agent(tmp_path):
    t = sut_file.load(write(tmp_path, GOOD))
    assert (t.kind, t.configure, t.start_timeout, t.ready) == ("tap", True, 60.0, "up")
    assert [link.role for link in t.links] == ["lan", "near", "far"]
    assert t.link("far").sut_ifname == "eth1" and t.lan.gateway == "198.18.0.254"
    assert {"segment", "second_segment", "control", "sockets", "tcp_listener"} <= t.capabilities
    command = sut_file.expand(t.command, {"python": "/py", "here": "/h", "agent_socket": "/s"}, t.links)
    assert command == "/py /h/vm --tap t0 --tap t1 --agent /s"


def test_an_agent_may_offer_less(tmp_path):
    t = sut_file.load(write(tmp_path, GOOD.replace('configure = true', 'capabilities = ["sockets"]')))
    assert "sockets" in t.capabilities and "control" not in t.capabilities


@pytest.mark.parametrize(("old", "new", "message"), [
    ('kind = "tap"', 'kind = "vm"', 'line 2: kind must be "tap" or "iface"'),
    ('ready = "up"', 'ready = "up"\ncolour = "red"', "line 5: unknown key 'colour'"),
    ('[links.near]', '[links.middle]', "unknown role 'middle'"),
    ('sut_ip = "198.18.2.1"', 'sut_ip = "10.0.0.1"', "sut_ip 10.0.0.1 is outside 198.18.0.0/15"),
    ('tester_ip = "198.18.0.2"', 'tester_ip = "198.18.9.2"', "tester_ip 198.18.9.2 is not on the link's subnet"),
    ('agent = "unix:{agent_socket}"', 'agent = "ftp:x"', "agent must be unix:PATH, tcp:HOST:PORT or cmd:COMMAND"),
    ('{tap:far}', '{tap:dmz}', "{tap:dmz} names a role without a link"),
    ('{here}', '{home}', "unknown placeholder {home}"),
    ('start_timeout = 60', 'start_timeout = -1', "start_timeout is a number of seconds above 0"),
    ('prefixlen', 'prefixlen', ""),
])
def test_mistakes_name_the_file_and_line(tmp_path, old, new, message):
    text = GOOD.replace(old, new)
    if not message:
        text = GOOD.replace('[links.far]\n', '[links.far]\nprefixlen = 40\n')
        message = "prefixlen must be 8 to 30"
    with pytest.raises(SutError, match=message.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")):
        sut_file.load(write(tmp_path, text))


def test_a_router_needs_both_sides_and_configuring_needs_an_agent(tmp_path):
    no_far = GOOD[:GOOD.index("[links.far]")].replace("{tap:far}", "{tap:lan}")
    with pytest.raises(SutError, match=r"needs both \[links.near\] and \[links.far\]"):
        sut_file.load(write(tmp_path, no_far))
    with pytest.raises(SutError, match="configure = true needs an agent"):
        sut_file.load(write(tmp_path, GOOD.replace('agent = "unix:{agent_socket}"\n', "")))
    with pytest.raises(SutError, match="there is no start command"):
        sut_file.load(write(tmp_path, GOOD.replace('start = "', 'ignored = "').replace('ignored', '#')))


def test_unreadable_files_are_one_sentence(tmp_path):
    with pytest.raises(SutError, match="cannot read the SUT file"):
        sut_file.load(tmp_path / "none.toml")
    with pytest.raises(SutError, match="is a directory"):
        sut_file.load(tmp_path)
    (tmp_path / "b.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SutError, match="not a text file"):
        sut_file.load(tmp_path / "b.toml")


@pytest.mark.parametrize("example", ["linux-vm", "pytcp", "lwip", "slirp"])
def test_the_shipped_examples_load(example):
    from pathlib import Path

    t = sut_file.load(Path(__file__).parents[2] / "examples" / f"{example}.toml")
    assert t.lan.sut_ip.startswith("198.18.")
