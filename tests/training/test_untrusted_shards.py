"""Training data loading from a malicious shard: the hostile member is refused with one line, the good one loads,
and nothing is written anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hostile_inputs import CASES, OVERSIZE_CAP, bomb_png, malicious_shard, snapshot
from training.data import SampleSpec, VSRTrainDataset, list_media
from vsrcore.limits import PixelCapExceeded
from vsrcore.untrusted import MAX_MEMBER_BYTES_ENV, UnsafeMember


@pytest.mark.parametrize("case", CASES)
def test_training_data_refuses_a_hostile_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    monkeypatch.setenv(MAX_MEMBER_BYTES_ENV, str(OVERSIZE_CAP))
    escape = tmp_path / "escaped.png"
    tar_path, member = malicious_shard(tmp_path / "shard", case, escape)
    before = snapshot(tmp_path)
    items = list_media(tmp_path / "shard", split=None)
    assert sorted(it.id for it in items) == ["evil", "good"]
    ds = VSRTrainDataset(items, spec=SampleSpec(crop=16), videos=0, images=1, seed=0)
    outcomes = set()
    for i in range(12):  # each sample draws one of the two photos
        try:
            sample = ds[i]
        except UnsafeMember as e:
            assert "\n" not in str(e) and str(e).startswith(f"{tar_path}: member {member!r} refused: ")
            outcomes.add("refused")
        else:
            assert sample["params"]["item"] == "good" and tuple(sample["frames"].shape) == (1, 3, 16, 16)
            outcomes.add("loaded")
    assert outcomes == {"refused", "loaded"}
    assert not os.path.lexists(escape) and snapshot(tmp_path) == before


def test_training_data_applies_the_pixel_cap_before_decoding(tmp_path: Path) -> None:
    from training.data import MediaItem

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png(100_000, 100_000))
    with pytest.raises(PixelCapExceeded, match=r"bomb\.png: .*above the pixel cap"):  # a folder: refused when listed
        list_media(tmp_path, split=None)
    item = MediaItem("bomb", "image", str(bomb), None, 1, "all")  # and when decoded (a shard's member, say)
    ds = VSRTrainDataset([item], spec=SampleSpec(crop=16), videos=0, images=1)
    with pytest.raises(PixelCapExceeded, match="above the pixel cap"):
        ds[0]
