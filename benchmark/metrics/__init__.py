"""The metric table. Importing this module imports no torch; `METRICS.build(name, device=...)` imports lazily.

Every entry carries metadata the runner and the leaderboard use without building anything:

- `higher_is_better`, `needs_reference`, `needs_weights` (bool);
- `per`: "frame" (scored per frame, averaged over the clip's frames) or "video" (one score per clip);
- `space`: the colour space scored ("rgb", "y-bt601", "y-yiq", "y-bt601-rounded", "gray", ...);
- `scale`: how the number is expressed ("dB", "0-1", "x1e3", "x100", ...);
- `weights`: the `vsrcore.weights.WEIGHTS` key a weights-needing metric resolves (else None);
- `impl`: which implementation computes it (ours, pyiqa, lpips, ffmpeg libvmaf, OpenCV, ...);
- `label`: the column title, with the convention in it.

Crop and colour options are constructor kwargs (`crop_border`), recorded in the result's protocol.

    METRICS.names(needs_weights=False)                  # filter without building
    metric = METRICS.build("psnr_y", crop_border=4)     # a Metric; metric(pred, ref) -> float
"""

from __future__ import annotations

from typing import Any

from vsrcore.registry import Registry


METRICS = Registry("metric")

_FR = {"needs_reference": True}
_NR = {"needs_reference": False}


def _add(name: str, target: str, *, kwargs: dict[str, Any] | None = None, requires: tuple[str, ...] = (), **meta: Any):
    meta.setdefault("needs_weights", False)
    meta.setdefault("weights", None)
    meta.setdefault("per", "frame")
    meta.setdefault("impl", "ours")
    METRICS.add(name, target, kwargs=kwargs, requires=("torch", *requires), **meta)


# --- fidelity, ours (BasicSR/MATLAB conventions: per-frame, averaged; SSIM 11x11 Gaussian sigma 1.5, 'valid') ---
_add(
    "psnr",
    "benchmark.metrics.fidelity:PSNR",
    kwargs={"space": "rgb"},
    **_FR,
    higher_is_better=True,
    space="rgb",
    scale="dB",
    label="PSNR (RGB)",
)
_add(
    "psnr_y",
    "benchmark.metrics.fidelity:PSNR",
    kwargs={"space": "y"},
    **_FR,
    higher_is_better=True,
    space="y-bt601",
    scale="dB",
    label="PSNR (Y, BT.601)",
)
_add(
    "ssim",
    "benchmark.metrics.fidelity:SSIM",
    kwargs={"space": "rgb"},
    **_FR,
    higher_is_better=True,
    space="rgb",
    scale="0-1",
    label="SSIM (RGB, channel mean)",
)
_add(
    "ssim_y",
    "benchmark.metrics.fidelity:SSIM",
    kwargs={"space": "y"},
    **_FR,
    higher_is_better=True,
    space="y-bt601",
    scale="0-1",
    label="SSIM (Y, BT.601)",
)
_add(
    "ms_ssim",
    "benchmark.metrics.fidelity:MSSSIM",
    kwargs={"space": "y"},
    **_FR,
    higher_is_better=True,
    space="y-bt601",
    scale="0-1",
    label="MS-SSIM (Y, BT.601)",
)

# --- pyiqa-compatible fidelity variants (computed by pyiqa itself; pyiqa's Y is YIQ luma, rounded to 0-255) ---
_PYIQA = {"requires": ("pyiqa",), "impl": "pyiqa"}
_add(
    "pyiqa_psnr",
    "benchmark.metrics.pyiqa_metrics:PyiqaMetric",
    kwargs={"pyiqa_name": "psnr"},
    **_PYIQA,
    **_FR,
    higher_is_better=True,
    space="rgb",
    scale="dB",
    label="PSNR (pyiqa, RGB)",
)
_add(
    "pyiqa_psnry",
    "benchmark.metrics.pyiqa_metrics:PyiqaMetric",
    kwargs={"pyiqa_name": "psnry"},
    **_PYIQA,
    **_FR,
    higher_is_better=True,
    space="y-yiq",
    scale="dB",
    label="PSNR (pyiqa psnry, YIQ-Y)",
)
_add(
    "pyiqa_ssim",
    "benchmark.metrics.pyiqa_metrics:PyiqaMetric",
    kwargs={"pyiqa_name": "ssim"},
    **_PYIQA,
    **_FR,
    higher_is_better=True,
    space="y-yiq-rounded",
    scale="0-1",
    label="SSIM (pyiqa default, YIQ-Y)",
)
_add(
    "pyiqa_ssimc",
    "benchmark.metrics.pyiqa_metrics:PyiqaMetric",
    kwargs={"pyiqa_name": "ssimc"},
    **_PYIQA,
    **_FR,
    higher_is_better=True,
    space="rgb-rounded",
    scale="0-1",
    label="SSIM (pyiqa ssimc, RGB)",
)
_add(
    "pyiqa_ms_ssim",
    "benchmark.metrics.pyiqa_metrics:PyiqaMetric",
    kwargs={"pyiqa_name": "ms_ssim"},
    **_PYIQA,
    **_FR,
    higher_is_better=True,
    space="y-yiq-rounded",
    scale="0-1",
    label="MS-SSIM (pyiqa, YIQ-Y)",
)

# --- perceptual, weights-needing ---
_add(
    "lpips",
    "benchmark.metrics.perceptual:LPIPS",
    kwargs={"net": "alex"},
    requires=("lpips", "torchvision"),
    **_FR,
    higher_is_better=False,
    needs_weights=True,
    weights="lpips-alex",
    space="rgb",
    scale="0-1",
    impl="lpips 0.1 (AlexNet)",
    label="LPIPS (AlexNet)",
)
_add(
    "lpips_vgg",
    "benchmark.metrics.perceptual:LPIPS",
    kwargs={"net": "vgg"},
    requires=("lpips", "torchvision"),
    **_FR,
    higher_is_better=False,
    needs_weights=True,
    weights="lpips-vgg",
    space="rgb",
    scale="0-1",
    impl="lpips 0.1 (VGG16)",
    label="LPIPS (VGG16)",
)
_add(
    "dists",
    "benchmark.metrics.perceptual:DISTS",
    requires=("pyiqa", "torchvision"),
    **_FR,
    higher_is_better=False,
    needs_weights=True,
    weights="dists",
    space="rgb",
    scale="0-1",
    impl="pyiqa",
    label="DISTS",
)

# --- no-reference ---
_add(
    "niqe",
    "benchmark.metrics.niqe:NIQE",
    kwargs={"space": "gray"},
    requires=("scipy",),
    **_NR,
    higher_is_better=False,
    space="gray-matlab-rounded",
    scale="score",
    impl="ours (official NIQE procedure, BasicSR 1.4.2 pristine parameters, shipped)",
    label="NIQE (rgb2gray)",
)
_add(
    "niqe_y",
    "benchmark.metrics.niqe:NIQE",
    kwargs={"space": "y"},
    requires=("scipy",),
    **_NR,
    higher_is_better=False,
    space="y-bt601-rounded",
    scale="score",
    impl="ours (official NIQE procedure, BasicSR 1.4.2 pristine parameters, shipped)",
    label="NIQE (Y, BT.601; BasicSR)",
)
_add(
    "brisque",
    "benchmark.metrics.brisque:BRISQUE",
    requires=("pyiqa", "scipy"),
    **_NR,
    higher_is_better=False,
    needs_weights=True,
    weights="brisque",
    space="y-yiq-rounded",
    scale="score",
    impl="pyiqa BRISQUE ('original': LIVE SVM of the authors' release), brisque_svm_weights.pth",
    label="BRISQUE (pyiqa)",
)
_add(
    "musiq",
    "benchmark.metrics.pyiqa_metrics:PyiqaMetric",
    kwargs={"pyiqa_name": "musiq"},
    **_PYIQA,
    **_NR,
    higher_is_better=True,
    needs_weights=True,
    weights="musiq-koniq",
    space="rgb",
    scale="0-100",
    label="MUSIQ (KonIQ)",
)
_add(
    "clipiqa",
    "benchmark.metrics.pyiqa_metrics:PyiqaMetric",
    kwargs={"pyiqa_name": "clipiqa"},
    **_PYIQA,
    **_NR,
    higher_is_better=True,
    needs_weights=True,
    weights="clipiqa",
    space="rgb",
    scale="0-1",
    label="CLIP-IQA (pyiqa, RN50, 5-prompt ensemble)",
)
for _sub, _scale, _label in (
    ("overall", "0-1", "DOVER overall (fused, sigmoid, 0-1)"),
    ("technical", "x100", "DOVER technical (x100, SeedVR2/FlashVSR scale)"),
    ("aesthetic", "x100", "DOVER aesthetic (x100)"),
):
    _add(
        f"dover_{_sub}",
        "benchmark.metrics.video:DOVER",
        kwargs={"output": _sub},
        **_NR,
        higher_is_better=True,
        needs_weights=True,
        weights="dover",
        per="video",
        space="rgb",
        scale=_scale,
        impl="ours, DOVER re-implementation (official dover.yml sampling, seeded; official fusion), DOVER.pth",
        label=_label,
    )

# --- video / temporal ---
_add(
    "vmaf",
    "benchmark.metrics.video:VMAF",
    requires=("imageio_ffmpeg",),
    **_FR,
    higher_is_better=True,
    per="video",
    space="yuv444p",
    scale="0-100",
    impl="ffmpeg libvmaf (imageio-ffmpeg), built-in model",
    label="VMAF",
)
_add(
    "ewarp",
    "benchmark.metrics.temporal:EWarp",
    min_frames=2,
    kwargs={"flow": "raft"},
    requires=("torchvision",),
    **_NR,
    higher_is_better=False,
    needs_weights=True,
    weights="raft-large",
    per="video",
    space="rgb",
    scale="x1e3",
    impl="ours, EvalCrafter procedure, torchvision RAFT-large (20 iters)",
    label="E*warp (RAFT, half-res, x1e-3)",
)
_add(
    "ewarp_dis",
    "benchmark.metrics.temporal:EWarp",
    min_frames=2,
    kwargs={"flow": "dis"},
    requires=("cv2",),
    **_NR,
    higher_is_better=False,
    per="video",
    space="rgb",
    scale="x1e3",
    impl="ours, EvalCrafter procedure with OpenCV DIS flow (not comparable to RAFT E*warp)",
    label="E*warp-DIS (half-res, x1e-3)",
)
_add(
    "tof",
    "benchmark.metrics.temporal:TOF",
    min_frames=2,
    requires=("cv2",),
    **_FR,
    higher_is_better=False,
    per="video",
    space="gray",
    scale="px",
    impl="ours, TecoGAN procedure (Farneback)",
    label="tOF",
)
_add(
    "tlp",
    "benchmark.metrics.temporal:TLP",
    min_frames=2,
    requires=("lpips", "torchvision"),
    **_FR,
    higher_is_better=False,
    needs_weights=True,
    weights="lpips-alex",
    per="video",
    space="rgb",
    scale="x100",
    impl="ours, TecoGAN procedure, lpips AlexNet",
    label="tLP (x100)",
)


DEFAULT_METRICS: tuple[str, ...] = (
    "psnr", "psnr_y", "ssim", "ssim_y", "lpips", "dists", "niqe", "musiq", "clipiqa", "dover_overall", "ewarp_dis",
)  # fmt: skip


def metric_info(name: str) -> dict[str, Any]:
    """The registered metadata and default kwargs of `name` (KeyError with suggestions if unknown)."""
    entry = METRICS.spec(name)
    return {"name": entry.name, **entry.meta, "kwargs": dict(entry.kwargs)}


__all__ = ["DEFAULT_METRICS", "METRICS", "metric_info"]
