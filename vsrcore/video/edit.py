"""Cuts and remuxing: frame-exact lossless cuts, keyframe-aligned stream-copy cuts, audio passthrough."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vsrcore.atomic import atomic_path
from vsrcore.errors import MediaError
from vsrcore.video.decode import iter_frames
from vsrcore.video.probe import open_input, probe, video_stream
from vsrcore.video.types import Span
from vsrcore.video.verify import check_written_video
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
        with atomic_path(dst, verify=lambda tmp: check_written_video(tmp, last - first, name=dst)) as tmp:
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


def _video_dts(path: Path) -> list[tuple[int | None, int | None]]:
    """(pts, dts) of each video packet of `path` in decode order, with every dts filled in.

    Matroska and WebM store presentation times only: with B-frames PyAV returns packets whose dts is None, and a
    muxer given such a packet drops or misplaces it (the first keyframe went missing). The decode times are
    rebuilt as the sorted presentation times shifted back by the largest reordering delay, which keeps dts
    increasing and never after pts.
    """
    with open_input(path) as container:
        stream = video_stream(container, path)
        stamps = [(pk.pts, pk.dts) for pk in container.demux(stream) if pk.size > 0]
    if all(d is not None for _, d in stamps) or any(p is None for p, _ in stamps):
        return stamps
    pts = [p for p, _ in stamps]
    order = sorted(pts)
    delay = max(o - p for o, p in zip(order, pts, strict=True))
    return [(p, o - delay) for p, o in zip(pts, order, strict=True)]


def mux_audio(video: str | Path, audio_source: str | Path, dst: str | Path, *, offset_s: float = 0.0) -> bool:
    """Write `dst` with the video stream of `video` and the audio streams of `audio_source`, both copied.

    Audio is copied as is (same codec, same samples); if the output container cannot hold that codec it is
    re-encoded (Opus for WebM, AAC elsewhere). Packets are interleaved by time, every video packet keeps a decode
    time (so the first one stays the keyframe in MP4, MKV, MOV and WebM), and `dst` is re-opened and its frame
    count checked before it is renamed into place. Returns False (and copies the video alone) when the source
    has no audio.
    """
    import heapq

    import av

    video, audio_source, dst = Path(video), Path(audio_source), Path(dst)
    probe(video)
    with open_input(audio_source) as asrc:
        has_audio = bool(asrc.streams.audio)
    stamps = _video_dts(video)

    def verify(tmp: Path) -> None:
        check_written_video(tmp, len(stamps), name=dst)

    with atomic_path(dst, verify=verify) as tmp:
        with av.open(str(video)) as vin, av.open(str(audio_source)) as ain, av.open(str(tmp), mode="w") as out:
            vs = vin.streams.video[0]
            vout = out.add_stream_from_template(vs)
            fallback = "libopus" if out.format.name == "webm" else "aac"

            def video_packets() -> Iterator[tuple[float, Any]]:
                packets = (pk for pk in vin.demux(vs) if pk.size > 0)
                for pk, (pts, dts) in zip(packets, stamps, strict=True):
                    if dts is None:
                        continue  # neither time is known (raw streams): the muxer could not place it
                    pk.pts, pk.dts, pk.stream = pts, dts, vout
                    yield float(dts * vs.time_base), pk

            plans: dict[int, tuple[Any, Any]] = {}  # audio stream index -> (output stream, resampler or None)
            for a in ain.streams.audio if has_audio else []:
                if a.codec_context.name in out.supported_codecs:
                    plans[a.index] = (out.add_stream_from_template(a), None)
                else:
                    enc = out.add_stream(fallback, rate=a.codec_context.sample_rate if fallback == "aac" else 48000)
                    fmt = enc.codec_context.codec.audio_formats[0].name
                    plans[a.index] = (enc, av.AudioResampler(format=fmt, layout=a.layout, rate=enc.rate))

            def encoded(aout: Any, frames: list[Any]) -> Iterator[tuple[float, Any]]:
                for frame in frames:
                    for pk in aout.encode(frame):
                        yield float(pk.dts * pk.time_base), pk

            def audio_packets() -> Iterator[tuple[float, Any]]:
                """Every audio stream from one pass over the source: copied, or decoded and re-encoded."""
                streams = [a for a in ain.streams.audio if a.index in plans]
                if not streams:
                    return  # demux([]) would read every stream
                for pk in ain.demux(streams):
                    aout, resampler = plans[pk.stream.index]
                    if resampler is not None:
                        for frame in pk.decode():  # the flush packet (size 0) drains the decoder
                            yield from encoded(aout, resampler.resample(frame))
                        continue
                    if pk.size == 0 or (pk.pts is None and pk.dts is None):
                        continue
                    skip = int(offset_s / pk.time_base) if offset_s else 0
                    pts = pk.pts if pk.pts is not None else pk.dts
                    if pts < skip:
                        continue
                    pk.pts, pk.dts = pts - skip, (pk.dts if pk.dts is not None else pts) - skip
                    time_base = pk.time_base
                    pk.stream = aout
                    yield float(pk.dts * time_base), pk
                for aout, resampler in plans.values():
                    if resampler is not None:
                        yield from encoded(aout, [*resampler.resample(None), None])

            sources = [video_packets(), audio_packets()]
            for _, pk in heapq.merge(*sources, key=lambda item: item[0]):
                out.mux(pk)
    return has_audio
