"""`degrade()`: one clip through a preset, returning the LQ clip, the target GT and the full record.

The same (preset, options, seed, clip id) gives bit-identical output on the same platform: every draw
comes from `vsrcore.rng.for_item(seed, clip_id)`, and the record holds every applied value, so
`replay(frames, record)` reproduces the output without any random draw.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import Any

import numpy as np

from degradation import PRESETS
from degradation.ops import Op, op_from_record
from degradation.presets import Plan
from vsrcore.errors import UserFacingError
from vsrcore.rng import for_item


RECORD_VERSION = 1
MIN_LQ_SIDE = 4


class DegradationError(UserFacingError):
    """Input that a preset cannot degrade (too small for the scale, wrong layout)."""


@dataclass
class DegradationResult:
    """lq: uint8 (T, h, w, C); gt: uint8 (T, H, W, C), the target (USM-sharpened if the preset says so)."""

    lq: np.ndarray
    gt: np.ndarray
    record: dict[str, Any]


def check_size(height: int, width: int, scale: int) -> None:
    """DegradationError when the LQ of a height x width frame at `scale` would be under MIN_LQ_SIDE pixels."""
    if height // scale < MIN_LQ_SIDE or width // scale < MIN_LQ_SIDE:
        raise DegradationError(
            f"frames of {width}x{height} are too small for x{scale}: the LQ would be "
            f"{width // scale}x{height // scale} (at least {MIN_LQ_SIDE} px per side needed)"
        )


def check_clip(frames: np.ndarray) -> np.ndarray:
    """Validate uint8 (T, H, W, 3); a gray (T, H, W) or (T, H, W, 1) clip is replicated to RGB."""
    arr = np.asarray(frames)
    if arr.dtype != np.uint8:
        raise DegradationError(f"expected uint8 frames, got {arr.dtype}")
    if arr.ndim == 3 or (arr.ndim == 4 and arr.shape[-1] == 1):
        arr = np.repeat(arr.reshape(*arr.shape[:3], 1), 3, axis=-1)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[0] < 1:
        raise DegradationError(f"expected frames shaped (T, H, W, 3), got {arr.shape}")
    return arr


def _options(preset: Any) -> dict[str, Any]:
    return {f.name: (asdict(v) if is_dataclass(v) else v) for f in fields(preset) for v in [getattr(preset, f.name)]}


def apply_ops(frames: np.ndarray, ops: tuple[Op, ...] | list[Op]) -> np.ndarray:
    """Reference path: apply operator records in order to float32 (T, H, W, C) frames."""
    for op in ops:
        frames = op.apply(frames)
    if not isinstance(frames, np.ndarray):
        raise RuntimeError("a plan must end with frames of one size")
    return frames


def plan_clip(
    shape: tuple[int, int, int], preset: str, *, seed: int, clip_id: str, fps: float, **options: Any
) -> tuple[Plan, dict[str, Any]]:
    """Draw a preset's plan for a clip of shape (T, H, W) and the JSON record describing it."""
    spec = PRESETS.build(preset, **options)
    n, h, w = shape
    check_size(h, w, spec.scale)
    rng = for_item(seed, clip_id, stream=f"degradation/{preset}")
    plan = spec.plan(rng, n, h, w, fps)
    record = {
        "version": RECORD_VERSION,
        "preset": preset,
        "options": _options(spec),
        "seed": seed,
        "clip_id": clip_id,
        "fps": fps,
        "input": {"frames": n, "height": h, "width": w},
        "output": {"frames": n, "height": plan.lq_size[0], "width": plan.lq_size[1]},
        "gt_ops": [op.to_record() for op in plan.gt_ops],
        "ops": [op.to_record() for op in plan.lq_ops],
    }
    return plan, record


def degrade(
    frames: np.ndarray,
    preset: str = "realbasicvsr",
    *,
    seed: int = 0,
    clip_id: str = "clip",
    fps: float = 25.0,
    **options: Any,
) -> DegradationResult:
    """Degrade uint8 (T, H, W, C) frames with a registered preset (reference path, numpy/OpenCV/PyAV).

    `options` override the preset's fields (e.g. scale=2, drift=True). Returns the LQ, the target GT and
    the record.
    """
    frames = check_clip(frames)
    plan, record = plan_clip(frames.shape[:3], preset, seed=seed, clip_id=clip_id, fps=fps, **options)
    gt = apply_ops(frames.astype(np.float32) / 255, plan.gt_ops)
    lq = apply_ops(gt, plan.lq_ops)
    return DegradationResult(_to_u8(lq), _to_u8(gt), record)


def replay(frames: np.ndarray, record: dict[str, Any]) -> DegradationResult:
    """Re-apply a record's operators (no random draws): bit-identical to the call that made it."""
    frames = check_clip(frames)
    gt = apply_ops(frames.astype(np.float32) / 255, [op_from_record(r) for r in record["gt_ops"]])
    lq = apply_ops(gt, [op_from_record(r) for r in record["ops"]])
    return DegradationResult(_to_u8(lq), _to_u8(gt), record)


def _to_u8(frames: np.ndarray) -> np.ndarray:
    return np.clip(np.round(frames * 255), 0, 255).astype(np.uint8)
