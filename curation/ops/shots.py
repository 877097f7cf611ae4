"""Shot boundaries with PySceneDetect, plus a fade check.

A content-change detector (AdaptiveDetector by default, at PySceneDetect's auto-downscale) finds hard
cuts; fades to and from black are a second check (ThresholdDetector on mean brightness), whose cuts are
merged in. Returns half-open frame ranges [start, end).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ShotConfig:
    """Detector choice and thresholds (PySceneDetect units)."""

    detector: str = "adaptive"  # "adaptive" | "content"
    adaptive_threshold: float = 3.0
    content_threshold: float = 27.0
    min_scene_len: int = 15
    window_width: int = 2
    fade_threshold: float | None = 12.0  # mean brightness below this is "black"; None disables the fade check
    downscale: int | None = None  # None: PySceneDetect's auto-downscale to ~256 px width


def detect_shots(path: str | Path, cfg: ShotConfig, frame_count: int | None = None) -> list[tuple[int, int]]:
    """Shots of a video as [(start, end), ...] covering it; one shot when no cut is found."""
    from scenedetect import open_video

    video = open_video(str(path), backend="pyav")
    manager = shot_manager(cfg)
    manager.detect_scenes(video)
    return shots_found(manager, frame_count if frame_count is not None else video.frame_number)


def shot_manager(cfg: ShotConfig) -> Any:
    """A PySceneDetect SceneManager with the detectors and downscaling `cfg` asks for."""
    from scenedetect import AdaptiveDetector, ContentDetector, SceneManager, ThresholdDetector

    manager = SceneManager()
    if cfg.downscale is None:
        manager.auto_downscale = True
    else:
        manager.auto_downscale = False
        manager.downscale = cfg.downscale
    if cfg.detector == "adaptive":
        manager.add_detector(
            AdaptiveDetector(
                adaptive_threshold=cfg.adaptive_threshold,
                min_scene_len=cfg.min_scene_len,
                window_width=cfg.window_width,
            )
        )
    elif cfg.detector == "content":
        manager.add_detector(ContentDetector(threshold=cfg.content_threshold, min_scene_len=cfg.min_scene_len))
    else:
        raise ValueError(f"unknown shot detector '{cfg.detector}' (adaptive or content)")
    if cfg.fade_threshold is not None:
        manager.add_detector(ThresholdDetector(threshold=cfg.fade_threshold, min_scene_len=cfg.min_scene_len))
    return manager


def shots_found(manager: Any, total: int) -> list[tuple[int, int]]:
    """The shots of a SceneManager that has run over a video of `total` frames, covering [0, total)."""
    scenes = manager.get_scene_list()
    if not scenes:
        return [(0, total)] if total else []
    shots = [(s.frame_num, e.frame_num) for s, e in scenes]
    # the detectors may leave a head or tail outside any scene (e.g. black frames of a fade): keep coverage
    if shots[0][0] > 0:
        shots.insert(0, (0, shots[0][0]))
    if total and shots[-1][1] < total:
        shots.append((shots[-1][1], total))
    return [(a, b) for a, b in shots if b > a]
