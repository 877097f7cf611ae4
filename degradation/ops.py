"""Degradation operators: frozen parameter records, samplers, and the numpy reference `apply`.

Each operator is a frozen dataclass whose fields are exactly what was applied (per-frame values are
tuples of length T; a 1-tuple means "the same for every frame"). `sample(rng, ...)` draws one from a
config of ranges; `apply(frames)` is pure. Frames here are float32 (T, H, W, C) RGB, nominally in [0, 1]
(intermediate values may leave that range, as in the upstream pipelines). The torch path in
`degradation.torch_ops` applies the same records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from degradation.kernels import KernelSpec
from vsrcore.resample import resize_frames


def walk(rng: np.random.Generator, start: float, step: float, lo: float, hi: float, n: int) -> tuple[float, ...]:
    """Per-frame random walk x[t+1] = clip(x[t] + U[-step, step], lo, hi), starting at `start` (n values)."""
    values = [float(start)]
    for _ in range(n - 1):
        values.append(float(np.clip(values[-1] + rng.uniform(-step, step), lo, hi)))
    return tuple(values)


def per_frame(values: tuple[Any, ...], t: int) -> Any:
    """Value for frame t of a per-frame tuple (a 1-tuple applies to every frame)."""
    return values[0] if len(values) == 1 else values[t]


def stack_if_uniform(frames: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """A (T, H, W, C) array when every frame has the same size, else the list (per-frame resize drift)."""
    return np.stack(frames) if len({f.shape for f in frames}) == 1 else frames


class Op:
    """Base: JSON-serialisable record of an applied operator."""

    name: ClassVar[str]

    def to_record(self) -> dict[str, Any]:
        return {"op": self.name, **asdict(self)}

    def apply(self, frames: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


# ---------------------------------------------------------------- blur


@dataclass(frozen=True)
class BlurConfig:
    """Ranges of a RandomBlur step (RealBasicVSR / Real-ESRGAN defaults for stage 1)."""

    kernel_types: tuple[str, ...] = (
        "iso",
        "aniso",
        "generalized_iso",
        "generalized_aniso",
        "plateau_iso",
        "plateau_aniso",
        "sinc",
    )
    kernel_probs: tuple[float, ...] = (0.405, 0.225, 0.108, 0.027, 0.108, 0.027, 0.1)
    sizes: tuple[int, ...] = (7, 9, 11, 13, 15, 17, 19, 21)
    sigma: tuple[float, float] = (0.2, 3.0)
    beta_gaussian: tuple[float, float] = (0.5, 4.0)
    beta_plateau: tuple[float, float] = (1.0, 2.0)
    omega: tuple[float, float] | None = None  # None: U[pi/3, pi] for k < 13, else U[pi/5, pi]
    sigma_step: float = 0.02
    theta_step: float = 0.31416
    beta_gaussian_step: float = 0.05
    beta_plateau_step: float = 0.1
    omega_step: float = 0.0628


def _draw_beta(rng: np.random.Generator, lo: float, hi: float) -> float:
    # Real-ESRGAN: half the draws in [lo, 1], half in [1, hi].
    return float(rng.uniform(lo, 1) if rng.random() < 0.5 else rng.uniform(1, hi))


@dataclass(frozen=True)
class Blur(Op):
    """Convolution with one kernel per frame (cv2.filter2D, reflect-101 border)."""

    name: ClassVar[str] = "blur"
    kernels: tuple[KernelSpec, ...]
    border: str = "reflect101"  # or "replicate" (MATLAB imfilter 'replicate', used by the BD degradation)

    @staticmethod
    def sample(rng: np.random.Generator, n_frames: int, cfg: BlurConfig, *, drift: bool, beta_redraw: bool) -> Blur:
        """Kernel family and size per clip; shape parameters fixed, or drifting per frame if `drift`.

        `beta_redraw` reproduces RealBasicVSR: the kernel builder re-draws beta in [beta, 1] on every frame.
        """
        ktype = str(rng.choice(cfg.kernel_types, p=np.asarray(cfg.kernel_probs) / sum(cfg.kernel_probs)))
        size = int(rng.choice(cfg.sizes))
        n = n_frames if drift else 1
        pi = np.pi
        if ktype == "sinc":
            lo, hi = cfg.omega if cfg.omega is not None else ((pi / 3, pi) if size < 13 else (pi / 5, pi))
            omegas = walk(rng, rng.uniform(lo, hi), cfg.omega_step if drift else 0, lo, hi, n)
            return Blur(tuple(KernelSpec("sinc", size, omega=o) for o in omegas))
        sx = walk(rng, rng.uniform(*cfg.sigma), cfg.sigma_step if drift else 0, *cfg.sigma, n)
        iso = ktype in ("iso", "generalized_iso", "plateau_iso")
        sy = sx if iso else walk(rng, rng.uniform(*cfg.sigma), cfg.sigma_step if drift else 0, *cfg.sigma, n)
        th = (0.0,) * n if iso else walk(rng, rng.uniform(-pi, pi), cfg.theta_step if drift else 0, -pi, pi, n)
        if ktype.startswith("generalized"):
            rng_b, step = cfg.beta_gaussian, cfg.beta_gaussian_step
        elif ktype.startswith("plateau"):
            rng_b, step = cfg.beta_plateau, cfg.beta_plateau_step
        else:
            rng_b, step = (1.0, 1.0), 0.0
        betas = walk(rng, _draw_beta(rng, *rng_b) if step else 1.0, step if drift else 0, *rng_b, n)
        if beta_redraw and step:
            if n == 1 and n_frames > 1:
                betas = betas * n_frames
            betas = tuple(float(rng.uniform(min(b, 1.0), max(b, 1.0))) for b in betas)
        m = max(len(sx), len(betas))
        return Blur(
            tuple(
                KernelSpec(ktype, size, per_frame(sx, t), per_frame(sy, t), per_frame(th, t), per_frame(betas, t))
                for t in range(m)
            )
        )

    def apply(self, frames: np.ndarray) -> np.ndarray:
        import cv2

        built: dict[KernelSpec, np.ndarray] = {}
        out = []
        for t, frame in enumerate(frames):
            spec = per_frame(self.kernels, t)
            if spec not in built:
                built[spec] = spec.build().astype(np.float32)
            border = cv2.BORDER_REPLICATE if self.border == "replicate" else cv2.BORDER_REFLECT_101
            blurred = cv2.filter2D(frame, -1, built[spec], borderType=border)
            out.append(blurred.reshape(frame.shape))
        return stack_if_uniform(out)


# ---------------------------------------------------------------- resize


@dataclass(frozen=True)
class ResizeConfig:
    """Ranges of a RandomResize step (relative to the current frame size)."""

    probs: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    scale: tuple[float, float] = (0.15, 1.5)
    modes: tuple[str, ...] = ("bilinear", "area", "bicubic")
    scale_step: float = 0.015
    even: bool = True


def _size(h: int, w: int, s: float, even: bool) -> tuple[int, int]:
    nh, nw = int(h * s), int(w * s)
    if even:
        nh, nw = 2 * (nh // 2), 2 * (nw // 2)
    return max(nh, 2), max(nw, 2)


@dataclass(frozen=True)
class Resize(Op):
    """Resample every frame to its (height, width) with one interpolation mode (see degradation.resize)."""

    name: ClassVar[str] = "resize"
    mode: str
    sizes: tuple[tuple[int, int], ...]

    @staticmethod
    def sample(
        rng: np.random.Generator, n_frames: int, height: int, width: int, cfg: ResizeConfig, *, drift: bool
    ) -> Resize:
        """Up/down/keep and mode per clip; the scale fixed, or drifting per frame if `drift`."""
        kind = int(rng.choice(3, p=np.asarray(cfg.probs) / sum(cfg.probs)))
        lo, hi = cfg.scale
        start = rng.uniform(1, hi) if kind == 0 else rng.uniform(lo, 1) if kind == 1 else 1.0
        mode = str(rng.choice(cfg.modes))
        scales = walk(rng, start, cfg.scale_step if drift and kind != 2 else 0, lo, hi, n_frames if drift else 1)
        return Resize(mode, tuple(_size(height, width, s, cfg.even) for s in scales))

    def apply(self, frames: np.ndarray) -> np.ndarray:
        if len(set(self.sizes)) == 1 and isinstance(frames, np.ndarray):
            return resize_frames(frames, *self.sizes[0], self.mode)
        return stack_if_uniform(
            [resize_frames(f[None], *per_frame(self.sizes, t), self.mode)[0] for t, f in enumerate(frames)]
        )


# ---------------------------------------------------------------- noise


@dataclass(frozen=True)
class NoiseConfig:
    """Ranges of a RandomNoise step."""

    gaussian_prob: float = 0.5
    sigma: tuple[float, float] = (1.0, 30.0)  # in 0-255 units
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    gray_prob: float = 0.4
    sigma_step: float = 0.1
    scale_step: float = 0.005


@dataclass(frozen=True)
class GaussianNoise(Op):
    """Additive Gaussian noise, sigma in 0-255 units per frame; gray noise is one field for all channels."""

    name: ClassVar[str] = "gaussian_noise"
    sigmas: tuple[float, ...]
    gray: bool
    seed: int
    clip: bool = False  # RealBasicVSR leaves values outside [0, 1]; Real-ESRGAN clips

    def noise(self, shapes: list[tuple[int, int, int]]) -> list[np.ndarray]:
        """The noise fields (H, W, C) this record adds, frame by frame (float32, drawn in frame order)."""
        g = np.random.default_rng(self.seed)
        out = []
        for t, (h, w, c) in enumerate(shapes):
            field_ = g.standard_normal((h, w, 1 if self.gray else c), dtype=np.float32)
            out.append(np.broadcast_to(field_ * np.float32(per_frame(self.sigmas, t) / 255.0), (h, w, c)))
        return out

    def apply(self, frames: np.ndarray) -> np.ndarray:
        noisy = [f + n for f, n in zip(frames, self.noise([f.shape for f in frames]), strict=True)]
        return stack_if_uniform([np.clip(f, 0, 1) if self.clip else f for f in noisy])


def poisson_levels(frame: np.ndarray) -> float:
    """2^ceil(log2(number of distinct 8-bit values)): the photon-count scale of Real-ESRGAN's Poisson noise."""
    unique = len(np.unique(np.clip(np.round(frame * 255), 0, 255)))
    return float(2 ** np.ceil(np.log2(max(unique, 2))))


def rgb_to_gray(frames: np.ndarray) -> np.ndarray:
    """(..., 3) RGB -> (..., 1) luma with OpenCV's RGB2GRAY weights."""
    # elementwise, not a matrix product: BLAS results depend on memory layout, and Poisson draws are
    # discontinuous in their rate, so the gray image must be bit-identical whatever the array strides
    r, g, b = frames[..., 0], frames[..., 1], frames[..., 2]
    return (np.float32(0.299) * r + np.float32(0.587) * g + np.float32(0.114) * b)[..., None]


@dataclass(frozen=True)
class PoissonNoise(Op):
    """Shot noise: (Poisson(x * v) / v - x) * scale, v from the frame's count of distinct 8-bit values."""

    name: ClassVar[str] = "poisson_noise"
    scales: tuple[float, ...]
    gray: bool
    seed: int
    clip: bool = False

    def noise(self, frames: np.ndarray | list[np.ndarray]) -> list[np.ndarray]:
        """The noise fields (H, W, C or 1) this record adds to `frames`, frame by frame."""
        g = np.random.default_rng(self.seed)
        out = []
        for t, frame in enumerate(frames):
            src = np.clip(rgb_to_gray(frame) if self.gray else frame, 0, 1)
            v = poisson_levels(src)
            out.append(
                (g.poisson(src * v).astype(np.float32) / np.float32(v) - src) * np.float32(per_frame(self.scales, t))
            )
        return out

    def apply(self, frames: np.ndarray) -> np.ndarray:
        noisy = [f + n for f, n in zip(frames, self.noise(frames), strict=True)]
        return stack_if_uniform([np.clip(f, 0, 1) if self.clip else f for f in noisy])


def sample_noise(rng: np.random.Generator, n_frames: int, cfg: NoiseConfig, *, drift: bool, clip: bool = False) -> Op:
    """Gaussian or Poisson (per clip), gray or colour (per clip), strength fixed or drifting."""
    n = n_frames if drift else 1
    gray = bool(rng.random() < cfg.gray_prob)
    if rng.random() < cfg.gaussian_prob:
        sig = walk(rng, rng.uniform(*cfg.sigma), cfg.sigma_step if drift else 0, *cfg.sigma, n)
        return GaussianNoise(sig, gray, int(rng.integers(2**63)), clip)
    sc = walk(rng, rng.uniform(*cfg.poisson_scale), cfg.scale_step if drift else 0, *cfg.poisson_scale, n)
    return PoissonNoise(sc, gray, int(rng.integers(2**63)), clip)


# ---------------------------------------------------------------- codecs (CPU in both paths)


def to_uint8(frames: np.ndarray, *, wraparound: bool = False) -> np.ndarray:
    """float [0, 1] -> uint8. Default clip+round; `wraparound` reproduces numpy's cast of out-of-range values."""
    if wraparound:
        return (255 * frames).astype(np.int64).astype(np.uint8)
    return np.clip(np.round(frames * 255), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class JPEGConfig:
    quality: tuple[int, int] = (30, 95)
    quality_step: float = 3.0


@dataclass(frozen=True)
class JPEG(Op):
    """libjpeg (OpenCV) compression per frame at an integer quality.

    `swap_channels` reproduces RealBasicVSR, which hands RGB arrays to cv2 (which assumes BGR), so the
    luma weights of R and B are exchanged.
    """

    name: ClassVar[str] = "jpeg"
    qualities: tuple[int, ...]
    swap_channels: bool = True

    @staticmethod
    def sample(rng: np.random.Generator, n_frames: int, cfg: JPEGConfig, *, drift: bool, swap_channels: bool) -> JPEG:
        lo, hi = cfg.quality
        q = walk(rng, rng.uniform(lo, hi), cfg.quality_step if drift else 0, lo, hi, n_frames if drift else 1)
        return JPEG(tuple(int(round(v)) for v in q), swap_channels)

    def apply(self, frames: np.ndarray) -> np.ndarray:
        import cv2

        out = []
        for t, f in enumerate(frames):
            frame = to_uint8(f)
            img = np.ascontiguousarray(frame if self.swap_channels else frame[..., ::-1])
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, per_frame(self.qualities, t)])
            if not ok:
                raise RuntimeError("JPEG encoding failed")
            dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).reshape(frame.shape)
            out.append((dec if self.swap_channels else dec[..., ::-1]).astype(np.float32) / np.float32(255))
        return stack_if_uniform(out)


@dataclass(frozen=True)
class VideoCompressionConfig:
    """Codec choices and rate: a bitrate range (RealBasicVSR), or a CRF range when `crf` is set."""

    codecs: tuple[str, ...] = ("libx264", "h264", "mpeg4")
    codec_probs: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)
    bitrate: tuple[int, int] = (10_000, 100_000)
    crf: tuple[int, int] | None = None


@dataclass(frozen=True)
class VideoCompression(Op):
    """Whole-clip encode/decode through PyAV (CPU), at a bitrate or (x264/x265) a CRF.

    `fps` is the rate the stream is declared at: RealBasicVSR uses 1, so its bitrate is really bits per
    frame; set the clip's real fps to make `bitrate` bits per second. `h264` resolves to libx264 in PyAV.
    Frames of different sizes (per-frame resize drift) are rescaled to frame 0's size by the encoder.
    `exact` runs libx264/libx265 without SIMD (`asm=0` / `no-asm`): bit-identical run to run (with SIMD,
    x264's lookahead gave different bytes for the same input in about half of repeated encodes) at ~3.5x
    the encode time.
    """

    name: ClassVar[str] = "video_compression"
    codec: str
    bitrate: int | None
    fps: float = 1.0
    wraparound: bool = False
    exact: bool = True
    crf: int | None = None

    @staticmethod
    def sample(
        rng: np.random.Generator, cfg: VideoCompressionConfig, *, fps: float, wraparound: bool, exact: bool = True
    ) -> VideoCompression:
        codec = str(rng.choice(cfg.codecs, p=np.asarray(cfg.codec_probs) / sum(cfg.codec_probs)))
        if cfg.crf is not None:
            return VideoCompression(
                codec, None, float(fps), wraparound, exact, int(rng.integers(cfg.crf[0], cfg.crf[1] + 1))
            )
        return VideoCompression(codec, int(rng.integers(*cfg.bitrate)), float(fps), wraparound, exact)

    def apply(self, frames: np.ndarray) -> np.ndarray:
        from vsrcore.video.write import encode_decode

        frames_u8 = [to_uint8(f, wraparound=self.wraparound) for f in frames]
        size = frames_u8[0].shape[:2]
        u8 = np.stack([_rescale_u8(f, size) for f in frames_u8])
        options = None
        if self.exact and self.codec in ("libx264", "h264"):
            options = {"x264-params": "asm=0"}
        elif self.codec in ("libx265", "hevc"):
            options = {"x265-params": "log-level=error" + (":no-asm=1" if self.exact else "")}
        out = encode_decode(u8, self.codec, fps=self.fps, bitrate=self.bitrate, crf=self.crf, options=options)
        return out.astype(np.float32) / 255


def _rescale_u8(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if frame.shape[:2] == size:
        return frame
    return to_uint8(resize_frames(frame[None].astype(np.float32) / 255, *size, "bilinear")[0])


# ---------------------------------------------------------------- ground truth sharpening, quantisation


@dataclass(frozen=True)
class UnsharpMask(Op):
    """Real-ESRGAN USM of the ground truth: sharpen by `weight` where |residual| > threshold, soft-masked.

    Gaussian of `kernel_size` with OpenCV's sigma rule (sigma 0 -> 0.3((k-1)/2 - 1) + 0.8 = 8 for k = 51).
    """

    name: ClassVar[str] = "unsharp_mask"
    kernel_size: int = 51
    weight: float = 0.5
    threshold: float = 10.0  # 0-255 units

    def apply(self, frames: np.ndarray) -> np.ndarray:
        import cv2

        k = (self.kernel_size, self.kernel_size)
        out = np.empty_like(frames)
        for t, img in enumerate(frames):  # the ground truth: always uniform in size
            residual = img - cv2.GaussianBlur(img, k, 0).reshape(img.shape)
            mask = (np.abs(residual) * 255 > self.threshold).astype(np.float32)
            soft = cv2.GaussianBlur(mask, k, 0).reshape(img.shape)
            sharp = np.clip(img + self.weight * residual, 0, 1)
            out[t] = soft * sharp + (1 - soft) * img
        return out


@dataclass(frozen=True)
class Quantize(Op):
    """clip(round(255 x), 0, 255) / 255: the LQ frames as they would be stored in 8 bits."""

    name: ClassVar[str] = "quantize"

    def apply(self, frames: np.ndarray) -> np.ndarray:
        return stack_if_uniform([to_uint8(f).astype(np.float32) / 255 for f in frames])


@dataclass(frozen=True)
class Subsample(Op):
    """Keep every `factor`-th pixel from `offset` in both axes (the BD degradation's decimation)."""

    name: ClassVar[str] = "subsample"
    factor: int
    offset: int = 0

    def apply(self, frames: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(frames[:, self.offset :: self.factor, self.offset :: self.factor])


@dataclass(frozen=True)
class Identity(Op):
    """A step whose probability gate said no (recorded so the record shows every decision)."""

    name: ClassVar[str] = "skip"
    step: str = ""

    def apply(self, frames: np.ndarray) -> np.ndarray:
        return frames


OPS: dict[str, type[Op]] = {
    c.name: c
    for c in (
        Blur,
        Resize,
        GaussianNoise,
        PoissonNoise,
        JPEG,
        VideoCompression,
        UnsharpMask,
        Quantize,
        Subsample,
        Identity,
    )
}


def op_from_record(record: dict[str, Any]) -> Op:
    """Rebuild an operator from its JSON record (inverse of `Op.to_record`)."""
    rec = dict(record)
    cls = OPS[rec.pop("op")]
    if cls is Blur:
        rec["kernels"] = tuple(KernelSpec(**k) for k in rec["kernels"])
    for key, value in rec.items():
        if isinstance(value, list):
            rec[key] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return cls(**rec)
