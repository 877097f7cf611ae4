from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsrcore.samples import list_samples
from vsrcore.video.probe import probe
from vsrcore.video.write import write_video


@pytest.mark.parametrize("sample", list_samples("video"), ids=lambda s: s.name)
def test_probe_matches_ffprobe_facts(sample) -> None:
    """`expected` values were read with Debian ffprobe 5.1.9 -count_frames (see PROVENANCE.md)."""
    meta = probe(sample.path())
    expected = dict(sample.expected)
    assert (meta.width, meta.height, meta.codec) == (expected["width"], expected["height"], expected["codec"])
    assert meta.fps == pytest.approx(expected["fps"], rel=1e-6)
    assert meta.frame_count == expected["frames"]
    assert meta.bit_depth == 8 and meta.pix_fmt == "yuv420p" and meta.rotation == 0
    assert meta.duration_s == pytest.approx(expected["frames"] / expected["fps"], abs=0.05)


def test_probe_synthetic_file(tiny_video_file: Path) -> None:
    meta = probe(tiny_video_file)
    assert (meta.width, meta.height, meta.fps, meta.codec) == (64, 48, 25.0, "ffv1")
    assert meta.frame_count == 16 and meta.audio == ()
    assert meta.to_dict()["path"] == str(tiny_video_file)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_probe_reads_rotation_from_header(tmp_path: Path, rotation: int) -> None:
    frames = np.zeros((3, 32, 64, 3), np.uint8)
    path = write_video(tmp_path / "rot.mp4", frames, fps=25, rotation=rotation)
    meta = probe(path)
    assert meta.rotation % 360 == rotation % 360
    assert (meta.coded_width, meta.coded_height) == (64, 32)
    assert (meta.width, meta.height) == ((32, 64) if rotation in (90, -90) else (64, 32))


def test_probe_audio_streams(tmp_path: Path) -> None:
    from vsrcore import testing

    path = testing.write_clip_with_audio(tmp_path / "av.mp4", testing.moving_texture(10), 25, testing.sine_audio(0.4))
    (audio,) = probe(path).audio
    assert (audio.codec, audio.sample_rate, audio.channels) == ("aac", 48000, 2)


def test_probe_ten_bit(tmp_path: Path) -> None:
    import av

    path = tmp_path / "ten.mkv"
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx265", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p10le"
        s.options = {"x265-params": "log-level=error"}
        for f in np.zeros((2, 48, 64, 3), np.uint8):
            for pk in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(pk)
        for pk in s.encode():
            out.mux(pk)
    meta = probe(path)
    assert (meta.bit_depth, meta.pix_fmt) == (10, "yuv420p10le")
