"""The SUT's side of the pytest plugin: its options, the profile check before any case runs, and
the life of an external SUT during a run (attach, check after every case, detach).

Bad options end the run before any case with one sentence and exit status 2.

PYTEST_DONT_REWRITE: a plugin module the CLI may import before pytest loads it.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from conformance import profile as profiles
from conformance import sut_file
from conformance.catalog import info_of
from conformance.external import Attachment
from conformance.record import ATTACHMENT_KEY, SUT_KEY
from conformance.sut import ExternalSut, Link, NetnsSut, SutError, SutTarget, external_target
from conformance.sut_flags import OPTIONS, PROFILE_DIR  # the options as data; the CLI reads them without this module
from conformance.verdict import Inconclusive


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance-sut", "system under test")
    for flags, kwargs in OPTIONS:
        group.addoption(*flags, **kwargs)


def capability_target(opt: Any) -> SutTarget:
    """A target good enough to say which cases apply (for `list` and `show`): the kind, the
    links, the agent and the ports matter, addresses do not."""
    if getattr(opt, "sut_file", None):
        return sut_file.load(Path(opt.sut_file))
    if opt.sut == "netns":
        return NetnsSut()
    return ExternalSut(opt.sut, (Link("lan", "-", "198.18.0.1", "198.18.0.2"),), tcp_port=opt.sut_tcp_port,
                       udp_port=opt.sut_udp_port)


def resolve_profile(name: str) -> Path:
    path = Path(name)
    if not path.exists() and (PROFILE_DIR / f"{name}.toml").exists():
        return PROFILE_DIR / f"{name}.toml"
    return path


def target_from_options(opt: Any) -> SutTarget:
    """The SUT the options describe. SutError/ProfileError: a sentence for the user."""
    kind = opt.sut
    if opt.sut_file:
        given = [flag for flag, value in (("--sut", kind != "netns"), ("--sut-command", opt.sut_command),
                                          ("--sut-ip", opt.sut_ip), ("--iface", opt.iface), ("--tester-ip", opt.tester_ip),
                                          ("--sut-profile", opt.sut_profile), ("--sut-sysctl", opt.sut_sysctl)) if value]
        if given:
            raise SutError(f"{given[0]} and --sut-file both describe the SUT; give the SUT in one place")
        target = sut_file.load(Path(opt.sut_file))
        if opt.allow_addresses_outside_test_ranges or opt.allow_host_traffic_iface:
            raise SutError("with --sut-file, say allow_addresses_outside_test_ranges / allow_host_traffic_iface in the file")
        return target
    if opt.sut_restart and kind == "netns":
        raise SutError("--sut-restart is for an external SUT (--sut tap, --sut iface or --sut-file)")
    if kind == "netns":
        for flag, value in (("--sut-command", opt.sut_command), ("--sut-ip", opt.sut_ip), ("--iface", opt.iface)):
            if value:
                raise SutError(f"{flag} is for --sut tap or --sut iface, not the netns SUT")
        parts = []
        if opt.sut_profile:
            parts.append(profiles.load(resolve_profile(opt.sut_profile)))
        if opt.sut_sysctl:
            parts.append(profiles.from_assignments(opt.sut_sysctl))
        return NetnsSut(profile=profiles.merge(*parts) if parts else None)
    if opt.sut_profile or opt.sut_sysctl:
        raise SutError(f"--sut-profile and --sut-sysctl change a netns SUT; the suite does not reconfigure a {kind} SUT")
    return external_target(kind, iface=opt.iface, sut_ip=opt.sut_ip, tester_ip=opt.tester_ip, sut_mac=opt.sut_mac,
                           command=opt.sut_command, tcp_port=opt.sut_tcp_port, udp_port=opt.sut_udp_port,
                           allow_outside_ranges=opt.allow_addresses_outside_test_ranges,
                           allow_host_traffic_iface=opt.allow_host_traffic_iface)


def check_profile(target: NetnsSut) -> None:
    """Apply the profile to a throw-away SUT before any case, so a bad one fails at once."""
    if target.profile is None:
        return
    from conformance.netns import Namespace
    from conformance.topology import End, Node, Topology, Veth, build

    scratch = Namespace("profile-check")
    try:
        profiles.check_sysctls(target.profile, scratch)
    finally:
        scratch.close()
    # The commands run where a case's SUT would: a namespace with the suite's pinned defaults and
    # an eth0. (Not the lan fixture's module: importing it before pytest would stop its rewriting.)
    scratch_lan = Topology("profile-check", nodes=(Node("peer"), NetnsSut().node("sut")),
                           links=(Veth(End("peer", "peer0"), End("sut", "eth0")),))
    with build(scratch_lan) as net:
        profiles.run_commands(target.profile, net.ns["sut"])


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        target = target_from_options(config.option)
    except (SutError, profiles.ProfileError) as exc:
        pytest.exit(f"conformance: {exc}", returncode=2)
    config.stash[SUT_KEY] = target
    if isinstance(target, NetnsSut) and not hasattr(config, "workerinput") and not config.option.collectonly:
        from conformance.netns import can_create_namespaces

        if not can_create_namespaces():  # without privilege the run stops anyway, with that reason
            try:
                check_profile(target)
            except profiles.ProfileError as exc:
                pytest.exit(f"conformance: {exc}", returncode=2)
    workers = getattr(config.option, "numprocesses", None)
    if isinstance(target, ExternalSut) and workers not in (None, 0, 1):
        pytest.exit(f"conformance: the {target.kind} SUT is a single stack that parallel workers would share; run it without -n",
                    returncode=2)


def prepare(config: pytest.Config, run_dir: Path | None) -> None:
    """Before the first case (controller): attach to an external SUT (start it, reach its
    agent, learn its MACs)."""
    target = config.stash[SUT_KEY]
    if isinstance(target, NetnsSut):
        return
    attachment = Attachment(target, run_dir, restart=config.getoption("sut_restart"), say=_sayer(config))
    config.stash[ATTACHMENT_KEY] = attachment
    try:
        attachment.open()
    except (SutError, profiles.ProfileError) as exc:
        pytest.exit(f"conformance: {exc}", returncode=2)


def _sayer(config: pytest.Config) -> Any:
    """Announce at once on the console, on a line of its own, in red: past pytest's capture of
    the running case's output (a death is noticed in the case's teardown)."""
    import contextlib
    import sys

    def say(text: str) -> None:
        tr = config.pluginmanager.get_plugin("terminalreporter")
        capman = config.pluginmanager.get_plugin("capturemanager")
        uncaptured = capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
        with uncaptured:
            if tr is None:
                print(text, file=sys.stderr)
                return
            tr.ensure_newline()
            tr.write_line(text, red=True, bold=True)

    return say


def pytest_runtest_setup(item: pytest.Item) -> None:
    attachment = item.config.stash.get(ATTACHMENT_KEY, None)
    if attachment is not None and attachment.dead and info_of(item) is not None:
        raise Inconclusive(f"the SUT is gone: {attachment.dead}")


SUT_DIED_KEY = pytest.StashKey[str]()  # on the item: the SUT died while it ran


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    result = yield
    attachment = item.config.stash.get(ATTACHMENT_KEY, None)
    if attachment is not None and info_of(item) is not None and not attachment.dead:
        attachment.check()
        if attachment.died_in_case:
            item.stash[SUT_DIED_KEY] = attachment.died_in_case
    return result


def pytest_unconfigure(config: pytest.Config) -> None:
    attachment = config.stash.get(ATTACHMENT_KEY, None)
    if attachment is not None:
        attachment.close()


def describe(config: pytest.Config) -> dict[str, Any]:
    """What results.json says of the SUT beyond its kind."""
    target = config.stash.get(SUT_KEY, None) or NetnsSut()
    out: dict[str, Any] = {"profile": None}
    if isinstance(target, NetnsSut) and target.profile is not None:
        out["profile"] = target.profile.as_dict()
    attachment = config.stash.get(ATTACHMENT_KEY, None)
    if attachment is not None:
        out["attachment"] = attachment.describe()
    return out
