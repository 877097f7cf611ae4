"""`flashvsr upscale` output integrity: audio mux in every container, VFR timing kept, frame counts from decoding,
the input limits (`--max-pixels`, `--max-decoded-bytes`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.hostile_inputs import VFR_TIMES, mpeg1_declaring_one_frame, vfr_video
from vsrcore import testing
from vsrcore.cli import main
from vsrcore.video.decode import read_frames, read_timed_frames
from vsrcore.video.probe import probe


def _upscale(src: Path, out: Path, *extra: str) -> int:
    return main(["upscale", str(src), "-o", str(out), "--model", "bicubic", "--scale", "2", "--quiet", *extra])


@pytest.fixture(scope="module")
def clip_with_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "in.mp4"
    return testing.write_clip_with_audio(path, testing.moving_texture(20, 24, 32), 25, testing.sine_audio(0.8))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".webm"])
def test_upscale_with_audio_starts_with_a_keyframe(clip_with_audio: Path, tmp_path: Path, suffix: str) -> None:
    import av

    out = tmp_path / f"out{suffix}"
    assert _upscale(clip_with_audio, out) == 0
    with av.open(str(out)) as c:
        assert next(pk for pk in c.demux(video=0) if pk.size > 0).is_keyframe
        assert len(c.streams.audio) == 1
    assert read_frames(out).shape == (20, 48, 64, 3)  # every frame decodes (mkv used to decode none)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


def test_upscale_keeps_variable_frame_rate(tmp_path: Path) -> None:
    src = vfr_video(tmp_path / "vfr.mp4", height=24, width=32)
    out = tmp_path / "out.mkv"
    assert _upscale(src, out) == 0
    _, times = read_timed_frames(out)
    np.testing.assert_allclose(times, VFR_TIMES, atol=1e-3)


def test_upscale_counts_decoded_frames_and_reports_the_header_mismatch(tmp_path: Path, capsys) -> None:
    from model.api import load
    from model.engine import upscale_video

    src = mpeg1_declaring_one_frame(tmp_path / "one.mpg", height=24, width=32)
    report = upscale_video(src, tmp_path / "out.mp4", load("bicubic", scale=2), progress=False)
    assert (report.input_frames, report.frames, report.declared_frames) == (79, 79, 1)
    assert report.frame_count_mismatch
    assert probe(tmp_path / "out.mp4").frame_count == 79
    assert main(["upscale", str(src), "-o", str(tmp_path / "o2.mp4"), "--model", "bicubic", "--scale", "2"]) == 0
    assert "the input's header declares 1 frames, 79 decoded" in capsys.readouterr().out


def test_upscale_honours_the_input_limits(
    clip_with_audio: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the options set these variables for the process and its workers: restore them after the test
    monkeypatch.setenv("FLASHVSR_MAX_PIXELS", "64000000")
    monkeypatch.setenv("FLASHVSR_MAX_DECODED_BYTES", str(8 << 30))
    out = tmp_path / "out.mp4"
    assert _upscale(clip_with_audio, out, "--max-pixels", "500") == 2
    err = capsys.readouterr().err.strip()
    assert "in.mp4" in err and "pixel cap" in err and len(err.splitlines()) == 1
    monkeypatch.setenv("FLASHVSR_MAX_PIXELS", "64000000")
    assert _upscale(clip_with_audio, out, "--max-decoded-bytes", "10000") == 2
    err = capsys.readouterr().err.strip()
    assert "in.mp4" in err and "decoded-bytes budget" in err and len(err.splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []
