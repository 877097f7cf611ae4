"""What a file found in an input folder is: a video, a still image, or not media (decided without decoding)."""

from __future__ import annotations

from pathlib import Path

from vsrcore.video.types import IMAGE_EXTS, VIDEO_EXTS


def media_kind(path: str | Path) -> str | None:
    """ "video" or "image" by extension; for any other extension (.gif, .ogv, .3gp, a file without one ...) the
    container header decides, so a readable format is not skipped because its name is unusual. None: not media
    (or not readable), which the caller reports instead of skipping silently."""
    ext = Path(path).suffix.lower()
    if ext in VIDEO_EXTS:
        return "video"
    if ext in IMAGE_EXTS:
        return "image"
    from vsrcore.errors import MediaError
    from vsrcore.video.probe import probe

    try:
        meta = probe(path)
    except (MediaError, OSError):
        return None
    return "video" if meta.frame_count > 1 else "image" if meta.frame_count == 1 else None
