"""Fixed-length windows inside shots, evenly spaced sample frames, and merging of kept segments."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SegmentConfig:
    window_s: float = 8.0  # segment length
    min_segment_s: float = 2.0  # a shorter tail of a shot is dropped
    samples: int = 4  # frames sampled per segment for scoring
    edge_trim_frames: int = 2  # frames skipped at each shot edge (transition blur)


def split_shot(start: int, end: int, fps: float, cfg: SegmentConfig) -> list[tuple[int, int]]:
    """Windows of round(window_s * fps) frames inside [start, end), after trimming the shot edges."""
    a, b = start + cfg.edge_trim_frames, end - cfg.edge_trim_frames
    win = max(1, round(cfg.window_s * fps))
    min_len = max(1, round(cfg.min_segment_s * fps))
    spans = []
    while b - a >= min_len:
        spans.append((a, min(a + win, b)))
        a += win
    return spans


def sample_indices(start: int, end: int, n: int) -> list[int]:
    """n frame indices spread evenly over [start, end) (centres of n equal parts)."""
    length = end - start
    if length <= 0:
        return []
    n = min(n, length)
    return [start + int((i + 0.5) * length / n) for i in range(n)]


@dataclass(frozen=True)
class MergeConfig:
    min_frames: int = 48
    max_frames: int = 1800


def merge_segments(segments: list[tuple[int, int, int, bool]], cfg: MergeConfig) -> list[tuple[int, int, int]]:
    """Merge consecutive kept segments of the same shot into clips.

    segments: (shot index, start, end, kept), in time order. Returns (shot, start, end) clips of at least
    `min_frames`, each split into pieces of `min_frames` to `max_frames` frames (a tail that cannot make such a
    piece is dropped).
    """
    clips: list[tuple[int, int, int]] = []
    run: list[int] | None = None  # [shot, start, end]
    for shot, start, end, kept in segments:
        if kept and run is not None and run[0] == shot and run[2] == start:
            run[2] = end
            continue
        if run is not None:
            clips.append((run[0], run[1], run[2]))
        run = [shot, start, end] if kept else None
    if run is not None:
        clips.append((run[0], run[1], run[2]))
    out = []
    for shot, start, end in clips:
        while end - start >= cfg.min_frames:
            piece = min(end, start + cfg.max_frames)
            if end - piece < cfg.min_frames and piece < end:
                if end - start <= cfg.max_frames:
                    piece = end
                elif (end - start) // 2 >= cfg.min_frames:  # two halves of at least min_frames each
                    piece = start + (end - start) // 2
            out.append((shot, start, piece))
            start = piece
    return out
