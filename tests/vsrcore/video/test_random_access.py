from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from vsrcore.deps import is_available
from vsrcore.errors import MediaError
from vsrcore.samples import sample_path
from vsrcore.video.decode import read_frames
from vsrcore.video.random_access import RandomAccessReader
from vsrcore.video.write import write_video


BACKENDS = ["pyav"] + (["decord"] if is_available("decord") else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_access_equals_sequential_decode(tiny_video_file: Path, tiny_video: np.ndarray, backend: str) -> None:
    with RandomAccessReader(backend=backend) as reader:
        np.testing.assert_array_equal(reader.get(tiny_video_file, [15, 0, 7, 7]), tiny_video[[15, 0, 7, 7]])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["city", "bikes"])
def test_random_access_on_real_footage(backend: str, name: str) -> None:
    path = sample_path(name)
    want = [0, 37, 61, 99]
    frames = read_frames(path, end=100)
    with RandomAccessReader(backend=backend) as reader:
        np.testing.assert_array_equal(reader.get(path, want), frames[want])


def test_rotation_applied_like_sequential(tmp_path: Path, tiny_video: np.ndarray) -> None:
    path = write_video(tmp_path / "rot.mp4", tiny_video, fps=25, codec="x264rgb-lossless", rotation=-90)
    with RandomAccessReader() as reader:
        np.testing.assert_array_equal(reader.get(path, [3]), read_frames(path)[[3]])


def test_out_of_range_is_a_media_error(tiny_video_file: Path) -> None:
    with RandomAccessReader() as reader, pytest.raises(MediaError, match="out of range"):
        reader.get(tiny_video_file, [99])


def test_timeout_kills_the_decoder_and_the_reader_recovers(tiny_video_file: Path, tiny_video: np.ndarray) -> None:
    with RandomAccessReader(timeout_s=1e-4, backend="pyav") as reader:
        with pytest.raises(MediaError, match="timed out"):
            reader.get(tiny_video_file, list(range(16)))
        reader.timeout_s = 60
        np.testing.assert_array_equal(reader.get(tiny_video_file, [2]), tiny_video[[2]])


def test_crashed_decoder_becomes_a_media_error(tiny_video_file: Path, tiny_video: np.ndarray) -> None:
    long_clip = sample_path("bikes")
    with RandomAccessReader(timeout_s=60, backend="pyav") as reader:
        reader.get(tiny_video_file, [0])  # worker up
        killer = threading.Timer(0.3, lambda: reader._proc.kill())
        killer.start()
        started = time.monotonic()
        with pytest.raises(MediaError, match="crashed"):
            reader.get(long_clip, list(range(249, 0, -1)) * 4)  # slow: a seek per frame, backwards
        assert time.monotonic() - started < 60
        np.testing.assert_array_equal(reader.get(tiny_video_file, [5]), tiny_video[[5]])
