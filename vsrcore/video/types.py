"""Plain metadata records returned by the video I/O functions (no heavy imports)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


# File extensions the toolkit treats as videos and as still images when it walks folders.
VIDEO_EXTS = frozenset(
    {".mp4", ".mkv", ".mov", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".m2ts", ".m4v", ".flv", ".wmv", ".y4m"}
)
IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})


@dataclass(frozen=True)
class AudioStreamMeta:
    """One audio stream as the container header describes it."""

    index: int
    codec: str
    sample_rate: int
    channels: int
    duration_s: float | None


@dataclass(frozen=True)
class VideoMeta:
    """Header-level description of a video file (what ffprobe would say, without decoding).

    `width`/`height` are the display size after rotation; `coded_width`/`coded_height` are the stored
    size. `frame_count` comes from the container when it records one, else from duration x fps, and
    `frame_count_exact` says which.
    """

    path: str
    container: str
    codec: str
    width: int
    height: int
    coded_width: int
    coded_height: int
    fps: float
    fps_fraction: str
    frame_count: int
    frame_count_exact: bool
    duration_s: float
    pix_fmt: str
    bit_depth: int
    rotation: int
    bit_rate: int | None
    size_bytes: int
    audio: tuple[AudioStreamMeta, ...] = field(default_factory=tuple)

    @property
    def is_gray(self) -> bool:
        return self.pix_fmt.startswith(("gray", "ya", "y4", "y8", "monob", "monow"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (audio streams as a list of dicts)."""
        d = asdict(self)
        d["audio"] = [asdict(a) for a in self.audio]
        return d


@dataclass(frozen=True)
class FrameCheck:
    """A video's frame count and duration counted from its packets (the index), beside what its header declares.

    `frames` and `duration_s` are what the toolkit uses; the header's `declared_*` values are kept only to record a
    mismatch (`mismatch`: the counts differ, or the durations differ by more than two frames). `vfr` is True when the
    frame intervals vary (variable frame rate or sparse timestamps).
    """

    frames: int
    duration_s: float
    declared_frames: int
    declared_exact: bool
    declared_duration_s: float
    vfr: bool

    @property
    def mismatch(self) -> bool:
        frame_s = self.duration_s / self.frames if self.frames else 0.0
        off = abs(self.duration_s - self.declared_duration_s) > max(2 * frame_s, 0.01 * self.duration_s)
        return self.frames != self.declared_frames or off

    def to_record(self) -> dict[str, Any]:
        """JSON form for an item's record."""
        return {**asdict(self), "mismatch": self.mismatch}


@dataclass(frozen=True)
class Span:
    """A half-open frame range [start_frame, end_frame) with its times in seconds from the file start."""

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame
