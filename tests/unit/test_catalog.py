"""Case metadata is validated where it is declared, and selection filters it."""

import pytest

from conformance.catalog import MAY, MUST, SHOULD, CaseInfo, CatalogError, Filter, case, check_unique, info_of


def declare(case_id="ARP-X", doc="A requirement in one sentence.\n\n    More detail.", **kw):
    args = {"rfc": 826, "section": "Packet Reception", "level": MUST, "layer": 2} | kw

    def test_something_is_answered(lan):
        pass

    test_something_is_answered.__doc__ = doc
    return case(case_id, **args)(test_something_is_answered)


def meta(fn):
    return fn.pytestmark[0].kwargs["info"]


def test_decorator_attaches_complete_metadata():
    info = meta(declare(rfc=1122, section="3.2.2.6", level="should", layer=3, tags=["echo"]))
    assert (info.id, info.rfc, info.section, info.level, info.layer) == ("ARP-X", 1122, "3.2.2.6", SHOULD, 3)
    assert info.title == "Something is answered"
    assert info.requirement == "A requirement in one sentence."
    assert info.doc == "A requirement in one sentence.\n\nMore detail."
    assert info.protocol == "arp"
    assert info.rfc_url == "https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2.6"


def test_named_sections_link_to_the_whole_rfc():
    assert meta(declare()).rfc_url == "https://www.rfc-editor.org/rfc/rfc826"


@pytest.mark.parametrize(("kw", "message"), [
    ({"case_id": "arp-lower"}, "upper case"),
    ({"case_id": "FOO-X"}, "start with one of"),
    ({"level": "OPTIONAL"}, "not MUST, SHOULD or MAY"),
    ({"rfc": 0}, "RFC number"),
    ({"section": "  "}, "section is empty"),
    ({"layer": 7}, "layer must be"),
    ({"doc": ""}, "docstring"),
])
def test_bad_metadata_is_refused_with_the_reason(kw, message):
    with pytest.raises(CatalogError, match=message):
        declare(**kw)


def test_as_dict_round_trips():
    info = meta(declare(level=MAY, needs=["sysctl"], also=[1122]))
    assert CaseInfo.from_dict(info.as_dict()) == info


def test_one_id_cannot_belong_to_two_functions():
    a, b = meta(declare()), meta(declare())
    check_unique([("f@x", a), ("f@x", a)])
    with pytest.raises(CatalogError, match="ARP-X is used by both"):
        check_unique([("f@x", a), ("g@y", b)])


def test_filter_criteria_all_hold():
    info = meta(declare("ICMP-ECHO-DATA", rfc=1122, section="3.2.2.6", layer=3, tags=["echo"]))
    assert Filter()(info)
    assert Filter(protocol=("icmp",), rfc=(1122,), level=(MUST,), text="requirement", ids=("ICMP-*",), tags=("echo",))(info)
    assert Filter(ids=("icmp-echo-data",))(info)
    assert not Filter(protocol=("arp",))(info)
    assert not Filter(rfc=(792,))(info)
    assert not Filter(level=(SHOULD,))(info)
    assert not Filter(text="nothing like this")(info)
    assert not Filter(ids=("ARP-*",))(info)
    assert Filter(text="rfc1122")(info) and Filter(text="RFC 1122")(info)


def test_unknown_protocol_is_a_usage_error():
    with pytest.raises(CatalogError, match="unknown protocol 'ipx'"):
        Filter(protocol=("ipx",)).validate()


def test_items_without_the_marker_have_no_info():
    class Item:
        def get_closest_marker(self, name):
            return None

    assert info_of(Item()) is None
