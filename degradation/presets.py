"""Degradation presets: each turns (rng, clip shape) into a plan, the list of operator records to apply.

A preset's dataclass fields are its options, including one named flag per documented upstream quirk
(see `docs/degradation.md`); defaults reproduce the upstream pipeline unless a field says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from degradation.kernels import KernelSpec
from degradation.ops import (
    JPEG,
    Blur,
    BlurConfig,
    Identity,
    JPEGConfig,
    NoiseConfig,
    Op,
    Quantize,
    Resize,
    ResizeConfig,
    Subsample,
    UnsharpMask,
    VideoCompression,
    VideoCompressionConfig,
    sample_noise,
)


SINC_FINAL = BlurConfig(kernel_types=("sinc",), kernel_probs=(1.0,), omega=(np.pi / 3, np.pi))


@dataclass(frozen=True)
class Plan:
    """What a preset decided for one clip: ops on the ground truth, then ops producing the LQ from it."""

    gt_ops: tuple[Op, ...]
    lq_ops: tuple[Op, ...]
    lq_size: tuple[int, int]


def _gate(rng: np.random.Generator, prob: float, step: str, make: object) -> Op:
    return make() if rng.random() < prob else Identity(step)  # type: ignore[operator]


def _resize_and_sinc(
    rng: np.random.Generator, n: int, target: tuple[int, int], modes: tuple[str, ...], prob: float, *, drift: bool
) -> tuple[Resize, Op]:
    """The final group's resize to the LQ size (random mode) and its gated sinc filter, drawn in that order."""
    resize = Resize(str(rng.choice(modes)), (target,))
    sinc = _gate(rng, prob, "final_sinc", lambda: Blur.sample(rng, n, SINC_FINAL, drift=drift, beta_redraw=False))
    return resize, sinc


@dataclass(frozen=True)
class RealBasicVSR:
    """RealBasicVSR's video pipeline (mmediting): two degradation stages and a shuffled final group.

    Categorical choices (kernel family and size, resize direction and mode, noise type, gray noise,
    codec, bitrate, probability gates, final order) are drawn once per clip. Continuous parameters are
    fixed per clip (`drift=False`, as DOVE) or random-walk per frame by the documented steps.

    Quirk flags (upstream behaviour by default unless noted):
        beta_redraw: the kernel builder re-draws beta in [beta, 1] every frame.
        jpeg_swap_channels: RGB given to OpenCV's BGR JPEG encoder (R/B luma weights swapped).
        bitrate_per_frame: the codec stream is declared at 1 fps, so the bitrate is bits per frame
            (False: the clip's real fps, i.e. bits per second; ~25x harsher at 25 fps).
        codec_wraparound: uint8 cast without clipping before the codec (default False: clipped;
            upstream wraps out-of-range values around).
        noise_clip: clip to [0, 1] after noise (upstream: no).
        codec_exact: libx264 without SIMD so the codec step is bit-reproducible (upstream: SIMD, whose
            output varies run to run); see VideoCompression.
    """

    scale: int = 4
    drift: bool = False
    usm_gt: bool = True
    beta_redraw: bool = True
    jpeg_swap_channels: bool = True
    bitrate_per_frame: bool = True
    codec_wraparound: bool = False
    noise_clip: bool = False
    codec_exact: bool = True
    blur1: BlurConfig = BlurConfig()
    resize1: ResizeConfig = ResizeConfig()
    noise1: NoiseConfig = NoiseConfig()
    jpeg: JPEGConfig = JPEGConfig()
    codec: VideoCompressionConfig = VideoCompressionConfig()
    blur2_prob: float = 0.8
    blur2: BlurConfig = BlurConfig(sigma=(0.2, 1.5))
    resize2: ResizeConfig = ResizeConfig(probs=(0.3, 0.4, 0.3), scale=(0.3, 1.2), scale_step=0.03)
    noise2: NoiseConfig = NoiseConfig(sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5))
    final_sinc_prob: float = 0.8
    final_modes: tuple[str, ...] = ("bilinear", "area", "bicubic")

    def plan(self, rng: np.random.Generator, n: int, height: int, width: int, fps: float) -> Plan:
        """Draw every parameter for one clip of n frames of height x width at fps."""
        d = self.drift
        target = (height // self.scale, width // self.scale)
        codec_fps = 1.0 if self.bitrate_per_frame else fps

        def codec() -> VideoCompression:
            return VideoCompression.sample(
                rng, self.codec, fps=codec_fps, wraparound=self.codec_wraparound, exact=self.codec_exact
            )

        ops: list[Op] = [Blur.sample(rng, n, self.blur1, drift=d, beta_redraw=self.beta_redraw)]
        resize1 = Resize.sample(rng, n, height, width, self.resize1, drift=d)
        ops += [
            resize1,
            sample_noise(rng, n, self.noise1, drift=d, clip=self.noise_clip),
            JPEG.sample(rng, n, self.jpeg, drift=d, swap_channels=self.jpeg_swap_channels),
            codec(),  # re-encodes every frame at frame 0's size, so the size below is uniform
            _gate(
                rng,
                self.blur2_prob,
                "blur2",
                lambda: Blur.sample(rng, n, self.blur2, drift=d, beta_redraw=self.beta_redraw),
            ),
            Resize.sample(rng, n, *resize1.sizes[0], self.resize2, drift=d),
            sample_noise(rng, n, self.noise2, drift=d, clip=self.noise_clip),
            JPEG.sample(rng, n, self.jpeg, drift=d, swap_channels=self.jpeg_swap_channels),
        ]
        final_resize, sinc = _resize_and_sinc(rng, n, target, self.final_modes, self.final_sinc_prob, drift=d)
        final_codec = codec()
        group: list[Op] = (
            [final_codec, final_resize, sinc] if rng.random() < 0.5 else [final_resize, sinc, final_codec]
        )
        ops += group + [Quantize()]
        gt_ops = (UnsharpMask(),) if self.usm_gt else ()
        return Plan(gt_ops, tuple(ops), target)


@dataclass(frozen=True)
class RealESRGAN:
    """Real-ESRGAN's second-order image pipeline (BasicSR), applied with one draw for the whole clip.

    JPEG uses libjpeg at an integer quality instead of Real-ESRGAN's DiffJPEG (float quality; not
    bit-exact with libjpeg, see the reference notes). Noise is clipped to [0, 1] as upstream. The second
    resize is relative to the final LQ size, as upstream.
    """

    scale: int = 4
    usm_gt: bool = True
    blur1: BlurConfig = BlurConfig()
    resize1: ResizeConfig = ResizeConfig(even=False)
    noise1: NoiseConfig = NoiseConfig()
    jpeg: JPEGConfig = JPEGConfig()
    blur2_prob: float = 0.8
    blur2: BlurConfig = BlurConfig(sigma=(0.2, 1.5))
    resize2: ResizeConfig = ResizeConfig(probs=(0.3, 0.4, 0.3), scale=(0.3, 1.2), even=False)
    noise2: NoiseConfig = NoiseConfig(sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5))
    final_sinc_prob: float = 0.8
    final_modes: tuple[str, ...] = ("area", "bilinear", "bicubic")

    def plan(self, rng: np.random.Generator, n: int, height: int, width: int, fps: float) -> Plan:
        """Draw every parameter for one clip (the same for all frames)."""
        target = (height // self.scale, width // self.scale)

        def jpeg() -> JPEG:
            return JPEG.sample(rng, n, self.jpeg, drift=False, swap_channels=False)

        ops: list[Op] = [
            Blur.sample(rng, n, self.blur1, drift=False, beta_redraw=False),
            Resize.sample(rng, n, height, width, self.resize1, drift=False),
            sample_noise(rng, n, self.noise1, drift=False, clip=True),
            jpeg(),
            _gate(
                rng, self.blur2_prob, "blur2", lambda: Blur.sample(rng, n, self.blur2, drift=False, beta_redraw=False)
            ),
            Resize.sample(rng, n, *target, self.resize2, drift=False),
            sample_noise(rng, n, self.noise2, drift=False, clip=True),
        ]
        final_resize, sinc = _resize_and_sinc(rng, n, target, self.final_modes, self.final_sinc_prob, drift=False)
        final_jpeg = jpeg()
        ops += [final_resize, sinc, final_jpeg] if rng.random() < 0.5 else [final_jpeg, final_resize, sinc]
        ops.append(Quantize())
        return Plan((UnsharpMask(),) if self.usm_gt else (), tuple(ops), target)


@dataclass(frozen=True)
class Bicubic:
    """BI: MATLAB-compatible bicubic downscaling with antialiasing (output size ceil(H / scale))."""

    scale: int = 4

    def plan(self, rng: np.random.Generator, n: int, height: int, width: int, fps: float) -> Plan:
        size = (-(-height // self.scale), -(-width // self.scale))
        return Plan((), (Resize("matlab_bicubic", (size,)), Quantize()), size)


@dataclass(frozen=True)
class BlurDown:
    """BD: Gaussian blur (13 x 13, sigma 1.6, replicated border) then keep every `scale`-th pixel."""

    scale: int = 4
    sigma: float = 1.6
    kernel_size: int = 13
    offset: int = 0

    def plan(self, rng: np.random.Generator, n: int, height: int, width: int, fps: float) -> Plan:
        kernel = KernelSpec("iso", self.kernel_size, self.sigma, self.sigma)
        size = (-(-(height - self.offset) // self.scale), -(-(width - self.offset) // self.scale))
        return Plan((), (Blur((kernel,), border="replicate"), Subsample(self.scale, self.offset), Quantize()), size)
