"""Tensor conventions, stated once, and the conversions at their boundaries.

- On disk and in I/O: `uint8`, shape (T, H, W, C), RGB (numpy).
- In models and metrics: `float32` in [0, 1], shape (T, C, H, W) per clip, (B, T, C, H, W) batched (torch).
- Colour: RGB unless a function says otherwise; YCbCr is ITU-R BT.601 "studio swing" as in MATLAB's
  `rgb2ycbcr` (Y in [16, 235]/255), the convention of every published VSR PSNR-Y/SSIM-Y table.

These helpers work on numpy arrays and torch tensors alike (torch is never imported here); the channel
axis is given explicitly: -1 for (..., H, W, C), -3 for (..., C, H, W).
"""

from __future__ import annotations

from typing import Any

import numpy as np


# BT.601 studio swing, inputs in [0, 1] (MATLAB rgb2ycbcr / BasicSR `rgb2ycbcr(y_only)`).
_YCBCR_MATRIX = (
    np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]], dtype=np.float64)
    / 255.0
)
_YCBCR_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0
_RGB_MATRIX = np.linalg.inv(_YCBCR_MATRIX)


def is_torch(x: Any) -> bool:
    """True for a torch.Tensor, decided without importing torch."""
    return type(x).__module__.startswith("torch")


def uint8_to_float(frames: Any) -> Any:
    """uint8 (T, H, W, C) numpy -> float32 [0, 1] (T, C, H, W) torch tensor."""
    import torch

    arr = np.asarray(frames)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"expected uint8 (T, H, W, 3), got {arr.dtype} {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float().div_(255.0)


def float_to_uint8(frames: Any, rounding: str = "round") -> np.ndarray:
    """float [0, 1] (T, C, H, W) torch tensor -> uint8 (T, H, W, C) numpy, clamped; `rounding` "round" (nearest
    level) or "truncate" (towards zero, what the FlashVSR release does: half a level darker on average)."""
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"expected (T, 3, H, W), got {tuple(frames.shape)}")
    if rounding not in ("round", "truncate"):
        raise ValueError(f"rounding must be 'round' or 'truncate', got {rounding!r}")
    out = frames.detach().float().clamp(0, 1).mul(255.0)
    out = (out.round() if rounding == "round" else out.floor()).to("cpu")
    return out.permute(0, 2, 3, 1).contiguous().numpy().astype(np.uint8)


def _apply(x: Any, matrix: np.ndarray, offset: np.ndarray | None, channel_axis: int, pre_offset: bool) -> Any:
    if x.shape[channel_axis] != 3:
        raise ValueError(f"expected 3 channels on axis {channel_axis}, got shape {tuple(x.shape)}")
    if is_torch(x):
        import torch

        dtype = x.dtype if x.is_floating_point() else torch.float32
        m = torch.as_tensor(matrix, dtype=dtype, device=x.device)
        o = torch.as_tensor(offset, dtype=dtype, device=x.device) if offset is not None else None
        xm = torch.movedim(x.to(dtype), channel_axis, -1)
        if pre_offset and o is not None:
            xm = xm - o
        y = xm @ m.T
        if not pre_offset and o is not None:
            y = y + o
        return torch.movedim(y, -1, channel_axis)
    arr = np.asarray(x)
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32
    xm = np.moveaxis(arr.astype(dtype, copy=False), channel_axis, -1)
    if pre_offset and offset is not None:
        xm = xm - offset.astype(dtype)
    y = xm @ matrix.T.astype(dtype)
    if not pre_offset and offset is not None:
        y = y + offset.astype(dtype)
    return np.moveaxis(y, -1, channel_axis)


def rgb_to_ycbcr(x: Any, channel_axis: int = -3) -> Any:
    """RGB in [0, 1] -> BT.601 studio-swing YCbCr in [0, 1] (Y in [16/255, 235/255])."""
    return _apply(x, _YCBCR_MATRIX, _YCBCR_OFFSET, channel_axis, pre_offset=False)


def ycbcr_to_rgb(x: Any, channel_axis: int = -3) -> Any:
    """Inverse of `rgb_to_ycbcr` (not clamped)."""
    return _apply(x, _RGB_MATRIX, _YCBCR_OFFSET, channel_axis, pre_offset=True)


def rgb_to_y(x: Any, channel_axis: int = -3) -> Any:
    """BT.601 luma Y in [0, 1] with the channel axis kept (size 1), as PSNR-Y/SSIM-Y use it."""
    return _apply(x, _YCBCR_MATRIX[:1], _YCBCR_OFFSET[:1], channel_axis, pre_offset=False)
