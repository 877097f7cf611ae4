"""Weight-free scores of single frames and frame pairs, and their means over a segment's sampled frames.

A segment's score is the mean of per-frame values (sharpness, blockiness, hf_ratio, NIQE) and of per-pair motion
over its sampled frames, so frames can be scored one at a time as a decoder passes them and averaged later.
"""

from __future__ import annotations

import numpy as np


FRAME_SCORES = ("sharpness", "blockiness", "hf_ratio", "niqe")


def frame_scores(frame: np.ndarray, names: tuple[str, ...] = FRAME_SCORES) -> dict[str, float]:
    """The scores `names` (of FRAME_SCORES) of one uint8 RGB frame (H, W, C); NIQE only where the frame holds two
    96x96 blocks or more."""
    from curation.ops import technical as T
    from vsrcore.quality.niqe import niqe_rgb

    unknown = set(names) - set(FRAME_SCORES)
    if unknown:
        raise ValueError(f"unknown frame score {sorted(unknown)[0]!r} (one of {', '.join(FRAME_SCORES)})")
    measures = {"sharpness": T.sharpness, "blockiness": T.blockiness, "hf_ratio": T.hf_ratio}
    scores = {k: measures[k](frame) for k in FRAME_SCORES[:3] if k in names}
    if "niqe" in names and (frame.shape[0] // 96) * (frame.shape[1] // 96) >= 2:
        scores["niqe"] = niqe_rgb(frame)
    return scores


def pair_motion(frame: np.ndarray, following: np.ndarray) -> float:
    """Optical-flow motion between a frame and its successor (both uint8 RGB (H, W, C))."""
    from curation.ops.technical import motion_dis

    return motion_dis([(frame, following)])


def mean_scores(per_frame: list[dict[str, float]], motions: list[float] | None) -> dict[str, float]:
    """A segment's scores: the mean of each per-frame score over its samples, and of the pairs' motion."""
    scores = {k: float(np.mean([s[k] for s in per_frame])) for k in FRAME_SCORES if k in per_frame[0]}
    if motions is not None:
        scores["motion"] = float(np.mean(motions)) if motions else 0.0
    return scores


def technical_scores(
    frames: np.ndarray, next_frames: np.ndarray | None, names: tuple[str, ...] = FRAME_SCORES
) -> dict[str, float]:
    """Weight-free scores `names` of sampled frames (N, H, W, C), and their motion to `next_frames` when given."""
    motions = None if next_frames is None else [pair_motion(a, b) for a, b in zip(frames, next_frames, strict=True)]
    return mean_scores([frame_scores(f, names) for f in frames], motions)
