"""Output integrity: a written video is re-opened and checked before it is renamed into place.

`check_written_video(tmp, expected_frames, name=final)` demuxes the video stream (no full decode): it counts the
frames (packets), checks that the first packet in decode order is a keyframe and that the first frame decodes, and
returns the presentation times it found, so callers can compare them with the times they asked for. Any failure is
a MediaError naming the final path; the caller leaves the temporary file unrenamed (and removes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vsrcore.errors import MediaError


@dataclass(frozen=True)
class WrittenVideo:
    """What a written file holds: its frame count and each frame's presentation time (s, sorted, from 0)."""

    frames: int
    times_s: tuple[float, ...]


def check_written_video(path: str | Path, expected_frames: int, *, name: str | Path | None = None) -> WrittenVideo:
    """Re-open `path` and check it holds `expected_frames` decodable frames; MediaError naming `name` otherwise."""
    import av

    label = name if name is not None else path
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise MediaError(label, "written file has no video stream; not renamed into place")
            stream = container.streams.video[0]
            packets = [pk for pk in container.demux(stream) if pk.size > 0]
            if packets and not packets[0].is_keyframe:
                raise MediaError(label, "written file starts with a video packet that is not a keyframe (undecodable)")
            times = sorted(pk.pts for pk in packets if pk.pts is not None)
            tb = float(stream.time_base) if stream.time_base else 0.0
            start = times[0] if times else 0
            times_s = tuple((t - start) * tb for t in times)
        if packets:
            with av.open(str(path), mode="r") as container:
                if next(iter(container.decode(video=0)), None) is None:
                    raise MediaError(label, "written file's first frame does not decode")
    except av.error.FFmpegError as e:
        raise MediaError(
            label, f"written file cannot be read back ({e.strerror or e}); not renamed into place"
        ) from None
    if len(packets) != expected_frames:
        raise MediaError(
            label,
            f"written file holds {len(packets)} video frames, expected {expected_frames}; not renamed into place",
        )
    return WrittenVideo(len(packets), times_s)
