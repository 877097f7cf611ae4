"""Synthetic clips with known content (motion, cuts, colours, audio) for tests of every package.

Frames are uint8 RGB (T, H, W, C). Everything is deterministic given its arguments.
"""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np


# Eight saturated colours, far apart in RGB, for colour-exactness checks.
KNOWN_COLOURS = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255], [255, 255, 255], [0, 0, 0]],
    dtype=np.uint8,
)


def smooth_texture(height: int, width: int, seed: int = 0, scale: int = 8) -> np.ndarray:
    """A smooth random RGB texture (H, W, C) uint8: low-frequency noise that flow and codecs handle well."""
    rng = np.random.default_rng(seed)
    small = rng.random((height // scale + 2, width // scale + 2, 3))
    ys = np.linspace(0, small.shape[0] - 1.001, height)
    xs = np.linspace(0, small.shape[1] - 1.001, width)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = small[y0][:, x0] * (1 - fx) + small[y0][:, x0 + 1] * fx
    bottom = small[y0 + 1][:, x0] * (1 - fx) + small[y0 + 1][:, x0 + 1] * fx
    return np.clip((top * (1 - fy) + bottom * fy) * 255, 0, 255).astype(np.uint8)


def moving_texture(
    frames: int = 16, height: int = 48, width: int = 64, *, dx: int = 2, dy: int = 0, seed: int = 0
) -> np.ndarray:
    """A texture translating by (dx, dy) pixels per frame (wrapping around): known global motion."""
    base = smooth_texture(height, width, seed)
    return np.stack([np.roll(base, (t * dy, t * dx), axis=(0, 1)) for t in range(frames)])


def hard_cut_clip(
    shot_lengths: tuple[int, ...] = (12, 12, 12), height: int = 48, width: int = 64, *, seed: int = 0
) -> tuple[np.ndarray, list[int]]:
    """Shots of unrelated textures with slow motion; returns (frames, first frame index of each new shot)."""
    shots, cuts, start = [], [], 0
    for i, n in enumerate(shot_lengths):
        tint = KNOWN_COLOURS[i % 6].astype(np.float32) / 255.0
        clip = moving_texture(n, height, width, dx=1, seed=seed + 101 * i).astype(np.float32)
        shots.append(np.clip(clip * (0.35 + 0.65 * tint), 0, 255).astype(np.uint8))
        if i:
            cuts.append(start)
        start += n
    return np.concatenate(shots), cuts


def colour_bars(frames: int = 4, height: int = 32, width: int = 64) -> np.ndarray:
    """Vertical bars of KNOWN_COLOURS, identical in every frame."""
    idx = (np.arange(width) * len(KNOWN_COLOURS)) // width
    frame = np.broadcast_to(KNOWN_COLOURS[idx][None], (height, width, 3))
    return np.ascontiguousarray(np.broadcast_to(frame[None], (frames, height, width, 3)))


def sine_audio(seconds: float, rate: int = 48000, freq: float = 440.0, channels: int = 2) -> np.ndarray:
    """float32 (channels, samples) sine tone at amplitude 0.5."""
    t = np.arange(int(round(seconds * rate))) / rate
    tone = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(tone[None], channels, axis=0)


def write_clip_with_audio(
    path: str | Path,
    frames: np.ndarray,
    fps: int,
    audio: np.ndarray,
    *,
    rate: int = 48000,
    video_codec: str = "libx264",
    audio_codec: str = "aac",
) -> Path:
    """Write frames plus planar float audio (channels, samples) into one file (tests of audio passthrough)."""
    import av

    path = Path(path)
    with av.open(str(path), mode="w") as out:
        vs = out.add_stream(video_codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        layout = "stereo" if audio.shape[0] == 2 else "mono"
        as_ = out.add_stream(audio_codec, rate=rate, layout=layout)
        fmt = "fltp" if audio_codec in ("aac", "libopus") else "s16"
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        for f in frames:
            for pk in vs.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(pk)
        for pk in vs.encode():
            out.mux(pk)
        step = 1024
        for i in range(0, audio.shape[1], step):
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, i : i + step]), format="fltp", layout=layout)
            af.sample_rate = rate
            af.pts = i
            for rf in resampler.resample(af):
                for pk in as_.encode(rf):
                    out.mux(pk)
        for rf in resampler.resample(None):
            for pk in as_.encode(rf):
                out.mux(pk)
        for pk in as_.encode():
            out.mux(pk)
    return path


def ctrl_c_reaches_child() -> None:
    """`preexec_fn` for a child that a test will interrupt with SIGINT: reset SIGINT to its default.

    A process started in the background of a non-interactive shell (`make test &`, nohup, many CI runners)
    inherits SIGINT as *ignored*, and Python then never raises KeyboardInterrupt: the child would run to the end
    and the Ctrl-C contract could not be tested. With the default restored, the child's Python installs its
    KeyboardInterrupt handler as in a terminal.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
