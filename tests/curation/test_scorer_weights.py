"""Curation's weight-backed scorers load through the pinned-sha256 gate: a crafted pickle is refused with one line
and never runs; the MUSIQ file with the pinned hash loads and scores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from curation.scorers import AestheticScorer, MusiqScorer
from tests.vsrcore.test_pinned_weights import evil_weights
from vsrcore.hashing import file_sha256
from vsrcore.pinned_weights import PINNED, WeightsHashMismatch
from vsrcore.weights import WeightsRefused


MUSIQ_FILE = "musiq_koniq_ckpt-e95806b9.pth"


def test_musiq_scorer_refuses_a_crafted_pickle(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = evil_weights(tmp_path / MUSIQ_FILE, marker)
    with pytest.raises(WeightsHashMismatch, match=f"expected {PINNED[MUSIQ_FILE].sha256}, got {file_sha256(path)}"):
        MusiqScorer(weights_dir=str(tmp_path), device="cpu").setup()
    assert not marker.exists()


def test_aesthetic_head_is_read_as_tensors_only(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil_weights(tmp_path / "sa_0_4_vit_l_14_linear.pth", marker)
    (tmp_path / "open_clip_vit_l_14_openai.bin").write_bytes(b"never read: the head is refused first")
    with pytest.raises(WeightsRefused, match="refused: holds pickled objects other than tensors"):
        AestheticScorer(weights_dir=str(tmp_path), device="cpu").setup()
    assert not marker.exists()


def test_musiq_scorer_with_the_pinned_hash_loads_and_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyiqa.archs.musiq_arch import MUSIQ

    torch.manual_seed(0)
    torch.save(MUSIQ(pretrained=False).state_dict(), tmp_path / MUSIQ_FILE)
    pin = replace(PINNED[MUSIQ_FILE], sha256=file_sha256(tmp_path / MUSIQ_FILE), size=None)
    monkeypatch.setitem(PINNED, MUSIQ_FILE, pin)
    scorer = MusiqScorer(weights_dir=str(tmp_path), device="cpu")
    scorer.setup()
    frames = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    assert np.isfinite(scorer.score(frames))
