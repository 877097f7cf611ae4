"""Tiny user dataset folders (gt/ and/or lq/ of real encoded videos and frame folders) for the benchmark tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from vsrcore import testing


# clip name -> GT (height, width): clips of different sizes in one folder
SIZES: dict[str, tuple[int, int]] = {"a": (48, 64), "b": (64, 96)}


def hr_clip(name: str, height: int, width: int, frames: int = 4) -> np.ndarray:
    """A moving texture, different per clip name."""
    return testing.moving_texture(frames, height, width, dx=1, seed=sum(map(ord, name)))


def make_folder(
    root: Path, sizes: dict[str, tuple[int, int]] = SIZES, *, gt: bool = True, lq: bool = True, frames: int = 4
) -> Path:
    """`root/gt/<clip>.mp4` and/or `root/lq/<clip>.mp4` (H.264), the LQ a x4 bicubic reduction of the GT."""
    from degradation.pipeline import degrade
    from vsrcore.video.write import write_video

    for name, (h, w) in sizes.items():
        hr = hr_clip(name, h, w, frames)
        if gt:
            write_video(root / "gt" / f"{name}.mp4", hr, fps=25)
        if lq:
            write_video(root / "lq" / f"{name}.mp4", degrade(hr, "bicubic", seed=0, scale=4).lq, fps=25)
    return root


def size_switching_video(path: Path, sizes: tuple[tuple[int, int], ...], frames: int = 3) -> Path:
    """An MPEG-2 video whose frame size changes mid-stream (elementary streams of each (height, width) in turn, as
    concatenated recordings are): decoders give frames of each size."""
    import av

    data = b""
    for h, w in sizes:
        buf = io.BytesIO()
        with av.open(buf, "w", format="mpeg2video") as out:
            s = out.add_stream("mpeg2video", rate=25)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            for f in hr_clip("switch", h, w, frames):
                for pk in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                    out.mux(pk)
            for pk in s.encode():
                out.mux(pk)
        data += buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def add_broken_clips(root: Path) -> None:
    """Two clips that fail alone: 'junk' (random bytes as .mp4) and 'switch' (an LQ video whose frames change size
    mid-stream), each with a GT partner."""
    from vsrcore.video.write import write_video

    (root / "gt" / "junk.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    (root / "lq" / "junk.mp4").write_bytes(np.random.default_rng(1).bytes(1024))
    write_video(root / "gt" / "switch.mp4", hr_clip("switch", 48, 64, 6), fps=25)
    size_switching_video(root / "lq" / "switch.mpg", ((12, 16), (16, 24)))
