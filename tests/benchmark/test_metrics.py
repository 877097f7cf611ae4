"""Metrics: light registry, analytic goldens, calibration against pyiqa, missing weights, plumbing."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmark.metrics import METRICS, metric_info
from benchmark.metrics.evaluate import MetricSet
from vsrcore.deps import is_available
from vsrcore.errors import MissingWeights


def _clip(t: int = 2, h: int = 192, w: int = 200, seed: int = 0) -> torch.Tensor:
    """A smooth random texture (T, 3, H, W) in [0, 1], quantised to 8 bits."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(t, 3, h // 8, w // 8, generator=g)
    x = F.interpolate(x, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
    return (x * 255).round() / 255


def _blur(x: torch.Tensor, factor: float = 0.5) -> torch.Tensor:
    y = F.interpolate(x, scale_factor=factor, mode="bilinear", antialias=True)
    return (F.interpolate(y, size=x.shape[-2:], mode="bicubic").clamp(0, 1) * 255).round() / 255


def test_importing_metrics_imports_no_torch() -> None:
    code = (
        "import sys, benchmark.metrics, benchmark.datasets\n"
        "benchmark.metrics.METRICS.names(needs_weights=False)\n"
        "bad = {'torch', 'pyiqa', 'lpips', 'cv2', 'av'} & set(sys.modules)\nassert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_registry_metadata_is_complete() -> None:
    for e in METRICS:
        for key in ("higher_is_better", "needs_reference", "needs_weights", "per", "space", "scale", "label"):
            assert key in e.meta, (e.name, key)
        assert e.meta["per"] in ("frame", "video")
        assert (e.meta["weights"] is not None) == e.meta["needs_weights"], e.name
    assert "psnr_y" in METRICS.names(needs_weights=False)
    assert "lpips" in METRICS.names(needs_weights=True)
    with pytest.raises(KeyError, match="did you mean"):
        METRICS.spec("psnry")
    assert metric_info("ssim_y")["kwargs"] == {"space": "y"}


def test_metric_classes_agree_with_the_table() -> None:
    """The table (torch-free, for listing) and the classes (for scoring) both state `per` and `needs_reference`:
    the classes must say what the table says."""
    from benchmark.metrics.pyiqa_metrics import _NR, PyiqaMetric

    for e in METRICS:
        cls = e.load()
        if cls is PyiqaMetric:
            assert (e.kwargs["pyiqa_name"] not in _NR) == e.meta["needs_reference"], e.name
            continue
        assert (cls.per, cls.needs_reference) == (e.meta["per"], e.meta["needs_reference"]), e.name


@pytest.mark.parametrize("delta", [1, 4, 16])
def test_psnr_constant_offset_is_analytic(delta: int) -> None:
    ref = torch.full((3, 3, 32, 40), 0.5)
    pred = ref + delta / 255
    expected = -20 * math.log10(delta / 255)
    assert METRICS.build("psnr", device="cpu")(pred, ref) == pytest.approx(expected, abs=1e-4)
    # Y of a grey offset moves by 219/255 of delta (BT.601 studio swing).
    y = -20 * math.log10(delta / 255 * 219 / 255)
    assert METRICS.build("psnr_y", device="cpu")(pred, ref) == pytest.approx(y, abs=1e-3)


def test_identical_gives_inf_psnr_and_unit_ssim() -> None:
    x = _clip()
    assert METRICS.build("psnr", device="cpu")(x, x) == math.inf
    for name in ("ssim", "ssim_y", "ms_ssim"):
        assert METRICS.build(name, device="cpu")(x, x) == pytest.approx(1.0, abs=1e-9)


def test_blur_and_shift_lower_fidelity() -> None:
    x = _clip()
    blurred, shifted = _blur(x), torch.roll(x, 3, dims=-1)
    for name in ("psnr", "ssim_y", "ms_ssim"):
        m = METRICS.build(name, device="cpu")
        assert m(blurred, x) < m(x, x) and m(shifted, x) < m(x, x)


def test_crop_border_and_frame_truncation() -> None:
    x = _clip(t=3)
    y = x.clone()
    y[..., :4, :] = 0  # damage only a 4-px top border
    assert METRICS.build("psnr", device="cpu", crop_border=4)(y, x) == math.inf
    assert METRICS.build("psnr", device="cpu")(y, x) < 40
    # pred has an extra frame and extra columns: truncated to the common length and size (DOVE policy)
    longer = torch.cat([x, x[:1]], 0)
    wider = F.pad(longer, (0, 8))
    assert METRICS.build("psnr", device="cpu")(wider, x) == math.inf


def test_uint8_input_matches_float_input() -> None:
    x = _clip()
    u8 = (x * 255).round().byte().permute(0, 2, 3, 1).numpy()
    blurred = _blur(x)
    m = METRICS.build("psnr_y", device="cpu")
    assert m(blurred, u8) == pytest.approx(m(blurred, x), abs=1e-6)


# (ours, pyiqa name, pyiqa options, absolute tolerance): pyiqa rounds Y to 0-255 integers and clamps cs >= 0.
CALIBRATION = [
    ("psnr", "psnr", {}, 1e-3),
    ("psnr_y", "psnry", {"color_space": "ycbcr"}, 2e-2),
    ("ssim", "ssimc", {}, 2e-3),
    ("ssim_y", "ssim", {"color_space": "ycbcr"}, 2e-3),
    ("ms_ssim", "ms_ssim", {"color_space": "ycbcr"}, 2e-3),
]


@pytest.mark.skipif(not is_available("pyiqa"), reason="pyiqa not installed")
@pytest.mark.parametrize(("ours", "theirs", "opts", "tol"), CALIBRATION)
def test_calibration_against_pyiqa(ours: str, theirs: str, opts: dict, tol: float) -> None:
    import pyiqa

    x = _clip(t=2)
    y = _blur(x)
    ref = pyiqa.create_metric(theirs, device="cpu", **opts)
    expected = float(ref(y, x).mean())
    assert METRICS.build(ours, device="cpu")(y, x) == pytest.approx(expected, abs=tol)


@pytest.mark.skipif(not is_available("pyiqa"), reason="pyiqa not installed")
def test_pyiqa_variants_are_pyiqa() -> None:
    import pyiqa

    x = _clip(t=1)
    y = _blur(x)
    for ours, theirs in (("pyiqa_psnr", "psnr"), ("pyiqa_psnry", "psnry"), ("pyiqa_ssim", "ssim")):
        assert METRICS.build(ours, device="cpu")(y, x) == pytest.approx(float(pyiqa.create_metric(theirs)(y, x)))


def _photo(name: str) -> np.ndarray:
    from PIL import Image

    from vsrcore.samples import get_sample

    s = get_sample(name)
    if not s.available():
        pytest.skip(f"sample {name} not available")
    return np.asarray(Image.open(s.path()).convert("RGB"))[None]


@pytest.mark.skipif(not is_available("pyiqa"), reason="pyiqa not installed")
def test_niqe_with_shipped_parameters_matches_pyiqa(tmp_path) -> None:
    import pyiqa
    import scipy.io

    from benchmark.metrics.niqe import PARAMS_PATH

    d = np.load(PARAMS_PATH)
    mat = tmp_path / "niqe.mat"
    scipy.io.savemat(mat, {"mu_prisparam": d["mu_pris_param"], "cov_prisparam": d["cov_pris_param"]})
    ref = pyiqa.create_metric("niqe", pretrained_model_path=str(mat), color_space="ycbcr", device="cpu")
    img = torch.from_numpy(_photo("coffee")).permute(0, 3, 1, 2).float() / 255
    ours = METRICS.build("niqe_y", device="cpu")
    # pyiqa resamples in float32 and fits AGGD on a 0.001 grid, so a few grid flips are expected: 2 %.
    assert ours(img) == pytest.approx(float(ref(img)), rel=0.02)
    assert ours(_blur(img)) > ours(img)


def test_niqe_matches_basicsr_reference_value() -> None:
    """BasicSR 1.4.2's numpy NIQE (run offline on the same Y) gave 4.1153287 for skimage 'coffee'."""
    from benchmark.metrics.niqe import niqe_y
    from vsrcore.tensors import rgb_to_y

    img = _photo("coffee")[0].astype(np.float64) / 255
    y = np.round(rgb_to_y(img, channel_axis=-1)[..., 0] * 255)
    assert niqe_y(y) == pytest.approx(4.1153287, abs=1e-4)


def test_missing_weights_raise_and_become_records(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FLASHVSR_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("lpips", "dists", "musiq", "clipiqa", "dover_overall", "ewarp", "tlp"):
        if not all(is_available(m) for m in METRICS.spec(name).requires):
            continue
        with pytest.raises(MissingWeights, match="not found in"):
            METRICS.build(name, device="cpu", weights_dir=tmp_path)
    x = _clip(t=2)
    outcomes = {o.metric: o for o in MetricSet(["psnr", "lpips", "niqe"], weights_dir=tmp_path).score(_blur(x), x)}
    assert outcomes["psnr"].status == "ok" and outcomes["niqe"].status == "ok"
    assert outcomes["lpips"].status == "missing-weights" and outcomes["lpips"].value is None
    assert "alexnet-owt-7be5be79.pth" in outcomes["lpips"].reason


def test_brisque_without_its_weights_file_is_missing_with_the_file_name(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FLASHVSR_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    (o,) = MetricSet(["brisque"], weights_dir=tmp_path).score(_clip(t=1))
    assert o.status == "missing-weights" and o.value is None, o
    assert "brisque_svm_weights.pth" in o.reason and "IQA-PyTorch-Weights" in o.reason


def test_no_reference_dataset_turns_fr_metric_into_error() -> None:
    (o,) = MetricSet(["psnr"]).score(_clip(t=1), None)
    assert o.status == "error" and "reference" in o.reason


@pytest.mark.skipif(not is_available("lpips"), reason="lpips not installed")
def test_lpips_and_tlp_plumbing_with_random_backbone() -> None:
    x = _clip(t=3, h=64, w=64)
    m = METRICS.build("lpips", device="cpu", random_weights=True)
    assert m(x, x) == pytest.approx(0.0, abs=1e-6)
    assert m(_blur(x), x) > 0
    tlp = METRICS.build("tlp", device="cpu", random_weights=True)
    assert tlp(x, x) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.skipif(not is_available("pyiqa"), reason="pyiqa not installed")
def test_dists_and_musiq_plumbing_with_random_weights() -> None:
    x = _clip(t=1, h=64, w=64)
    d = METRICS.build("dists", device="cpu", random_weights=True)
    assert d(x, x) == pytest.approx(0.0, abs=1e-5)
    assert math.isfinite(d(_blur(x), x))
    musiq = METRICS.build("musiq", device="cpu", random_weights=True)
    assert math.isfinite(musiq(x))


def _moving(t: int = 5, dx: int = 2) -> torch.Tensor:
    base = _clip(t=1, h=96, w=160)
    return torch.cat([torch.roll(base, i * dx, dims=-1) for i in range(t)])


def test_ewarp_dis_small_for_consistent_motion_large_for_flicker() -> None:
    m = METRICS.build("ewarp_dis", device="cpu")
    steady = _moving()
    flicker = steady.clone()
    flicker[1::2] = (flicker[1::2] * 0.7 * 255).round() / 255
    assert m(steady) < 0.5
    assert m(flicker) > 5 * max(m(steady), 1e-3)


def test_tof_zero_for_identical_and_positive_for_different_motion() -> None:
    m = METRICS.build("tof", device="cpu")
    gt = _moving(dx=2)
    assert m(gt, gt) == pytest.approx(0.0, abs=1e-6)
    assert m(_moving(dx=0), gt) > 0.5


@pytest.mark.skipif(not is_available("imageio_ffmpeg"), reason="imageio-ffmpeg not installed")
def test_vmaf_identical_high_and_degraded_lower() -> None:
    m = METRICS.build("vmaf", device="cpu")
    x = _moving(t=3)
    same = m(x, x)
    assert same > 95
    assert m(_blur(x, 0.125), x) < same - 5


@pytest.mark.weights
def test_lpips_real_weights_known_pair() -> None:
    from vsrcore.weights import weight_status

    if weight_status("lpips-alex")[1]:
        pytest.skip("lpips-alex weights not present")
    x = _clip(t=1, h=64, w=64)
    m = METRICS.build("lpips", device="cpu")
    assert 0 < m(_blur(x), x) < 1
