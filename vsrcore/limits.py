"""Input limits shared by every command that decodes images or videos: the pixel cap per frame and the
decoded-bytes budget per item.

`--max-pixels` (on `degrade`, `curate`, `upscale`) sets $FLASHVSR_MAX_PIXELS for this process and the worker
processes it starts (process pools and a local Ray inherit the environment); default 64 MP per frame. The cap is
checked against the size a file declares (image header, video stream parameters) before any full frame is
decoded, so a decompression bomb costs a header read, not gigabytes.

The decoded-bytes budget ($FLASHVSR_MAX_DECODED_BYTES, `--max-decoded-bytes`; default 8 GiB) bounds what one
item holds decoded in memory at once: a clip read whole (frames x height x width x 3 bytes), a frame folder, a
chunk of a streamed video. It is checked from the declared sizes and planned frame counts before decoding, and
again on the running total while decoding (a header may understate either).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vsrcore.errors import MediaError, UserFacingError


DEFAULT_MAX_PIXELS = 64_000_000
MAX_PIXELS_ENV = "FLASHVSR_MAX_PIXELS"
DEFAULT_MAX_DECODED_BYTES = 8 << 30
MAX_DECODED_BYTES_ENV = "FLASHVSR_MAX_DECODED_BYTES"


class PixelCapExceeded(MediaError):
    """A frame whose declared size is above the pixel cap (or that the image library flags as a bomb)."""


class DecodedBytesExceeded(MediaError):
    """An item whose decoded frames would take more memory than the decoded-bytes budget."""


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


def max_decoded_bytes() -> int:
    """The decoded-bytes budget per item: $FLASHVSR_MAX_DECODED_BYTES, else DEFAULT_MAX_DECODED_BYTES."""
    env = os.environ.get(MAX_DECODED_BYTES_ENV, "").strip()
    if not env:
        return DEFAULT_MAX_DECODED_BYTES
    try:
        value = _parse_bytes(env)
    except ValueError:
        raise UserFacingError(f"${MAX_DECODED_BYTES_ENV}={env!r} is not a number of bytes (e.g. 8G)") from None
    if value < 1:
        raise UserFacingError(f"${MAX_DECODED_BYTES_ENV}={env!r} must be at least 1")
    return value


def set_max_decoded_bytes(value: int | None) -> None:
    """Make `value` the budget for this process and the workers it starts (None: leave the current setting)."""
    if value is None:
        return
    if value < 1:
        raise UserFacingError(f"--max-decoded-bytes must be at least 1, got {value}")
    os.environ[MAX_DECODED_BYTES_ENV] = str(int(value))


def _parse_bytes(text: str) -> int:
    """'8G', '512M', '1.5T', '1000000' -> bytes (K/M/G/T are powers of 1024)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(t[-1:], 1)
    return int(float(t[:-1] if scale > 1 else t) * scale)


def _bytes_arg(text: str) -> int:
    """argparse type: a byte count such as 8G."""
    try:
        value = _parse_bytes(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a byte count: '{text}' (e.g. 8G or 512M)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte: '{text}'")
    return value


def add_input_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--max-pixels` and `--max-decoded-bytes` (the shared input limits) to a command's parser."""
    add_max_pixels_argument(parser)
    parser.add_argument(
        "--max-decoded-bytes",
        type=_bytes_arg,
        default=None,
        metavar="N",
        help=f"refuse an item whose decoded frames would hold more than N bytes at once, e.g. 4G "
        f"(default {DEFAULT_MAX_DECODED_BYTES >> 30}G; also ${MAX_DECODED_BYTES_ENV})",
    )


def apply_input_limits(args: argparse.Namespace) -> None:
    """Set the limits given on the command line (see `add_input_limit_arguments`) for this process and its workers."""
    set_max_pixels(getattr(args, "max_pixels", None))
    set_max_decoded_bytes(getattr(args, "max_decoded_bytes", None))


def check_decoded_bytes(
    path: str | Path, nbytes: int, what: str = "decoded frames", budget: int | None = None
) -> None:
    """Raise DecodedBytesExceeded (one line naming the file) when `nbytes` of `what` exceed the budget."""
    limit = max_decoded_bytes() if budget is None else budget
    if nbytes > limit:
        raise DecodedBytesExceeded(
            path,
            f"{what} would take {nbytes / 2**30:.2f} GiB, above the decoded-bytes budget of {limit / 2**30:.2f} GiB "
            f"(--max-decoded-bytes / ${MAX_DECODED_BYTES_ENV})",
        )


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
