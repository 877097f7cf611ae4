"""Calibration: each metric held to its reference implementation's values, with the tolerances of docs/benchmark.md.

Two kinds of reference:
- live, on images shipped here (sample photos): scikit-image's SSIM (Wang's MATLAB SSIM settings) and pyiqa, run
  offline now;
- published, on pyiqa's five calibration pairs (TID2013 I03 I04 I06 I08 I19): the reference implementations'
  values (MATLAB scripts fed rgb2gray, skimage PSNR, the authors' LPIPS/DISTS/MUSIQ) that pyiqa publishes, stored
  as numbers in data/pyiqa_calibration.json. The images are TID2013's (research-only, no modification), so they
  are not shipped: point FLASHVSR_CALIBRA_DIR at a folder holding `dist/IXX.bmp` and `ref/IXX.bmp` (pyiqa's
  `ResultsCalibra/dist_dir` and `ref_dir`); their git blob ids are checked first.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmark.metrics import METRICS
from vsrcore.deps import is_available
from vsrcore.quality.niqe import rgb_to_gray255
from vsrcore.weights import weight_status


DATA = json.loads((Path(__file__).parent / "data" / "pyiqa_calibration.json").read_text())
IMAGES = DATA["images"]


def _photo(name: str) -> np.ndarray:
    from PIL import Image

    from vsrcore.samples import get_sample

    s = get_sample(name)
    if not s.available():
        pytest.skip(f"sample {name} not available")
    return np.asarray(Image.open(s.path()).convert("RGB"))


def _t(rgb_or_gray: np.ndarray) -> torch.Tensor:
    """(H, W, 3) or (H, W) in [0, 255] -> (1, C, H, W) float64 in [0, 1]."""
    a = np.asarray(rgb_or_gray, dtype=np.float64) / 255
    return torch.from_numpy(a[None, None] if a.ndim == 2 else a.transpose(2, 0, 1)[None].copy())


def _blurred(rgb: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    y = F.interpolate(F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True), size=rgb.shape[:2])
    return y[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()


# --- live references on shipped images -------------------------------------------------------------------------


def test_ssim_equals_scikit_image_with_wang_settings() -> None:
    from skimage.metrics import structural_similarity

    ref = rgb_to_gray255(_photo("coffee"))
    dist = rgb_to_gray255(_blurred(_photo("coffee")))
    theirs = structural_similarity(
        ref, dist, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    ours = METRICS.build("ssim", device="cpu")(_t(dist), _t(ref))
    assert ours == pytest.approx(theirs, abs=1e-6)


@pytest.mark.skipif(not is_available("pyiqa"), reason="pyiqa not installed")
def test_psnr_and_ms_ssim_equal_pyiqa_where_conventions_agree() -> None:
    """pyiqa's MS-SSIM clamps the cs map per pixel and zero-pads odd sizes; on a mild blur with even sizes
    neither applies, so it must agree with ours to float32 precision."""
    import pyiqa

    ref, dist = _photo("astronaut"), _blurred(_photo("astronaut"))  # 512x512: every scale even
    gr, gd = rgb_to_gray255(ref), rgb_to_gray255(dist)
    theirs = float(pyiqa.create_metric("ms_ssim", device="cpu", test_y_channel=False)(_t(gd).float(), _t(gr).float()))
    assert METRICS.build("ms_ssim", device="cpu")(_t(gd), _t(gr)) == pytest.approx(theirs, abs=1e-5)
    theirs = float(pyiqa.create_metric("psnr", device="cpu", test_y_channel=False)(_t(dist).float(), _t(ref).float()))
    assert METRICS.build("psnr", device="cpu")(_t(dist), _t(ref)) == pytest.approx(theirs, abs=1e-3)


def test_ms_ssim_halves_odd_sizes_as_matlab_imfilter_symmetric() -> None:
    from benchmark.metrics.fidelity import _halve_matlab

    x = torch.arange(15.0).reshape(1, 1, 3, 5)
    # MATLAB: imfilter(x, ones(2)/4, 'symmetric') then x(1:2:end, 1:2:end): the last odd row/column pairs with itself
    expected = torch.tensor([[(0 + 1 + 5 + 6) / 4, (2 + 3 + 7 + 8) / 4, (4 + 4 + 9 + 9) / 4], [10.5, 12.5, 14.0]])
    assert torch.equal(_halve_matlab(x)[0, 0], expected)


# --- published reference values on pyiqa's calibration images --------------------------------------------------


def _calibra_dir() -> Path:
    d = os.environ.get("FLASHVSR_CALIBRA_DIR")
    if not d:
        pytest.skip("FLASHVSR_CALIBRA_DIR not set (pyiqa ResultsCalibra images; TID2013 licence forbids shipping)")
    return Path(d)


def _git_blob_sha1(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _pair(name: str) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    root = _calibra_dir()
    out = []
    for kind in ("dist", "ref"):
        p = root / kind / f"{name}.bmp"
        assert _git_blob_sha1(p) == DATA["image_sha1_git"][f"{kind}/{name}.bmp"], f"{p} is not pyiqa's file"
        out.append(np.asarray(Image.open(p).convert("RGB")))
    return out[0], out[1]


# (our metric, reference column, input, absolute or relative tolerance); see docs/benchmark.md "Calibration"
OFFLINE = [
    ("psnr", "psnr", "rgb", {"abs": 5e-3}),
    ("ssim", "ssim_gray", "gray", {"abs": 5e-5}),
    ("ms_ssim", "ms_ssim_ycbcr", "ycbcr", {"abs": 5e-5}),
    ("ms_ssim", "ms_ssim_gray", "gray", {"abs": 5e-3}),
    ("niqe", "niqe", "rgb", {"rel": 6e-3}),
]


def _inputs(name: str, space: str) -> tuple[torch.Tensor, torch.Tensor]:
    dist, ref = _pair(name)
    if space == "gray":
        return _t(rgb_to_gray255(dist)), _t(rgb_to_gray255(ref))
    if space == "ycbcr":
        from vsrcore.tensors import rgb_to_y

        return rgb_to_y(_t(dist), channel_axis=-3), rgb_to_y(_t(ref), channel_axis=-3)
    return _t(dist), _t(ref)


@pytest.mark.parametrize(("metric", "column", "space", "tol"), OFFLINE, ids=[f"{m[0]}-{m[2]}" for m in OFFLINE])
def test_offline_metrics_match_published_reference_values(metric: str, column: str, space: str, tol: dict) -> None:
    m = METRICS.build(metric, device="cpu")
    for i, name in enumerate(IMAGES):
        dist, ref = _inputs(name, space)
        got = m(dist, ref) if m.needs_reference else m(dist)
        assert got == pytest.approx(DATA["reference"][column][i], **tol), (name, got)


# Weights metrics: against the values pyiqa publishes for its own run (what the benchmark's implementation is).
WEIGHTED = [
    ("lpips", "lpips-alex", "reference", 1e-4),
    ("dists", "dists", "pyiqa", 1e-4),
    ("musiq", "musiq-koniq", "pyiqa", 2e-2),
    ("brisque", "brisque", "pyiqa", 2e-2),
]


@pytest.mark.weights
@pytest.mark.parametrize(("metric", "weights", "column", "tol"), WEIGHTED, ids=[w[0] for w in WEIGHTED])
def test_weights_metrics_match_published_values(metric: str, weights: str, column: str, tol: float) -> None:
    _found, missing = weight_status(weights)
    if missing:
        pytest.skip(f"weights '{weights}' missing: {', '.join(missing)}")
    m = METRICS.build(metric, device="cpu")
    for i, name in enumerate(IMAGES):
        dist, ref = _inputs(name, "rgb")
        got = m(dist.float(), ref.float()) if m.needs_reference else m(dist.float())
        assert got == pytest.approx(DATA[column][metric][i], abs=tol), (name, got)


@pytest.mark.skipif(not is_available("pyiqa"), reason="pyiqa not installed")
def test_brisque_loads_a_tensor_file_from_the_weights_folder_through_the_guard(tmp_path) -> None:
    """Plumbing only (no published number): a stand-in SVM file of the published layout (sv_coef (774,), sv
    (774, 36)) is found in the weights folder, loaded weights-only by pyiqa, and scores each frame."""
    g = torch.Generator().manual_seed(0)
    torch.save((torch.randn(774, generator=g), torch.rand(774, 36, generator=g)), tmp_path / "brisque_svm_weights.pth")
    m = METRICS.build("brisque", device="cpu", weights_dir=tmp_path)
    frames = torch.from_numpy(np.stack([_photo("coffee"), _blurred(_photo("coffee"))])).permute(0, 3, 1, 2)
    scores = m.per_frame(frames.float() / 255)
    assert scores.shape == (2,) and np.isfinite(scores).all() and scores[0] != scores[1]
