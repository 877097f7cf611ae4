from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from vsrcore import testing
from vsrcore.video.decode import iter_chunks, iter_frames, read_frames
from vsrcore.video.probe import probe
from vsrcore.video.write import VideoWriter, read_image_sequence, write_image_sequence, write_video


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


@pytest.mark.parametrize(
    "codec,suffix", [("ffv1", ".mkv"), ("x264rgb-lossless", ".mkv"), ("x264rgb-lossless", ".mp4")]
)
def test_lossless_round_trip_is_exact(tmp_path: Path, tiny_video: np.ndarray, codec: str, suffix: str) -> None:
    path = write_video(tmp_path / f"clip{suffix}", tiny_video, fps=25, codec=codec)
    np.testing.assert_array_equal(read_frames(path), tiny_video)


def test_lossless_exact_on_known_colours(tmp_path: Path) -> None:
    bars = testing.colour_bars(3, 32, 64)
    np.testing.assert_array_equal(read_frames(write_video(tmp_path / "bars.mkv", bars, fps=10, codec="ffv1")), bars)


@pytest.mark.parametrize("codec", ["x264", "x265"])
def test_lossy_quality_follows_crf(tmp_path: Path, tiny_video: np.ndarray, codec: str) -> None:
    good = read_frames(write_video(tmp_path / "good.mp4", tiny_video, fps=25, codec=codec, crf=10))
    bad = read_frames(write_video(tmp_path / "bad.mp4", tiny_video, fps=25, codec=codec, crf=45))
    # 4:2:0 chroma on a colourful 64x48 texture caps PSNR near 30 dB even at a low CRF.
    assert psnr(good, tiny_video) > 28 and psnr(good, tiny_video) > psnr(bad, tiny_video) + 5


@pytest.mark.parametrize("codec", ["ffv1", "x264"])
def test_odd_sizes(tmp_path: Path, codec: str) -> None:
    clip = testing.moving_texture(5, 33, 47)
    out = read_frames(write_video(tmp_path / "odd.mkv", clip, fps=25, codec=codec))
    assert out.shape == (5, 33, 47, 3)
    assert psnr(out, clip) > 30


def test_writer_is_atomic(tmp_path: Path, tiny_video: np.ndarray) -> None:
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(target, 25) as w:
            w.write(tiny_video[:4])
            raise RuntimeError("killed mid-write")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with VideoWriter(target, 25) as w:
        for chunk in np.split(tiny_video, 4):
            w.write(chunk)
    assert probe(target).frame_count == 16 and [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_writer_rejects_size_change(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="differs"):
        with VideoWriter(tmp_path / "x.mkv", 25, codec="ffv1") as w:
            w.write(np.zeros((8, 8, 3), np.uint8))
            w.write(np.zeros((8, 10, 3), np.uint8))


def test_ranges_strides_and_chunks(tiny_video_file: Path, tiny_video: np.ndarray) -> None:
    np.testing.assert_array_equal(read_frames(tiny_video_file, start=3, end=11, stride=3), tiny_video[3:11:3])
    chunks = list(iter_chunks(tiny_video_file, 5))
    assert [len(c) for c in chunks] == [5, 5, 5, 1]
    np.testing.assert_array_equal(np.concatenate(chunks), tiny_video)
    assert sum(1 for _ in iter_frames(tiny_video_file, threads=1)) == 16


def test_rotation_is_applied(tmp_path: Path) -> None:
    clip = testing.colour_bars(2, 32, 64)
    path = write_video(tmp_path / "rot.mkv", clip, fps=25, codec="x264rgb-lossless", rotation=90)
    out = read_frames(path)
    assert out.shape == (2, 64, 32, 3)
    np.testing.assert_array_equal(out[0], np.rot90(clip[0]))  # 90 degrees counter-clockwise
    np.testing.assert_array_equal(read_frames(path, apply_rotation=False), clip)


def test_ten_bit_converts_with_warning(tmp_path: Path, tiny_video: np.ndarray) -> None:
    import av

    path = tmp_path / "ten.mkv"
    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv444p10le"
        for f in tiny_video:
            for pk in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(pk)
        for pk in s.encode():
            out.mux(pk)
    with pytest.warns(UserWarning, match="10-bit"):
        frames = read_frames(path)
    assert frames.dtype == np.uint8 and frames.shape == tiny_video.shape
    assert psnr(frames, tiny_video) > 40


def test_gray_converts_with_warning(tmp_path: Path, tiny_video: np.ndarray) -> None:
    import av

    path = tmp_path / "gray.mkv"
    gray = tiny_video.mean(axis=3).astype(np.uint8)
    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "gray"
        for g in gray:
            for pk in s.encode(av.VideoFrame.from_ndarray(g, format="gray")):
                out.mux(pk)
        for pk in s.encode():
            out.mux(pk)
    with pytest.warns(UserWarning, match="grayscale"):
        frames = read_frames(path)
    assert frames.shape == tiny_video.shape
    np.testing.assert_array_equal(frames[..., 0], frames[..., 2])
    assert np.abs(frames[..., 0].astype(int) - gray).max() <= 1


def test_sample_video_decodes_all_frames_without_warning() -> None:
    from vsrcore.samples import sample_path

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frames = read_frames(sample_path("vtest"), end=10)
    assert frames.shape == (10, 576, 768, 3)


def test_image_sequence_round_trip(tmp_path: Path, tiny_video: np.ndarray) -> None:
    paths = write_image_sequence(tmp_path / "seq", tiny_video[:5])
    assert [p.name for p in paths] == [f"{i:08d}.png" for i in range(5)]
    np.testing.assert_array_equal(read_image_sequence(tmp_path / "seq"), tiny_video[:5])
