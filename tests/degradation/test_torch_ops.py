"""The torch path against the numpy reference path, operator by operator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from degradation.pipeline import degrade, plan_clip
from degradation.torch_ops import apply_op, apply_ops_torch, degrade_batch
from vsrcore import testing


# Stated tolerances (max abs difference on [0, 1] frames, float32): deterministic operators agree to 1e-4
# (USM: OpenCV's Gaussian blur rounds its kernel differently, ~1e-4); the same noise realisation
# (noise="numpy") agrees to 1e-5.
TOL = {"unsharp_mask": 2e-4}
DEFAULT_TOL = 2e-5


def _to_t(a):
    if isinstance(a, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2)
    return [torch.from_numpy(np.ascontiguousarray(f)).permute(2, 0, 1)[None] for f in a]


def _to_np(t):
    if isinstance(t, torch.Tensor):
        return t.permute(0, 2, 3, 1).numpy()
    return [f[0].permute(1, 2, 0).numpy() for f in t]


@pytest.mark.parametrize(
    "preset,options",
    [("realbasicvsr", {}), ("realbasicvsr", {"drift": True}), ("realesrgan", {}), ("bicubic", {}), ("bd", {})],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_operator_matches_reference(preset: str, options: dict, seed: int) -> None:
    hq = testing.moving_texture(5, 64, 96, dx=2).astype(np.float32) / 255
    plan, _ = plan_clip(hq.shape[:3], preset, seed=seed, clip_id="p", fps=25.0, **options)
    frames = hq
    for op in (*plan.gt_ops, *plan.lq_ops):
        ref = op.apply(frames)
        ours = _to_np(apply_op(_to_t(frames), op, noise="numpy"))
        pairs = [(ours, ref)] if isinstance(ref, np.ndarray) else list(zip(ours, ref, strict=True))
        for o, r in pairs:
            assert o.shape == r.shape
            assert np.abs(o - r).max() <= TOL.get(op.name, DEFAULT_TOL), op.name
        frames = ref


@pytest.mark.parametrize("preset", ["bicubic", "bd"])
def test_end_to_end_without_codecs_matches(preset: str) -> None:
    hq = testing.moving_texture(4, 64, 96)
    ref = degrade(hq, preset, seed=0, clip_id="e")
    lq, gt, records = degrade_batch(
        torch.from_numpy(hq).permute(0, 3, 1, 2)[None].float() / 255, preset, clip_ids=["e"]
    )
    assert records[0] == ref.record
    ours = np.round(lq[0].permute(0, 2, 3, 1).numpy() * 255)
    assert np.abs(ours - ref.lq).max() <= 1 and np.mean(ours != ref.lq) < 0.01


def test_torch_noise_has_reference_statistics() -> None:
    flat = torch.full((3, 3, 96, 96), 0.5)
    from degradation.ops import GaussianNoise, PoissonNoise

    g = apply_op(flat, GaussianNoise((15.0,), False, 9), noise="torch") - flat
    assert float(g.std()) * 255 == pytest.approx(15.0, rel=0.03)
    p = apply_op(flat, PoissonNoise((1.0,), False, 9), noise="torch") - flat
    ref = PoissonNoise((1.0,), False, 9).apply(flat.permute(0, 2, 3, 1).numpy()) - 0.5
    assert float(p.var()) == pytest.approx(float(ref.var()), rel=0.1)


def test_batch_of_clips_with_distinct_plans() -> None:
    clips = torch.from_numpy(np.stack([testing.moving_texture(4, 64, 64, seed=s) for s in range(3)]))
    clips = clips.permute(0, 1, 4, 2, 3).float() / 255
    lq, gt, records = degrade_batch(clips, "realbasicvsr", seed=5, clip_ids=["a", "b", "c"])
    assert lq.shape == (3, 4, 3, 16, 16) and gt.shape == clips.shape
    assert len({str(r["ops"]) for r in records}) == 3
    assert torch.isfinite(lq).all() and float(lq.min()) >= 0 and float(lq.max()) <= 1


def test_apply_ops_rejects_unknown_noise_mode() -> None:
    with pytest.raises(ValueError):
        apply_ops_torch(torch.zeros(1, 3, 8, 8), [], noise="cuda")


@pytest.mark.gpu
def test_gpu_matches_cpu_reference() -> None:
    hq = testing.moving_texture(6, 128, 192).astype(np.float32) / 255
    plan, _ = plan_clip(hq.shape[:3], "realesrgan", seed=0, clip_id="g", fps=25.0)
    frames = hq
    for op in (*plan.gt_ops, *plan.lq_ops):
        ref = op.apply(frames)
        ours = apply_op(_to_t(frames).cuda(), op, noise="numpy")
        assert np.abs(_to_np(ours.cpu()) - ref).max() <= TOL.get(op.name, 1e-4), op.name
        frames = ref
