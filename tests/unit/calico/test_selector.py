from __future__ import annotations

import pytest

from bgplab.calico.selector import SelectorError, parse_selector

LABELS = {"rack": "rack-1", "zone": "a", "route-reflector": "true", "kubernetes.io/os": "linux"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rack == 'rack-1'", True),
        ('rack == "rack-2"', False),
        ("rack != 'rack-2'", True),
        ("missing != 'x'", True),
        ("has(rack)", True),
        ("has(missing)", False),
        ("!has(missing)", True),
        ("! has(rack)", False),
        ("rack == 'rack-1' && zone == 'b'", False),
        ("rack == 'rack-2' || zone == 'a'", True),
        ("rack == 'rack-2' || zone == 'a' && has(missing)", False),
        ("(rack == 'rack-2' || zone == 'a') && has(route-reflector)", True),
        ("rack in {'rack-1', 'rack-3'}", True),
        ("rack in {}", False),
        ("rack not in {'rack-1'}", False),
        ("missing not in {'x'}", True),
        ("all()", True),
        ("", True),
        ("kubernetes.io/os == 'linux'", True),
        ("rack starts with 'rack'", True),
        ("rack ends with '-2'", False),
        ("rack contains 'ck-'", True),
    ],
)
def test_selector_semantics(text: str, expected: bool) -> None:
    assert parse_selector(text)(LABELS) is expected


@pytest.mark.parametrize(
    "text",
    [
        "rack ==",
        "rack = 'x'",
        "rack == rack-1",
        "has(rack",
        "rack in {'a',}",
        "&& rack == 'a'",
        "rack == 'a' extra",
        "(rack == 'a'",
        "rack == 'a",
        "all(x)",
    ],
)
def test_bad_selectors_raise_a_one_line_error(text: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_selector(text)
    assert "\n" not in str(info.value)
    assert repr(text) in str(info.value)
