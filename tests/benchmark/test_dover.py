"""DOVER: fidelity to the official code (fixture made by make_dover_fixture.py), weights, sampling, missing weights."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.metrics import METRICS, metric_info
from benchmark.metrics.dover.model import DOVERNet, fuse, load_dover
from benchmark.metrics.dover.views import (
    DoverSample,
    aesthetic_view,
    build_views,
    seeded_sample,
    technical_view,
)
from benchmark.metrics.evaluate import MetricSet
from tests.benchmark.dover_inputs import CLIPS, layout_digest, seeded_state_dict, synthetic_clip, tensor_digest
from vsrcore.errors import MissingWeights, UserFacingError


FIXTURE = Path(__file__).parent / "data" / "dover_official.json"
ATOL = 1e-4


@pytest.fixture(scope="module")
def official() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def seeded_state() -> dict[str, torch.Tensor]:
    return seeded_state_dict(DOVERNet().state_dict())


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory: pytest.TempPathFactory, seeded_state: dict[str, torch.Tensor]) -> Path:
    """A weights folder whose DOVER.pth is the fixture's seeded state dict, in the released file's layout."""
    d = tmp_path_factory.mktemp("dover-weights")
    torch.save(seeded_state, d / "DOVER.pth")
    return d


def _sample(case: dict) -> DoverSample:
    s = case["sample"]
    return DoverSample(
        technical_frames=torch.tensor(s["technical_frames"]),
        aesthetic_frames=torch.tensor(s["aesthetic_frames"]),
        offsets_h=torch.tensor(s["offsets_h"]).reshape(s["offsets_shape"]),
        offsets_w=torch.tensor(s["offsets_w"]).reshape(s["offsets_shape"]),
    )


def _clip(name: str) -> np.ndarray:
    return synthetic_clip(*CLIPS[name])


def test_state_dict_layout_is_the_official_one(official: dict) -> None:
    state = DOVERNet().state_dict()
    ref = official["state_dict"]
    assert len(state) == ref["num_tensors"]
    assert layout_digest(state) == ref["layout_sha256"]
    index = torch.cat([v.reshape(-1) for k, v in sorted(state.items()) if k.endswith("relative_position_index")])
    assert tensor_digest(index) == ref["relative_position_index_sha256"]


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_views_match_official_code(official: dict, name: str) -> None:
    """Same frames and fragment offsets as upstream drew -> bit-identical uint8 views, same normalised views."""
    case = official["cases"][name]
    sample = _sample(case)
    clip = torch.from_numpy(_clip(name))
    tech = torch.stack([clip[i] for i in sample.technical_frames.tolist()], 0).permute(3, 0, 1, 2)
    aes = torch.stack([clip[i] for i in sample.aesthetic_frames.tolist()], 0).permute(3, 0, 1, 2)
    ours = {
        "technical": technical_view(tech, sample.offsets_h, sample.offsets_w).to(torch.uint8),
        "aesthetic": aesthetic_view(aes),
    }
    for k, v in ours.items():
        assert list(v.shape) == case["views_uint8"][k]["shape"]
        assert tensor_digest(v) == case["views_uint8"][k]["sha256"], k
    views = build_views({i: clip[i] for i in range(clip.shape[0])}, sample)
    for k, v in views.items():
        ref = case["views_normalised"][k]
        assert list(v.shape) == ref["shape"]
        assert v.double().mean().item() == pytest.approx(ref["mean"], abs=1e-6)
        assert v.double().std().item() == pytest.approx(ref["std"], abs=1e-6)


def test_scores_match_official_code(official: dict, weights_dir: Path) -> None:
    """Our pipeline, loading the seeded DOVER.pth through the registry, on upstream's draws: head maps, raw
    scores and all three published scales within 1e-4 of the official code (fp32, CPU)."""
    case = official["cases"]["large"]
    sample = _sample(case)
    clip = _clip("large")
    metric = METRICS.build("dover_overall", device="cpu", weights_dir=weights_dir)
    maps: dict[str, torch.Tensor] = {}
    hooks = [
        getattr(metric.net, f"{k}_head").register_forward_hook(lambda _m, _i, out, k=k: maps.__setitem__(k, out))
        for k in ("technical", "aesthetic")
    ]
    try:
        scores = metric.evaluate(clip, sample=sample)
    finally:
        for h in hooks:
            h.remove()
    for k, m in maps.items():
        ref = case["heads"][k]
        assert list(m.shape) == ref["shape"]
        np.testing.assert_allclose(m.mean((1, 2, 3, 4)).numpy(), ref["clip_means"], atol=ATOL, rtol=0)
        np.testing.assert_allclose(m.mean((0, 1, 3, 4)).numpy(), ref["time_means"], atol=ATOL, rtol=0)
    assert scores.technical_raw == pytest.approx(case["heads"]["technical"]["mean"], abs=ATOL)
    assert scores.aesthetic_raw == pytest.approx(case["heads"]["aesthetic"]["mean"], abs=ATOL)
    fused = case["fused"]
    assert scores.overall == pytest.approx(fused["overall"], abs=ATOL)
    assert scores.overall * 100 == pytest.approx(fused["overall_x100"], abs=100 * ATOL)
    assert scores.technical == pytest.approx(fused["technical_x100"], abs=100 * ATOL)
    assert scores.aesthetic == pytest.approx(fused["aesthetic_x100"], abs=100 * ATOL)
    # the registered outputs, each under its labelled scale; they share the network and its result for these views
    for output, expected in (
        ("overall", fused["overall"]),
        ("technical", fused["technical_x100"]),
        ("aesthetic", fused["aesthetic_x100"]),
    ):
        m = METRICS.build(f"dover_{output}", device="cpu", weights_dir=weights_dir)
        assert m.net is metric.net
        m.sample = lambda *_: sample  # upstream's draws instead of ours; the views are then already scored
        assert m(clip) == pytest.approx(expected, abs=ATOL * (1 if output == "overall" else 100))
        assert metric_info(f"dover_{output}")["scale"] == ("0-1" if output == "overall" else "x100")


def test_fusion_constants() -> None:
    """The official fusion: z-normalise with fixed statistics, 0.6104 / 0.3896 weights, sigmoid."""
    s = fuse(0.1107, -0.08285)
    assert (s.technical, s.aesthetic, s.overall) == (50.0, 50.0, 0.5)
    s = fuse(0.1107 + 0.07355, -0.08285 - 0.03774)
    t, a = 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))
    assert s.technical == pytest.approx(100 * t) and s.aesthetic == pytest.approx(100 * a)
    assert s.overall == pytest.approx(1 / (1 + np.exp(-(0.6104 - 0.3896))))


def test_seeded_sampling_is_deterministic_and_keeps_the_official_ranges() -> None:
    frames, height, width = 600, 480, 640
    a, b = seeded_sample(0, frames, height, width), seeded_sample(0, frames, height, width)
    for x, y in zip(vars(a).values(), vars(b).values(), strict=True):
        assert torch.equal(x, y)
    assert not torch.equal(seeded_sample(1, frames, height, width).technical_frames, a.technical_frames)
    seg = frames // 3
    tech = a.technical_frames.reshape(3, 32)
    starts = tech[:, 0] - torch.arange(3) * seg
    assert ((starts >= 0) & (starts < seg - 64)).all() and (tech.diff(dim=1) == 2).all()
    aes = a.aesthetic_frames - torch.arange(32) * (frames // 32)
    assert ((aes >= 0) & (aes < frames // 32 - 2)).all()
    assert a.offsets_h.shape == (7, 7, 3)
    assert ((a.offsets_h >= 0) & (a.offsets_h < height // 7 - 32)).all()
    assert ((a.offsets_w >= 0) & (a.offsets_w < width // 7 - 32)).all()
    assert len(set(a.offsets_w.flatten().tolist())) > 10  # really drawn
    short = seeded_sample(0, 20, 100, 100)  # short clip: no offsets, indices wrap around
    assert short.technical_frames.max() < 20 and not short.offsets_h.any() and not short.offsets_w.any()


def test_missing_weights_name_the_file_and_the_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASHVSR_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(MissingWeights, match=r"DOVER\.pth not found") as e:
        METRICS.build("dover_technical", device="cpu", weights_dir=tmp_path)
    assert "github.com/VQAssessment/DOVER/releases" in str(e.value)
    (outcome,) = MetricSet(["dover_overall"], device="cpu", weights_dir=tmp_path).score(_clip("small")[:4])
    assert outcome.status == "missing-weights" and outcome.value is None and "DOVER.pth" in outcome.reason


def test_loading_accepts_the_training_scripts_wrapper_and_rejects_other_files(
    tmp_path: Path, seeded_state: dict[str, torch.Tensor]
) -> None:
    wrapped = tmp_path / "DOVER_plus_plus.pth"
    torch.save({"state_dict": seeded_state, "validation_results": [0.5, 0.6]}, wrapped)
    net = load_dover(wrapped)
    key = "technical_head.fc_last.weight"
    assert torch.equal(net.state_dict()[key], seeded_state[key])

    partial = tmp_path / "partial.pth"
    torch.save({k: v for k, v in seeded_state.items() if not k.startswith("aesthetic_head")}, partial)
    with pytest.raises(UserFacingError, match=r"partial\.pth: not the DOVER layout \(4 keys missing"):
        load_dover(partial)

    pickled = tmp_path / "pickled.pth"
    pickled.write_bytes(pickle.dumps({"net": UserFacingError("an arbitrary object")}))
    with pytest.raises(UserFacingError, match=r"pickled\.pth: not a loadable DOVER checkpoint"):
        load_dover(pickled)


def test_dover_rejects_grey_clips(weights_dir: Path) -> None:
    metric = METRICS.build("dover_overall", device="cpu", weights_dir=weights_dir)
    with pytest.raises(ValueError, match="RGB"):
        metric(torch.zeros(4, 1, 64, 64))
