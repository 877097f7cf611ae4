"""Training data: determinism, layout, degradation, and segment-masked packing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from training.data import Degrader, SampleSpec, VSRTrainDataset, list_media, make_loader


def _dataset(media_dir: Path, seed: int = 0) -> VSRTrainDataset:
    spec = SampleSpec(clip_frames=9, crop=32)
    return VSRTrainDataset(list_media(media_dir, split=None), spec=spec, videos=1, images=2, seed=seed)


def test_list_media_folder(media_dir: Path) -> None:
    items = list_media(media_dir, split=None)
    assert [(it.kind, it.id, it.frames) for it in items] == [
        ("clip", "clip", 24),
        ("image", "a", 1),
        ("image", "b", 1),
    ]


def test_dataset_is_deterministic_and_laid_out(media_dir: Path) -> None:
    a, b, c = _dataset(media_dir), _dataset(media_dir), _dataset(media_dir, seed=1)
    for i in range(6):
        x, y = a[i], b[i]
        assert torch.equal(x["frames"], y["frames"]) and x["params"] == y["params"]
        assert x["kind"] == ("clip" if i % 3 == 0 else "image")
        assert tuple(x["frames"].shape) == ((9 if i % 3 == 0 else 1), 3, 32, 32)
    assert any(a[i]["params"] != c[i]["params"] for i in range(6))


def test_loader_batches_do_not_depend_on_workers_or_start(media_dir: Path) -> None:
    ds = _dataset(media_dir)
    deg = Degrader("bicubic", scale=4, seed=3)
    serial = list(make_loader(ds, deg, steps=3, workers=0))
    parallel = list(make_loader(ds, deg, steps=3, workers=2))
    resumed = list(make_loader(ds, deg, start_step=2, steps=3, workers=0))
    for s, p in zip(serial, parallel, strict=True):
        assert torch.equal(s.video_lq, p.video_lq) and torch.equal(s.image_gt, p.image_gt) and s.ids == p.ids
    assert torch.equal(serial[2].video_gt, resumed[0].video_gt)
    b = serial[0]
    assert tuple(b.video_gt.shape) == (1, 9, 3, 32, 32) and tuple(b.video_lq.shape) == (1, 9, 3, 8, 8)
    assert tuple(b.image_gt.shape) == (2, 1, 3, 32, 32) and tuple(b.image_lq.shape) == (2, 1, 3, 8, 8)
    assert b.records[0]["preset"] == "bicubic" and "sample" in b.records[0]


def test_realbasicvsr_degradation_runs(media_dir: Path) -> None:
    # the RealBasicVSR chain (kernels up to 21 px after a down-resize) needs crops of 128 px
    ds = VSRTrainDataset(list_media(media_dir, split=None), spec=SampleSpec(5, 128), videos=1, images=1, seed=0)
    (b,) = list(make_loader(ds, Degrader("realbasicvsr", seed=0), steps=1))
    assert (
        tuple(b.video_lq.shape) == (1, 5, 3, 32, 32)
        and 0.0 <= float(b.video_lq.min()) <= float(b.video_lq.max()) <= 1.0
    )


def test_a_preset_list_draws_one_preset_per_sample_deterministically() -> None:
    clips = torch.rand(6, 1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    ids = [f"s{i}" for i in range(6)]
    deg = Degrader("bicubic,bd", scale=4, seed=1)
    lq, gt, rec = deg.degrade(clips, ids)
    chosen = [r["preset"] for r in rec]
    assert set(chosen) == {"bicubic", "bd"} and tuple(lq.shape) == (6, 1, 3, 8, 8)
    again, _, rec2 = deg.degrade(clips.flip(0), ids[::-1])
    assert [r["preset"] for r in rec2] == chosen[::-1] and torch.equal(again, lq.flip(0))
    for k, preset in enumerate(chosen):  # each sample equals a single-preset degradation of it
        alone, _, _ = Degrader(preset, scale=4, seed=1).degrade(clips[k : k + 1], [ids[k]])
        assert torch.allclose(alone[0], lq[k])


def test_rescale_draws_a_factor_and_resizes_that_window(media_dir: Path) -> None:
    from PIL import Image

    items = list_media(media_dir, split=None)
    ds = VSRTrainDataset(items, spec=SampleSpec(5, 32, flip=False, rescale=(0.5, 2.0)), videos=0, images=1, seed=0)
    factors = [ds[i]["params"]["rescale"] for i in range(16)]
    assert all(0.5 <= f <= 2.0 for f in factors) and min(factors) < 0.8 and max(factors) > 1.25
    assert all(tuple(ds[i]["frames"].shape) == (1, 3, 32, 32) for i in range(4))
    assert ds[3]["params"] == ds[3]["params"] and torch.equal(ds[3]["frames"], ds[3]["frames"])
    # a fixed factor 2: the sample is the 16 x 16 source window at the recorded box, upsampled (a soft source)
    soft = VSRTrainDataset(items, spec=SampleSpec(5, 32, flip=False, rescale=(2.0, 2.0)), videos=0, images=1)
    s = soft[0]
    top, left, _ = s["params"]["crop"]
    name = {"a": "a.png", "b": "b.png"}[s["params"]["item"]]
    src = torch.from_numpy(np.array(Image.open(media_dir / name))).permute(2, 0, 1)[None].float()
    window = src[..., top : top + 16, left : left + 16]
    want = torch.nn.functional.interpolate(window, size=(32, 32), mode="bicubic", antialias=True)
    assert torch.equal(s["frames"], want.round().clamp(0, 255).to(torch.uint8))
