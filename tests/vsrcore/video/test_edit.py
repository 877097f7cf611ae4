from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsrcore import testing
from vsrcore.errors import MediaError
from vsrcore.video.decode import read_frames
from vsrcore.video.edit import cut_exact, cut_stream_copy, keyframes, mux_audio
from vsrcore.video.probe import probe


def test_keyframes_from_packets(hard_cut_file: tuple[Path, list[int]]) -> None:
    path, _ = hard_cut_file
    assert keyframes(path) == [0, 8, 16, 24, 32]


def test_cut_exact_is_frame_exact(hard_cut_file: tuple[Path, list[int]], tmp_path: Path) -> None:
    path, _ = hard_cut_file
    span = cut_exact(path, tmp_path / "cut.mkv", 5, 19)
    assert (span.start_frame, span.end_frame, span.num_frames) == (5, 19, 14)
    np.testing.assert_array_equal(read_frames(tmp_path / "cut.mkv"), read_frames(path)[5:19])


def test_cut_exact_past_end(hard_cut_file: tuple[Path, list[int]], tmp_path: Path) -> None:
    path, _ = hard_cut_file
    with pytest.raises(MediaError, match="past the end"):
        cut_exact(path, tmp_path / "cut.mkv", 30, 50)
    assert not (tmp_path / "cut.mkv").exists()


@pytest.mark.parametrize(
    "start,end,expected", [(10, 20, (8, 24)), (8, 16, (8, 16)), (0, 3, (0, 8)), (30, 36, (24, 36))]
)
def test_stream_copy_cut_is_keyframe_aligned(
    hard_cut_file: tuple[Path, list[int]], tmp_path: Path, start: int, end: int, expected: tuple[int, int]
) -> None:
    path, _ = hard_cut_file
    out = tmp_path / "copy.mp4"
    span = cut_stream_copy(path, out, start, end)
    assert (span.start_frame, span.end_frame) == expected
    assert span.start_frame in keyframes(path)
    assert span.start_frame <= start and span.end_frame >= end
    # Packets are copied, not re-encoded: the decoded frames are bit-identical to the source's.
    np.testing.assert_array_equal(read_frames(out), read_frames(path)[span.start_frame : span.end_frame])
    assert probe(out).frame_count == span.num_frames
    assert keyframes(out)[0] == 0


def test_stream_copy_on_real_mpeg2_footage(tmp_path: Path) -> None:
    from vsrcore.samples import sample_path

    src = sample_path("bikes")
    span = cut_stream_copy(src, tmp_path / "bikes_cut.mp4", 40, 70)
    assert span.start_frame in keyframes(src) and span.start_frame <= 40 and span.end_frame >= 70
    out = read_frames(tmp_path / "bikes_cut.mp4")
    np.testing.assert_array_equal(out, read_frames(src, start=span.start_frame, end=span.end_frame))


def _audio_samples(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(f.samples for f in c.decode(audio=0))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_audio_passthrough_keeps_every_sample(tmp_path: Path, suffix: str) -> None:
    frames = testing.moving_texture(25, 48, 64)
    source = testing.write_clip_with_audio(tmp_path / "src.mp4", frames, 25, testing.sine_audio(1.0))
    from vsrcore.video.write import write_video

    upscaled = write_video(tmp_path / "sr.mkv", testing.moving_texture(25, 96, 128), fps=25, codec="ffv1")
    out = tmp_path / f"final{suffix}"
    assert mux_audio(upscaled, source, out)
    meta = probe(out)
    assert (meta.width, meta.height, meta.frame_count) == (128, 96, 25)
    assert len(meta.audio) == 1
    assert _audio_samples(out) == _audio_samples(source)
    np.testing.assert_array_equal(read_frames(out), read_frames(upscaled))


def test_audio_passthrough_without_audio(tmp_path: Path, tiny_video_file: Path) -> None:
    assert not mux_audio(tiny_video_file, tiny_video_file, tmp_path / "same.mkv")
    assert probe(tmp_path / "same.mkv").audio == ()
