"""Cuts and remuxing: frame-exact lossless cuts, keyframe-aligned stream-copy cuts, audio passthrough."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vsrcore.atomic import atomic_path
from vsrcore.errors import MediaError
from vsrcore.video.decode import iter_frames
from vsrcore.video.probe import open_input, probe, video_stream
from vsrcore.video.types import Span
from vsrcore.video.write import VideoWriter


def _packet_frames(container: Any, stream: Any) -> tuple[list[Any], list[int]]:
    """Demux all video packets (no decoding); return them and the presentation-order index of each."""
    packets = [pk for pk in container.demux(stream) if pk.size > 0 and pk.pts is not None]
    order = sorted(range(len(packets)), key=lambda i: packets[i].pts)
    frame_of = [0] * len(packets)
    for rank, i in enumerate(order):
        frame_of[i] = rank
    return packets, frame_of


def keyframes(path: str | Path) -> list[int]:
    """Presentation-order frame indices of the keyframes, read from packet flags without decoding."""
    container = open_input(path)
    try:
        stream = video_stream(container, path)
        packets, frame_of = _packet_frames(container, stream)
        return sorted(frame_of[i] for i, pk in enumerate(packets) if pk.is_keyframe)
    finally:
        container.close()


def cut_exact(src: str | Path, dst: str | Path, start_frame: int, end_frame: int, *, codec: str = "ffv1") -> Span:
    """Frame-exact cut of [start_frame, end_frame) re-encoded losslessly (FFV1 or x264rgb qp 0)."""
    meta = probe(src)
    writer = VideoWriter(dst, meta.fps_fraction, codec=codec)
    try:
        for frame in iter_frames(src, start=start_frame, end=end_frame):
            writer.write(frame)
    except BaseException:
        writer.abort()
        raise
    if writer.frames_written != end_frame - start_frame:
        writer.abort()
        raise MediaError(src, f"span [{start_frame}, {end_frame}) is past the end of the video")
    writer.close()
    return Span(start_frame, end_frame, start_frame / meta.fps, end_frame / meta.fps)


def cut_stream_copy(src: str | Path, dst: str | Path, start_frame: int, end_frame: int, *, audio: bool = True) -> Span:
    """Cut without re-encoding: copy whole GOPs, from the keyframe at or before `start_frame` to the
    keyframe at or after `end_frame` (or the end). Returns the span actually written, keyframe-aligned.
    """
    src, dst = Path(src), Path(dst)
    meta = probe(src)
    container = open_input(src)
    try:
        stream = video_stream(container, src)
        packets, frame_of = _packet_frames(container, stream)
        keys = sorted(frame_of[i] for i, pk in enumerate(packets) if pk.is_keyframe)
        if not keys:
            raise MediaError(src, "no keyframes found; cannot stream-copy")
        n = len(packets)
        if not 0 <= start_frame < end_frame <= n:
            raise MediaError(src, f"span [{start_frame}, {end_frame}) outside the video's {n} frames")
        first = max(k for k in keys if k <= start_frame) if keys[0] <= start_frame else keys[0]
        last = min([k for k in keys if k >= end_frame] + [n])
        pts_sorted = sorted(pk.pts for pk in packets)
        tb = stream.time_base
        t_start = pts_sorted[first]
        t_end = pts_sorted[last] if last < n else None
        with atomic_path(dst) as tmp:
            _remux(src, tmp, stream.index, t_start, t_end, tb, audio)
    finally:
        container.close()
    return Span(first, last, first / meta.fps, last / meta.fps)


def _remux(src: Path, tmp: Path, video_index: int, t_start: int, t_end: int | None, tb: Any, audio: bool) -> None:
    """Copy packets of the video stream (and audio streams) whose time lies in [t_start, t_end)."""
    import av

    with av.open(str(src)) as inp, av.open(str(tmp), mode="w") as out:
        vin = inp.streams[video_index]
        ins = [vin] + (list(inp.streams.audio) if audio else [])
        mapping = {s.index: out.add_stream_from_template(s) for s in ins}
        start_s = float(t_start * tb)
        end_s = float(t_end * tb) if t_end is not None else None
        # Decode-order packets of a B-frame GOP can carry dts before the first pts: shift by the smallest dts.
        offsets: dict[int, int] = {}
        for pk in inp.demux(ins):
            if pk.dts is None and pk.pts is None:
                continue
            t = float((pk.pts if pk.pts is not None else pk.dts) * pk.time_base)
            if pk.stream.index == video_index:
                if pk.pts < t_start or (t_end is not None and pk.pts >= t_end):
                    continue
            elif t < start_s or (end_s is not None and t >= end_s):
                continue
            if pk.stream.index not in offsets:
                first_ts = pk.dts if pk.dts is not None else pk.pts
                offsets[pk.stream.index] = min(first_ts, int(start_s / pk.time_base))
            off = offsets[pk.stream.index]
            if pk.pts is not None:
                pk.pts -= off
            if pk.dts is not None:
                pk.dts -= off
            pk.stream = mapping[pk.stream.index]
            out.mux(pk)


def mux_audio(video: str | Path, audio_source: str | Path, dst: str | Path, *, offset_s: float = 0.0) -> bool:
    """Write `dst` with the video stream of `video` and the audio streams of `audio_source`, both copied.

    Audio is copied as is (same codec, same samples); if the output container cannot hold that codec it is
    re-encoded to AAC. Returns False (and copies the video alone) when the source has no audio.
    """
    import av

    video, audio_source, dst = Path(video), Path(audio_source), Path(dst)
    probe(video)
    with open_input(audio_source) as asrc:
        has_audio = bool(asrc.streams.audio)
    with atomic_path(dst) as tmp:
        with av.open(str(video)) as vin, av.open(str(audio_source)) as ain, av.open(str(tmp), mode="w") as out:
            vs = vin.streams.video[0]
            vout = out.add_stream_from_template(vs)
            aouts = []
            for a in ain.streams.audio if has_audio else []:
                codec = a.codec_context.name
                if codec in out.supported_codecs:
                    aouts.append((a, out.add_stream_from_template(a), None))
                else:
                    enc = out.add_stream("aac", rate=a.codec_context.sample_rate)
                    aouts.append((a, enc, av.AudioResampler(format="fltp", layout=a.layout, rate=enc.rate)))
            for pk in vin.demux(vs):
                if pk.dts is None:
                    continue
                pk.stream = vout
                out.mux(pk)
            for a, aout, resampler in aouts:
                skip = int(offset_s / a.time_base) if offset_s else 0
                if resampler is None:
                    for pk in ain.demux(a):
                        if pk.dts is None or (pk.pts is not None and pk.pts < skip):
                            continue
                        if skip:
                            pk.pts -= skip
                            pk.dts -= skip
                        pk.stream = aout
                        out.mux(pk)
                else:
                    for frame in ain.decode(a):
                        for rf in resampler.resample(frame):
                            for pk in aout.encode(rf):
                                out.mux(pk)
                    for pk in aout.encode(None):
                        out.mux(pk)
    return has_audio
