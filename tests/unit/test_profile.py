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


@pytest.mark.parametrize("key", ["kernel.printk_ratelimit", "vm.swappiness", "fs.file-max", "net.ipv4"])
def test_keys_outside_the_network_namespace_are_refused(tmp_path, key):
    """Only net.* sysctls are private to the SUT's namespace; anything else changes the host."""
    with pytest.raises(profile.ProfileError, match="not a network-namespace sysctl"):
        profile.from_assignments([f"{key}=6"])
    with pytest.raises(profile.ProfileError, match=r"p.toml, line 2: .*not a network-namespace sysctl"):
        profile.load(write(tmp_path, f'[sysctls]\n"{key}" = 6\n'))


def test_a_key_with_path_characters_is_refused():
    with pytest.raises(profile.ProfileError, match="is not a sysctl key"):
        profile.from_assignments(["net.ipv4/../../kernel.x=1"])


def test_commands_written_after_the_sysctls_header_are_explained(tmp_path):
    text = 'description = "d"\n\n[sysctls]\n"net.ipv4.ip_forward" = 1\n\ncommands = ["true"]\n'
    with pytest.raises(profile.ProfileError, match=r"line 6: 'commands' is inside the \[sysctls\] table; write it before"):
        profile.load(write(tmp_path, text))


def test_binary_file_and_directory_are_one_sentence(tmp_path):
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(profile.ProfileError, match="not a text file"):
        profile.load(binary)
    with pytest.raises(profile.ProfileError, match="is a directory"):
        profile.load(tmp_path)


def test_the_documented_example_profile_loads(tmp_path):
    """The profile shown in profile.py's docstring and docs/sut.md is accepted as written."""
    import re
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "sut.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", docs, re.S)
    assert blocks, "docs/sut.md shows a profile"
    for block in blocks:
        p = profile.load(write(tmp_path, block))
        assert p.sysctls
    example = re.search(r'\n\n(    description = .*?)\n\nTop-level', profile.__doc__ or "", re.S)
    assert example
    loaded = profile.load(write(tmp_path, "\n".join(line[4:] for line in example.group(1).splitlines())))
    assert loaded.commands and "net.ipv4.conf.eth0.arp_ignore" in loaded.sysctls
