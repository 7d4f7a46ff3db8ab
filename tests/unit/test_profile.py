"""SUT profiles: the shipped ones load; every mistake names its file and line."""

import pytest

from conformance import profile
from conformance.sut_options import PROFILE_DIR


@pytest.mark.parametrize("name", ["kernel-defaults", "hardened-host", "router"])
def test_shipped_profiles_load(name):
    p = profile.load(PROFILE_DIR / f"{name}.toml")
    assert p.description
    assert all(key.startswith("net.") for key in p.sysctls)


def test_hardened_and_router_profiles_say_what_they_are():
    hardened = profile.load(PROFILE_DIR / "hardened-host.toml")
    assert hardened.sysctls["net.ipv4.conf.all.rp_filter"] == "1"
    assert hardened.sysctls["net.ipv4.conf.all.accept_redirects"] == "0"
    assert hardened.sysctls["net.ipv4.tcp_syncookies"] == "1"
    assert profile.load(PROFILE_DIR / "router.toml").sysctls["net.ipv4.ip_forward"] == "1"


def write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "message"), [
    ('[sysctls\n', "p.toml: Expected ']'"),
    ('description = "x"\ncolour = "red"\n', "p.toml, line 2: unknown key 'colour'"),
    ('[sysctls]\nnet.ipv4.ip_forward = 1\n', "sysctl keys are written whole and quoted"),
    ('[sysctls]\n"net.ipv4.ip_forward" = true\n', "line 2: the value of net.ipv4.ip_forward must be a number or a string"),
    ('commands = "nft -f x"\n', "line 1: 'commands' must be a list of strings"),
])
def test_mistakes_name_file_and_line(tmp_path, text, message):
    with pytest.raises(profile.ProfileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        profile.load(write(tmp_path, text))


def test_commands_and_sysctls_remember_their_lines(tmp_path):
    p = profile.load(write(tmp_path, 'description = "d"\n[sysctls]\n"net.ipv4.ip_forward" = 1\n'))
    assert p.where("net.ipv4.ip_forward").endswith("p.toml, line 3")
    q = profile.load(write(tmp_path, 'commands = [\n  "true",\n  "exit 3",\n]\n'))
    assert q.commands == ("true", "exit 3")
    assert q.where("exit 3").endswith("line 3")


def test_command_line_sysctls_and_merging():
    cli = profile.from_assignments(["net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter = 2"])
    assert cli.sysctls == {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "2"}
    with pytest.raises(profile.ProfileError, match="write it as key=value"):
        profile.from_assignments(["net.ipv4.ip_forward"])
    base = profile.Profile("router", "r", {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "1"}, ("true",))
    merged = profile.merge(base, cli)
    assert merged.sysctls["net.ipv4.conf.all.rp_filter"] == "2", "later profiles win"
    assert merged.commands == ("true",)
    assert merged.as_dict()["name"] == "router + command line"
