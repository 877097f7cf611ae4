"""Truncated, empty, fake and audio-only files: one-line errors naming the file, from every entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vsrcore import testing
from vsrcore.errors import MediaError
from vsrcore.video.decode import read_frames
from vsrcore.video.probe import probe
from vsrcore.video.random_access import sample_frames
from vsrcore.video.write import write_video


def _truncated(tmp: Path) -> Path:
    full = write_video(tmp / "full.mp4", testing.moving_texture(24, 48, 64), fps=25)
    data = full.read_bytes()
    path = tmp / "truncated.mp4"
    path.write_bytes(data[: len(data) // 2])  # moov atom (written last) is lost, as in an interrupted recording
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.mp4"
    path.write_bytes(b"")
    return path


def _not_video(tmp: Path) -> Path:
    path = tmp / "notes.mp4"
    path.write_text("this is a text file, not a video\n" * 20)
    return path


def _audio_only(tmp: Path) -> Path:
    import av

    path = tmp / "voice.m4a"
    audio = testing.sine_audio(0.5, channels=1)
    with av.open(str(path), "w") as out:
        s = out.add_stream("aac", rate=48000, layout="mono")
        for i in range(0, audio.shape[1], 1024):
            f = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, i : i + 1024]), format="fltp", layout="mono")
            f.sample_rate, f.pts = 48000, i
            for pk in s.encode(f):
                out.mux(pk)
        for pk in s.encode():
            out.mux(pk)
    return path


BAD = {
    "truncated": (_truncated, "not a readable media file"),
    "empty": (_empty, "empty file"),
    "not_video": (_not_video, "not a readable media file"),
    "audio_only": (_audio_only, "no video stream"),
}


@pytest.mark.parametrize("kind", BAD)
def test_probe_decode_and_sample_name_the_file(tmp_path: Path, kind: str) -> None:
    make, problem = BAD[kind]
    path = make(tmp_path)
    for call in (lambda: probe(path), lambda: read_frames(path), lambda: sample_frames(path, [0])):
        with pytest.raises(MediaError) as info:
            call()
        message = str(info.value)
        assert message.startswith(str(path)) and problem in message and "\n" not in message


@pytest.mark.parametrize("kind", BAD)
def test_cli_prints_one_line_without_traceback(tmp_path: Path, kind: str) -> None:
    make, problem = BAD[kind]
    path = make(tmp_path)
    r = subprocess.run([sys.executable, "-m", "vsrcore.cli", "probe", str(path)], capture_output=True, text=True)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and problem in lines[0]
    assert "Traceback" not in r.stderr


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="file not found"):
        probe(tmp_path / "nope.mp4")


def test_truncated_stream_without_index_decodes_what_is_there(tmp_path: Path) -> None:
    """A Matroska file cut short keeps a valid header: decoding returns the frames before the cut."""
    full = write_video(tmp_path / "full.mkv", testing.moving_texture(30, 48, 64), fps=25, codec="ffv1")
    data = full.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    frames = read_frames(cut)
    assert 0 < len(frames) < 30
    np.testing.assert_array_equal(frames, testing.moving_texture(30, 48, 64)[: len(frames)])
