from __future__ import annotations

import pytest
from PIL import Image

from vsrcore.samples import get_sample, list_samples, sample_path


def test_every_sample_is_available() -> None:
    assert [s.name for s in list_samples() if not s.available()] == []
    assert len(list_samples("video")) >= 4 and len(list_samples("image")) >= 8


@pytest.mark.parametrize("sample", list_samples("image"), ids=lambda s: s.name)
def test_photo_sizes_match_the_table(sample) -> None:
    with Image.open(sample.path()) as im:
        assert im.size == (dict(sample.expected)["width"], dict(sample.expected)["height"])


def test_unknown_sample_suggests() -> None:
    with pytest.raises(KeyError, match="did you mean 'bikes'"):
        get_sample("bikse")


def test_bundled_files_have_provenance() -> None:
    text = (sample_path("city").parent / "PROVENANCE.md").read_text()
    for s in list_samples():
        if s.package == "bundled":
            assert f"`{s.relpath}`" in text
