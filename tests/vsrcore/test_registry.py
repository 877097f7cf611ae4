from __future__ import annotations

from fractions import Fraction

import pytest

from vsrcore.errors import MissingDependency
from vsrcore.registry import Registry


@pytest.fixture
def reg() -> Registry:
    r = Registry("metric")
    r.add("psnr", "fractions:Fraction", kwargs={"numerator": 3}, higher_is_better=True, needs_reference=True)
    r.add(
        "musiq", "fractions:Fraction", requires=("no_such_package_xyz",), higher_is_better=True, needs_reference=False
    )
    r.add("niqe", "fractions:Fraction", higher_is_better=False, needs_reference=False)
    return r


def test_names_filter_on_metadata(reg: Registry) -> None:
    assert reg.names() == ["musiq", "niqe", "psnr"]
    assert reg.names(needs_reference=False) == ["musiq", "niqe"]
    assert reg.names("n*") == ["niqe"]
    assert reg.names(higher_is_better=True, needs_reference=True) == ["psnr"]


def test_build_merges_kwargs(reg: Registry) -> None:
    assert reg.build("psnr") == Fraction(3)
    assert reg.build("psnr", numerator=5, denominator=2) == Fraction(5, 2)


def test_unknown_name_suggests(reg: Registry) -> None:
    with pytest.raises(KeyError, match="did you mean 'musiq'"):
        reg.spec("msuiq")
    with pytest.raises(KeyError, match="known: musiq, niqe, psnr"):
        reg.spec("zzzz")


def test_missing_requirement_is_named_before_import(reg: Registry) -> None:
    with pytest.raises(MissingDependency, match="no_such_package_xyz"):
        reg.build("musiq")


def test_duplicate_and_malformed(reg: Registry) -> None:
    with pytest.raises(ValueError, match="already registered"):
        reg.add("psnr", "fractions:Fraction")
    reg.add("bad", "fractions.Fraction")
    with pytest.raises(ValueError, match="pkg.module:Attr"):
        reg.build("bad")


def test_suggest_is_case_insensitive_and_knows_prefixes() -> None:
    from vsrcore.registry import suggest

    known = ["flashvsr-v1", "flashvsr-v1.1", "flashvsr-tiny", "bicubic"]
    assert suggest("bicubc", known) == ["bicubic"]
    assert suggest("BICUBIC", known) == ["bicubic"]
    assert set(suggest("flashvsr", known)) == {"flashvsr-v1", "flashvsr-v1.1", "flashvsr-tiny"}
    assert suggest("zzzz", known) == []


def test_check_known_is_one_user_facing_line() -> None:
    from vsrcore.errors import UnknownName, UserFacingError
    from vsrcore.registry import check_known

    check_known("metric", ["psnr"], ["psnr", "musiq"])
    with pytest.raises(UnknownName) as e:
        check_known("metric", ["psnr", "msuiq"], ["psnr", "musiq"])
    assert isinstance(e.value, UserFacingError) and isinstance(e.value, KeyError)
    assert str(e.value) == "unknown metric 'msuiq'; did you mean 'musiq'?"
    assert (e.value.name, e.value.suggestions) == ("msuiq", ["musiq"])
