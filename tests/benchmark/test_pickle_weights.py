"""pyiqa-loaded metric weights (MUSIQ, DISTS, LPIPS backbones) pass the pinned-sha256 gate before pyiqa or
torchvision unpickles them: a crafted pickle under the expected name is refused with one line and never runs; a
file with the pinned hash loads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.vsrcore.test_pinned_weights import evil_weights
from vsrcore.hashing import file_sha256
from vsrcore.pinned_weights import PINNED, WeightsHashMismatch


MUSIQ_FILE = "musiq_koniq_ckpt-e95806b9.pth"


def test_musiq_metric_refuses_a_crafted_pickle(tmp_path: Path) -> None:
    from benchmark.metrics.pyiqa_metrics import PyiqaMetric

    marker = tmp_path / "marker"
    path = evil_weights(tmp_path / "w" / MUSIQ_FILE, marker)
    with pytest.raises(WeightsHashMismatch) as e:
        PyiqaMetric(pyiqa_name="musiq", weights_dir=str(tmp_path / "w"))
    assert str(e.value) == (
        f"{path}: sha256 mismatch: expected {PINNED[MUSIQ_FILE].sha256}, got {file_sha256(path)}; "
        "refused, nothing was loaded from it"
    )
    assert not marker.exists()


def test_dists_and_lpips_refuse_crafted_pickles(tmp_path: Path) -> None:
    from benchmark.metrics.perceptual import DISTS, LPIPS

    marker = tmp_path / "marker"
    for name in ("DISTS_weights-f5e65c96.pth", "vgg16-397923af.pth", "alexnet-owt-7be5be79.pth"):
        evil_weights(tmp_path / "w" / name, marker)
    with pytest.raises(WeightsHashMismatch, match=r"DISTS_weights-f5e65c96\.pth: sha256 mismatch: expected f5e65c96"):
        DISTS(weights_dir=str(tmp_path / "w"))
    with pytest.raises(WeightsHashMismatch, match=r"alexnet-owt-7be5be79\.pth: sha256 prefix mismatch"):
        LPIPS(net="alex", weights_dir=str(tmp_path / "w"))
    assert not marker.exists()


def test_musiq_with_the_pinned_hash_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyiqa.archs.musiq_arch import MUSIQ

    from benchmark.metrics.pyiqa_metrics import PyiqaMetric

    torch.manual_seed(0)
    state = MUSIQ(pretrained=False).state_dict()  # a real MUSIQ state dict (random values), saved as pyiqa's file
    path = tmp_path / MUSIQ_FILE
    torch.save(state, path)
    monkeypatch.setitem(PINNED, MUSIQ_FILE, replace(PINNED[MUSIQ_FILE], sha256=file_sha256(path), size=None))
    metric = PyiqaMetric(pyiqa_name="musiq", weights_dir=str(tmp_path))
    loaded = metric.net.net.state_dict()
    assert set(loaded) == set(state)
    torch.testing.assert_close(loaded["head.weight"], state["head.weight"])
    score = metric(torch.rand(1, 3, 64, 64))
    assert torch.isfinite(torch.tensor(score))
