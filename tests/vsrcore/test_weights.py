from __future__ import annotations

from pathlib import Path

import pytest

from vsrcore.errors import MissingWeights
from vsrcore.weights import resolve_weights


def test_missing_weights_name_files_and_source(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("FLASHVSR_WEIGHTS", raising=False)
    with pytest.raises(MissingWeights) as info:
        resolve_weights("musiq-koniq", tmp_path)
    assert "musiq_koniq_ckpt-e95806b9.pth" in str(info.value) and "IQA-PyTorch-Weights" in str(info.value)


def test_found_flat_or_in_subfolder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "DOVER.pth").write_bytes(b"x")
    assert resolve_weights("dover", tmp_path)["DOVER.pth"] == tmp_path / "DOVER.pth"
    # FlashVSR v1 and v1.1 share file names, so they are looked up only in their own sub-folder.
    from vsrcore.weights import WEIGHTS

    for f in WEIGHTS["flashvsr-v1"].files:
        (tmp_path / f).write_bytes(b"x")
    with pytest.raises(MissingWeights, match="flashvsr-v1/LQ_proj_in.ckpt"):
        resolve_weights("flashvsr-v1", tmp_path)
    monkeypatch.setenv("FLASHVSR_WEIGHTS", str(tmp_path / "env"))
    (tmp_path / "env" / "flashvsr-v1").mkdir(parents=True)
    for f in WEIGHTS["flashvsr-v1"].files:
        (tmp_path / "env" / "flashvsr-v1" / f).write_bytes(b"x")
    assert len(resolve_weights("flashvsr-v1")) == 5
