"""Decoding one image (file or bytes) to uint8 RGB (H, W, C), with the pixel cap checked from the header first.

PIL's `Image.open` reads only the header, so the declared size is known before any pixel is decoded. PIL's own
decompression-bomb guard (an error above twice `Image.MAX_IMAGE_PIXELS`) becomes the same one-line
PixelCapExceeded as our cap, never a traceback.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from vsrcore.errors import MediaError
from vsrcore.limits import PixelCapExceeded, check_decoded_bytes, check_frame_size, max_pixels


def _header_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the header; PIL's DecompressionBombError passes through, MediaError when unreadable."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return im.size
    except Image.DecompressionBombError:
        raise
    except (OSError, ValueError, SyntaxError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise MediaError(path, f"not a readable image ({reason})") from None


def declared_size(path: str | Path) -> tuple[int, int]:
    """(width, height) an image file declares in its header (nothing decoded); MediaError when unreadable."""
    from PIL import Image

    try:
        return _header_size(path)
    except Image.DecompressionBombError:
        return (Image.MAX_IMAGE_PIXELS or 0) + 1, 1  # above any cap PIL enforces; decode_image says why


def check_declared_size(path: str | Path) -> tuple[int, int]:
    """(width, height) an image file declares, checked against the pixel cap from the header alone (nothing
    decoded): PixelCapExceeded naming the file (PIL's bomb guard included), MediaError when unreadable."""
    from PIL import Image

    cap = max_pixels()
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < cap:
        Image.MAX_IMAGE_PIXELS = cap  # PIL's own guard must not refuse what our cap allows
    try:
        size = _header_size(path)
    except Image.DecompressionBombError as e:
        raise PixelCapExceeded(
            path, f"declared image size is above the pixel cap of {cap / 1e6:g} MP (--max-pixels; PIL: {e})"
        ) from None
    check_frame_size(path, *size, cap=cap)
    return size


def decode_image(source: str | Path | bytes, name: str | Path | None = None) -> np.ndarray:
    """One image as uint8 RGB (H, W, C). `source` is a path or the file's bytes; `name` is what errors call it
    (default: the path). MediaError (one line) for an unreadable image or one above the pixel cap."""
    from PIL import Image

    label = name if name is not None else (source if not isinstance(source, bytes) else "<image bytes>")
    cap = max_pixels()
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < cap:
        Image.MAX_IMAGE_PIXELS = cap  # PIL's own guard must not refuse what our cap allows
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our cap below decides
            im = Image.open(fp)
        with im:
            check_frame_size(label, *im.size, cap=cap)
            check_decoded_bytes(label, im.size[0] * im.size[1] * 3, f"the decoded {im.size[0]}x{im.size[1]} image")
            return np.asarray(im.convert("RGB"))
    except Image.DecompressionBombError as e:
        raise PixelCapExceeded(
            label, f"declared image size is above the pixel cap of {cap / 1e6:g} MP (--max-pixels; PIL: {e})"
        ) from None
    except (OSError, ValueError, SyntaxError) as e:  # PIL reports corrupt data with these
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise MediaError(label, f"not a readable image ({reason})") from None
