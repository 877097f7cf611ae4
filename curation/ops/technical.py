"""Quality scores that need no weights: sharpness, blockiness, bits per pixel, fake-upscale ratio, motion.

Frames are uint8 RGB (H, W, C) numpy arrays (a few per segment). All scores are plain floats.
"""

from __future__ import annotations

import numpy as np


def _gray(frame: np.ndarray) -> np.ndarray:
    f = frame.astype(np.float32)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def sharpness(frame: np.ndarray, width: int = 512) -> float:
    """Variance of the Laplacian of the luma, at `width` px (comparable across resolutions)."""
    import cv2

    g = _gray(frame)
    if g.shape[1] > width:
        g = cv2.resize(g, (width, round(g.shape[0] * width / g.shape[1])), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(g, cv2.CV_32F).var())


def blockiness(frame: np.ndarray, block: int = 8) -> float:
    """Ratio of luma jumps across 8-px block borders to jumps inside blocks (1 = no blocking; > 1 = blocky)."""
    g = _gray(frame)
    dx = np.abs(np.diff(g, axis=1))
    dy = np.abs(np.diff(g, axis=0))
    at_x = dx[:, block - 1 :: block].mean() if dx.shape[1] >= block else 0.0
    at_y = dy[block - 1 :: block, :].mean() if dy.shape[0] >= block else 0.0
    mask_x = np.ones(dx.shape[1], bool)
    mask_x[block - 1 :: block] = False
    mask_y = np.ones(dy.shape[0], bool)
    mask_y[block - 1 :: block] = False
    inside = (dx[:, mask_x].mean() + dy[mask_y, :].mean()) / 2
    return float((at_x + at_y) / 2 / max(inside, 1e-6))


def bits_per_pixel(bit_rate: int | None, width: int, height: int, fps: float) -> float | None:
    """Stream bits per pixel per frame from the container bit rate (None when unknown)."""
    if not bit_rate or not width or not height or not fps:
        return None
    return float(bit_rate / (width * height * fps))


def hf_ratio(frame: np.ndarray, size: int = 512) -> float:
    """Fake-upscale heuristic: luma spectral energy in the top octave (0.25-0.5 cycles/px) over the octave
    below it, on a centred `size` crop. Footage upscaled by x2 or more has lost its top octave, so the ratio
    drops 2.5-8x against the same footage at native resolution (measured on the sample photos); absolute
    values depend on content (0.1-1 for native photos here), so use it as a coarse floor (e.g. 0.05).
    """
    g = _gray(frame)
    h, w = g.shape
    s = min(size, h, w)
    y, x = (h - s) // 2, (w - s) // 2
    g = g[y : y + s, x : x + s]
    g = (g - g.mean()) * np.outer(np.hanning(s), np.hanning(s))
    power = np.abs(np.fft.fft2(g)) ** 2
    f = np.fft.fftfreq(s)
    r = np.hypot(*np.meshgrid(f, f))
    top = power[(r > 0.25) & (r <= 0.5)].sum()
    below = power[(r > 0.125) & (r <= 0.25)].sum()
    return float(top / max(below, 1e-9))


def motion_dis(pairs: list[tuple[np.ndarray, np.ndarray]], width: int = 256) -> float:
    """Mean optical-flow magnitude (pixels per frame at `width` px) over frame pairs, OpenCV DIS flow."""
    import cv2

    if not pairs:
        return 0.0
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    mags = []
    for a, b in pairs:
        ga, gb = _gray(a), _gray(b)
        h = round(ga.shape[0] * width / ga.shape[1])
        ga = cv2.resize(ga, (width, h), interpolation=cv2.INTER_AREA).astype(np.uint8)
        gb = cv2.resize(gb, (width, h), interpolation=cv2.INTER_AREA).astype(np.uint8)
        flow = dis.calc(ga, gb, None)
        mags.append(float(np.linalg.norm(flow, axis=2).mean()))
    return float(np.mean(mags))


def dhash(frame: np.ndarray, size: int = 8) -> int:
    """64-bit difference hash of the luma (perceptual: robust to scaling and mild compression)."""
    import cv2

    g = cv2.resize(_gray(frame), (size + 1, size), interpolation=cv2.INTER_AREA)
    bits = (g[:, 1:] > g[:, :-1]).ravel()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return int(bin(a ^ b).count("1"))
