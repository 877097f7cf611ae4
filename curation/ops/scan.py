"""One decode of a video for the analyse stage: decode check, shots and the scores of the sampled frames.

Every frame is decoded once (by the toolkit's decoder, which fails with a MediaError naming the file on damaged
data) and handed to PySceneDetect's detectors through a `VideoStreamAv` whose `read()` serves those frames, so the
shots are what `detect_shots` finds. The frames a segment samples are scored as they pass: the segments are
windows of fixed length from each shot's trimmed start, so where the samples fall is known from the start of the
current shot, which the detectors report a few frames late. A sample the final shots need that was not scored on
the way (the shorter last window of a shot, a cut reported late, a file's last frame) is returned as missing, for
the caller to read by random access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curation.ops.frame_scores import FRAME_SCORES, frame_scores, pair_motion
from curation.ops.segments import SegmentConfig, sample_indices, split_shot
from curation.ops.shots import ShotConfig, shot_manager, shots_found


@dataclass
class Scan:
    """What one pass over a video found: shots [(start, end)], per-frame scores and per-pair motion (frame i with
    i + 1) of the frames scored, and the sampled frames whose scores are still missing (`missing_frames`: scores
    of the frame; `missing_pairs`: motion of the pair starting there)."""

    shots: list[tuple[int, int]]
    frames: dict[int, dict[str, float]] = field(default_factory=dict)
    motion: dict[int, float] = field(default_factory=dict)
    missing_frames: list[int] = field(default_factory=list)
    missing_pairs: list[int] = field(default_factory=list)


def windows(shots: list[tuple[int, int]], fps: float, cfg: SegmentConfig, n: int) -> list[tuple[int, int, int, list]]:
    """(shot index, start, end, sampled frames) of every segment window; a sample's pair is min(i + 1, n - 1)."""
    return [
        (k, start, end, sample_indices(start, end, cfg.samples))
        for k, (s0, s1) in enumerate(shots)
        for start, end in split_shot(s0, s1, fps, cfg)
    ]


class _Sampler:
    """Scores frames as they are decoded, where a window of the current shot would sample them (not in a window
    that cannot reach the minimum segment length before the video ends)."""

    def __init__(self, fps: float, cfg: SegmentConfig, n: int, names: tuple[str, ...]) -> None:
        self.win = max(1, round(cfg.window_s * fps))
        self.trim = cfg.edge_trim_frames
        self.last_start = n - cfg.edge_trim_frames - max(1, round(cfg.min_segment_s * fps))
        self.names = names
        self.offsets = set(sample_indices(0, self.win, cfg.samples))
        self.shot_start = 0
        self.frames: dict[int, dict[str, float]] = {}
        self.motion: dict[int, float] = {}
        self._held: tuple[int, np.ndarray] | None = None  # a scored frame waiting for its successor

    def cut(self, frame: int) -> None:
        """A shot starts at `frame` (reported by the detectors, in order)."""
        self.shot_start = max(self.shot_start, frame)

    def __call__(self, index: int, frame: Any) -> None:
        from vsrcore.video.decode import to_rgb

        a = self.shot_start + self.trim
        window_start = index - (index - a) % self.win
        sampled = index >= a and window_start <= self.last_start and (index - a) % self.win in self.offsets
        held = self._held
        if not sampled and (held is None or held[0] != index - 1):
            self._held = None
            return
        rgb = to_rgb(frame)
        if held is not None and held[0] == index - 1:
            self.motion[held[0]] = pair_motion(held[1], rgb)
        self._held = None
        if sampled:
            self.frames[index] = frame_scores(rgb, self.names)
            self._held = (index, rgb)


def scan_video(
    path: str | Path,
    shots_cfg: ShotConfig,
    seg_cfg: SegmentConfig,
    fps: float,
    n: int,
    names: tuple[str, ...] = FRAME_SCORES,
) -> Scan:
    """Decode `path` once (n counted frames at `fps`): its shots, and the scores `names` of the frames its
    segments sample (see the module docstring). Raises MediaError naming the file when a frame does not decode."""
    from scenedetect.backends.pyav import VideoStreamAv

    from vsrcore.video.decode import iter_decoded

    sampler = _Sampler(fps, seg_cfg, n, names)

    class _Stream(VideoStreamAv):
        """PySceneDetect's PyAV stream, fed by the toolkit's decoder (one decode, threads, errors that name
        the file); PySceneDetect reads positions from the current frame it keeps."""

        def __init__(self) -> None:
            super().__init__(str(path))
            self._ours = iter(iter_decoded(path))
            self._index = -1

        def read(self, decode: bool = True) -> np.ndarray | bool:
            frame = next(self._ours, None)
            if frame is None:
                return False
            self._frame = frame
            self._index += 1
            sampler(self._index, frame)
            return frame.to_ndarray(format="bgr24") if decode else True

    manager = shot_manager(shots_cfg)
    manager.detect_scenes(_Stream(), callback=lambda _frame, position: sampler.cut(position.frame_num))
    shots = [(a, min(b, n)) for a, b in shots_found(manager, n) if a < n]
    scan = Scan(shots, sampler.frames, sampler.motion)
    for _shot, _start, _end, idx in windows(shots, fps, seg_cfg, n):
        scan.missing_frames += [i for i in idx if i not in scan.frames]
        scan.missing_pairs += [i for i in idx if i not in scan.motion]
    return scan
