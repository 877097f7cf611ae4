"""Input limits shared by every command that decodes images or videos: the pixel cap per frame.

One setting: `--max-pixels` (on `degrade`, `curate`, ...) sets $FLASHVSR_MAX_PIXELS for this process and the
worker processes it starts (process pools and a local Ray inherit the environment); default 64 MP per frame. The
cap is checked against the size a file declares (image header, video stream parameters) before any full frame is
decoded, so a decompression bomb costs a header read, not gigabytes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vsrcore.errors import MediaError, UserFacingError


DEFAULT_MAX_PIXELS = 64_000_000
MAX_PIXELS_ENV = "FLASHVSR_MAX_PIXELS"


class PixelCapExceeded(MediaError):
    """A frame whose declared size is above the pixel cap (or that the image library flags as a bomb)."""


def max_pixels() -> int:
    """The pixel cap per frame: $FLASHVSR_MAX_PIXELS, else DEFAULT_MAX_PIXELS."""
    env = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not env:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(env))
    except ValueError:
        raise UserFacingError(f"${MAX_PIXELS_ENV}={env!r} is not a number of pixels") from None
    if value < 1:
        raise UserFacingError(f"${MAX_PIXELS_ENV}={env!r} must be at least 1")
    return value


def set_max_pixels(value: int | None) -> None:
    """Make `value` the cap for this process and the workers it starts (None: leave the current setting)."""
    if value is None:
        return
    if value < 1:
        raise UserFacingError(f"--max-pixels must be at least 1, got {value}")
    os.environ[MAX_PIXELS_ENV] = str(int(value))


def _pixels(text: str) -> int:
    """argparse type: a pixel count, as an integer or with an M suffix (64M = 64,000,000)."""
    t = text.strip().upper()
    try:
        value = float(t[:-1]) * 1e6 if t.endswith("M") else float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a pixel count: '{text}' (e.g. 64000000 or 64M)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 pixel: '{text}'")
    return int(value)


def add_max_pixels_argument(parser: argparse.ArgumentParser) -> None:
    """Add `--max-pixels` (the one shared pixel cap) to a command's parser."""
    parser.add_argument(
        "--max-pixels",
        type=_pixels,
        default=None,
        metavar="N",
        help=f"refuse frames larger than N pixels, checked from the header before decoding "
        f"(default {DEFAULT_MAX_PIXELS // 1_000_000}M; also ${MAX_PIXELS_ENV})",
    )


def check_frame_size(path: str | Path, width: int, height: int, cap: int | None = None) -> None:
    """Raise PixelCapExceeded (one line naming the file) when width x height is above the cap (0: size not declared,
    nothing to check yet; the caller checks the first decoded frame)."""
    limit = max_pixels() if cap is None else cap
    if width < 0 or height < 0:
        raise MediaError(path, f"declares an invalid frame size {width}x{height}")
    if width * height > limit:
        raise PixelCapExceeded(
            path,
            f"declared frame size {width}x{height} ({width * height / 1e6:.1f} MP) is above the pixel cap of "
            f"{limit / 1e6:g} MP (--max-pixels / ${MAX_PIXELS_ENV})",
        )
