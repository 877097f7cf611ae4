"""Frame counts from packets, not headers; written videos checked before they appear; the audio mux keeps the
first video packet a keyframe; variable frame rate kept; decoded-bytes budget; hung decoders time out."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from tests.hostile_inputs import VFR_TIMES, hanging_video, mpeg1_declaring_one_frame, truncated_avi, vfr_video
from vsrcore import testing
from vsrcore.atomic import atomic_path
from vsrcore.errors import MediaError
from vsrcore.limits import DecodedBytesExceeded
from vsrcore.video.decode import iter_chunks, read_frames, read_timed_frames
from vsrcore.video.edit import mux_audio
from vsrcore.video.probe import check_frames, probe
from vsrcore.video.verify import check_written_video
from vsrcore.video.watchdog import watched_iter
from vsrcore.video.write import VideoWriter, read_image_sequence, write_image_sequence, write_video


# ------------------------------------------------------------------------------------------------------------
# Frame counts come from the packets
# ------------------------------------------------------------------------------------------------------------
def test_mpeg1_declaring_one_frame_is_counted_and_decoded_whole(tmp_path: Path) -> None:
    path = mpeg1_declaring_one_frame(tmp_path / "one.mpg")
    assert probe(path).frame_count == 1  # what the header says
    check = check_frames(path)
    assert (check.frames, check.declared_frames, check.mismatch, check.vfr) == (79, 1, True, False)
    assert check.duration_s == pytest.approx(79 / 25)
    frames, times = read_timed_frames(path)
    assert len(frames) == 79
    np.testing.assert_allclose(times, np.arange(79) / 25)
    assert check.to_record()["mismatch"] is True


def test_truncated_avi_counts_what_it_holds(tmp_path: Path) -> None:
    path = truncated_avi(tmp_path / "cut.avi")
    meta = probe(path)
    assert (meta.frame_count, meta.frame_count_exact) == (444, True)
    check = check_frames(path, meta)
    assert (check.frames, check.declared_frames, check.mismatch) == (68, 444, True)
    assert len(read_frames(path)) == 68


def test_honest_file_has_no_mismatch(tiny_video_file: Path) -> None:
    check = check_frames(tiny_video_file)
    assert not check.mismatch and not check.vfr and check.frames == probe(tiny_video_file).frame_count


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_vfr_input_is_detected_and_decoded_with_its_times(tmp_path: Path, suffix: str) -> None:
    path = vfr_video(tmp_path / f"vfr{suffix}")
    check = check_frames(path)
    assert check.vfr and check.frames == len(VFR_TIMES)
    _, times = read_timed_frames(path)
    np.testing.assert_allclose(times, VFR_TIMES, atol=1e-3)


# ------------------------------------------------------------------------------------------------------------
# Written videos are re-opened and checked before the rename
# ------------------------------------------------------------------------------------------------------------
def test_a_short_written_file_is_not_renamed_into_place(tmp_path: Path) -> None:
    dst = tmp_path / "out.mkv"
    frames = testing.moving_texture(20, 48, 64)
    with pytest.raises(MediaError, match=r"out\.mkv: written file holds \d+ video frames, expected 20"):
        with atomic_path(dst, verify=lambda tmp: check_written_video(tmp, 20, name=dst)) as tmp:
            write_video(tmp_path / "full.mkv", frames, 25, codec="ffv1")
            data = (tmp_path / "full.mkv").read_bytes()
            tmp.write_bytes(data[: len(data) // 2])  # a write cut short (full disk, killed encoder)
    assert not dst.exists() and list(tmp_path.glob(".out*")) == []


def test_writer_reports_what_it_verified(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "a.mp4", 25) as writer:
        writer.write(testing.moving_texture(12, 48, 64))
    assert writer.written is not None and writer.written.frames == 12
    assert writer.max_time_shift_s < 1e-6


@pytest.mark.parametrize(("suffix", "codec"), [(".mkv", "ffv1"), (".mp4", "x264"), (".webm", "vp9")])
def test_writer_keeps_given_frame_times(tmp_path: Path, suffix: str, codec: str) -> None:
    frames = testing.moving_texture(len(VFR_TIMES), 48, 64)
    with VideoWriter(tmp_path / f"vfr{suffix}", 25, codec=codec) as writer:
        writer.write(frames[:5], VFR_TIMES[:5])
        writer.write(frames[5:], VFR_TIMES[5:])
    assert writer.max_time_shift_s <= 0.0005  # Matroska/WebM keep milliseconds
    _, times = read_timed_frames(tmp_path / f"vfr{suffix}")
    np.testing.assert_allclose(times, VFR_TIMES, atol=1e-3)


@pytest.mark.parametrize(("suffix", "codec"), [(".mkv", "ffv1"), (".mp4", "x264")])
def test_writer_moves_repeated_and_backward_times_and_says_by_how_much(
    tmp_path: Path, suffix: str, codec: str
) -> None:
    """Broken sources repeat a frame time (or step back): every frame is still written, 1 ms after the one before,
    and the shift is reported, never an error mid-file."""
    frames = testing.moving_texture(5, 48, 64)
    asked = [0.0, 0.04, 0.04, 0.03, 0.12]
    with VideoWriter(tmp_path / f"dup{suffix}", 25, codec=codec) as writer:
        writer.write(frames, asked)
    _, times = read_timed_frames(tmp_path / f"dup{suffix}")
    np.testing.assert_allclose(times, [0.0, 0.04, 0.041, 0.042, 0.12], atol=2e-4)
    assert 0.0115 < writer.max_time_shift_s < 0.0125  # 0.03 written at 0.042


# ------------------------------------------------------------------------------------------------------------
# Audio mux: first video packet a keyframe in every container, audio made here with PyAV
# ------------------------------------------------------------------------------------------------------------
def _first_video_packet_is_keyframe(path: Path) -> bool:
    import av

    with av.open(str(path)) as c:
        return next(pk for pk in c.demux(video=0) if pk.size > 0).is_keyframe


@pytest.mark.parametrize(
    ("suffix", "codec", "audio_codec"),
    [
        (".mp4", "x264", "aac"),
        (".mkv", "x264", "aac"),
        (".mov", "x264", "aac"),
        (".webm", "vp9", "libopus"),
        (".webm", "vp9", "aac"),
    ],  # fmt: skip
)
def test_mux_audio_keeps_a_keyframe_first(tmp_path: Path, suffix: str, codec: str, audio_codec: str) -> None:
    import av

    source = testing.write_clip_with_audio(
        tmp_path / f"src.{'mkv' if audio_codec == 'libopus' else 'mp4'}",
        testing.moving_texture(25, 48, 64),
        25,
        testing.sine_audio(1.0),
        audio_codec=audio_codec,
    )
    # x264 (B-frames) in Matroska stores no decode times: the case that lost its first keyframe
    video = write_video(tmp_path / f"sr{suffix}", testing.moving_texture(25, 96, 128), 25, codec=codec)
    out = tmp_path / f"final{suffix}"
    assert mux_audio(video, source, out)
    assert _first_video_packet_is_keyframe(out)
    np.testing.assert_array_equal(read_frames(out), read_frames(video))
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1
        samples = sum(f.samples for f in c.decode(audio=0))
    assert abs(samples / 48000 - 1.0) < 0.05


# ------------------------------------------------------------------------------------------------------------
# Decoded-bytes budget, checked before decoding
# ------------------------------------------------------------------------------------------------------------
def test_decoded_bytes_budget(tmp_path: Path, tiny_video_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = probe(tiny_video_file)
    frame = meta.width * meta.height * 3
    monkeypatch.setenv("FLASHVSR_MAX_DECODED_BYTES", str(3 * frame))
    assert len(read_frames(tiny_video_file, end=3)) == 3
    with pytest.raises(DecodedBytesExceeded, match=r"4 decoded frames .* above the decoded-bytes budget"):
        read_frames(tiny_video_file, end=4)  # refused from the header, before a frame decodes
    with pytest.raises(DecodedBytesExceeded, match=str(tiny_video_file)):
        read_frames(tiny_video_file)  # open-ended range: refused on the running total
    with pytest.raises(DecodedBytesExceeded):
        next(iter_chunks(tiny_video_file, 4))
    assert len(next(iter_chunks(tiny_video_file, 3))) == 3
    folder = tmp_path / "frames"
    write_image_sequence(folder, read_frames(tiny_video_file, end=3))
    assert len(read_image_sequence(folder)) == 3
    write_image_sequence(folder, read_frames(tiny_video_file, end=1), start=3)
    with pytest.raises(DecodedBytesExceeded, match="4 decoded frames"):
        read_image_sequence(folder)


# ------------------------------------------------------------------------------------------------------------
# A hung decoder is timed out and the next file is read
# ------------------------------------------------------------------------------------------------------------
def test_hanging_file_times_out_then_work_goes_on(
    tmp_path: Path, tiny_video_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASHVSR_DECODE_STALL_S", "1")
    hang = hanging_video(tmp_path)
    for read in (probe, read_frames, check_frames):
        t0 = time.monotonic()
        with pytest.raises(MediaError, match=r"hang\.mp4: .*made no progress for 1 s \(hung decoder\)"):
            read(hang)
        assert time.monotonic() - t0 < 10
    assert len(read_frames(tiny_video_file)) == probe(tiny_video_file).frame_count
    _release(tmp_path / "stall")


def _release(fifo: Path) -> None:
    """Let the abandoned threads blocked on `fifo` finish (a writer opens and closes it)."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass  # no reader left


def test_stall_in_the_middle_of_a_decode(tmp_path: Path, tiny_video_file: Path) -> None:
    fifo = tmp_path / "never"
    os.mkfifo(fifo)

    def decode_then_block():
        yield from read_frames(tiny_video_file, end=2)
        with open(fifo, "rb") as f:  # blocks in open(2): nobody writes to this FIFO
            yield f.read()

    got = []
    with pytest.raises(MediaError, match=r"stalled\.mp4: decoding made no progress for 0\.5 s"):
        for frame in watched_iter(decode_then_block, path="stalled.mp4", timeout_s=0.5):
            got.append(frame)
    assert len(got) == 2
    _release(fifo)


def test_playlists_are_refused(tmp_path: Path, tiny_video_file: Path) -> None:
    (tmp_path / "inner.mp4").write_bytes(tiny_video_file.read_bytes())
    playlist = tmp_path / "list.mp4"
    playlist.write_text("ffconcat version 1.0\nfile inner.mp4\n")
    with pytest.raises(MediaError, match="concat playlist that refers to other files; refused"):
        probe(playlist)


def test_mux_audio_with_two_audio_streams_copied_and_reencoded(tmp_path: Path) -> None:
    import av

    source = tmp_path / "two.mkv"
    tone = testing.sine_audio(1.0)
    with av.open(str(source), mode="w") as out:  # AAC (re-encoded for WebM) and Opus (copied)
        streams = [out.add_stream(codec, rate=48000, layout="stereo") for codec in ("aac", "libopus")]
        for stream in streams:
            fmt = stream.codec_context.codec.audio_formats[0].name
            resampler = av.AudioResampler(format=fmt, layout="stereo", rate=48000)
            for i in range(0, tone.shape[1], 960):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, i : i + 960]), format="fltp")
                frame.sample_rate, frame.pts = 48000, i
                for rf in resampler.resample(frame):
                    for pk in stream.encode(rf):
                        out.mux(pk)
            for pk in stream.encode(None):
                out.mux(pk)
    video = write_video(tmp_path / "sr.webm", testing.moving_texture(25, 48, 64), 25, codec="vp9")
    out = tmp_path / "final.webm"
    assert mux_audio(video, source, out)
    with av.open(str(out)) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["opus", "opus"]
    seconds = []
    for k in range(2):
        with av.open(str(out)) as c:
            seconds.append(sum(f.samples for f in c.decode(audio=k)) / 48000)
    assert all(abs(s - 1.0) < 0.05 for s in seconds), seconds
    assert _first_video_packet_is_keyframe(out) and len(read_frames(out)) == 25
