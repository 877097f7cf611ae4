"""Random-access frame sampling (decord, or PyAV seeking where decord is absent) in a guarded child process.

Decoders can hang or crash on damaged files. The reader runs them in a separate process and waits at
most `timeout_s` per request; a hang or a crash becomes a one-line MediaError for that file, the child
is restarted, and the calling job carries on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vsrcore.deps import is_available
from vsrcore.guard import GuardedWorker
from vsrcore.limits import check_decoded_bytes, check_frame_size
from vsrcore.video.decode import rotate_frame
from vsrcore.video.probe import check_file, probe


def _read_decord(path: str, indices: list[int]) -> np.ndarray:
    import decord

    reader = decord.VideoReader(path, num_threads=1)
    n = len(reader)
    bad = [i for i in indices if i >= n]
    if bad:
        raise IndexError(f"frame {bad[0]} out of range (video has {n} frames)")
    return reader.get_batch(indices).asnumpy()


def _read_pyav(path: str, indices: list[int]) -> np.ndarray:
    """Seek to the keyframe before each wanted frame and decode forward (constant frame rate assumed)."""
    import av

    out: dict[int, np.ndarray] = {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate)
        tb = float(stream.time_base)
        t0 = stream.start_time or 0
        for target in sorted(set(indices)):
            # Some demuxers (MPEG-PS) land after the requested time: back off until we land before it.
            for back_s in (0.0, 1.0, 10.0, None):
                if back_s is None:
                    container.seek(0)
                else:
                    ts = max(t0, int(t0 + (target / rate - back_s) / tb))
                    container.seek(ts, stream=stream, backward=True, any_frame=False)
                frame_at = None
                for frame in container.decode(stream):
                    idx = int(round(((frame.pts or 0) - t0) * tb * rate))
                    if idx >= target:
                        frame_at = (idx, frame)
                        break
                if frame_at is None and back_s is None:
                    raise IndexError(f"frame {target} out of range")
                if frame_at is not None and frame_at[0] == target:
                    out[target] = frame_at[1].to_ndarray(format="rgb24")
                    break
            else:
                raise IndexError(f"frame {target} not reachable by seeking")
    return np.stack([out[i] for i in indices])


# decord's frame indexing matches sequential decoding on these containers; elsewhere (MPEG-PS/TS open
# GOPs) it was seen off by a GOP, so PyAV seeking is used there.
_DECORD_CONTAINERS = ("mov", "mp4", "matroska", "webm", "avi")


def read_indices(path: str, indices: list[int], backend: str, container: str) -> tuple[np.ndarray, str]:
    """Frames at `indices` (uint8 RGB (N, H, W, C), not rotated) and the decoder that served them."""
    if backend == "decord" and any(c in _DECORD_CONTAINERS for c in container.split(",")):
        try:
            return _read_decord(path, indices), "decord"
        except IndexError:
            raise
        except Exception:
            pass  # decord rejects some codecs/pixel formats: PyAV below
    return _read_pyav(path, indices), "pyav"


class RandomAccessReader:
    """Reads chosen frames (decode-order indices) from videos, guarded by a timeout.

    Use as a context manager; one child process (`vsrcore.guard.GuardedWorker`) is reused across calls.
    `backend` is "decord", "pyav" or "auto" (decord where installed). decord reads MP4/MOV/MKV/WebM/AVI;
    other containers (MPEG-PS/TS) and files decord rejects are read by PyAV seeking, which gives the same
    frames.

    Example:
        with RandomAccessReader(timeout_s=30) as reader:
            frames = reader.get("clip.mp4", [0, 10, 20])   # uint8 (3, H, W, C) RGB
    """

    def __init__(self, timeout_s: float = 60.0, backend: str = "auto") -> None:
        if backend == "auto":
            backend = "decord" if is_available("decord") else "pyav"
        if backend not in ("decord", "pyav"):
            raise ValueError(f"unknown random-access backend '{backend}' (use decord, pyav or auto)")
        self.backend = backend
        self._worker = GuardedWorker(timeout_s, label=f"{backend} decoder")
        self.last_backend: str | None = None  # which decoder served the last request

    @property
    def timeout_s(self) -> float:
        return self._worker.timeout_s

    @timeout_s.setter
    def timeout_s(self, value: float) -> None:
        self._worker.timeout_s = value

    @property
    def _proc(self) -> object:
        return self._worker.process

    def get(self, path: str | Path, indices: list[int]) -> np.ndarray:
        """Frames at `indices` as uint8 RGB (N, H, W, C), rotated for display like `iter_frames`."""
        p = check_file(path)
        meta = probe(p)
        check_frame_size(p, meta.coded_width, meta.coded_height)  # before the decoder allocates a frame
        if not indices:
            return np.zeros((0, meta.height, meta.width, 3), np.uint8)
        if min(indices) < 0:
            raise ValueError("frame indices must be >= 0")
        size = meta.coded_width * meta.coded_height * 3
        check_decoded_bytes(p, len(indices) * size, f"{len(indices)} decoded frames of {meta.width}x{meta.height}")
        frames, self.last_backend = self._worker.call(
            "vsrcore.video.random_access:read_indices",
            str(p),
            [int(i) for i in indices],
            self.backend,
            meta.container,
            path=p,
        )
        if meta.rotation:
            return np.stack([rotate_frame(f, meta.rotation) for f in frames])
        return frames

    def close(self) -> None:
        """Stop the child process."""
        self._worker.close()

    def __enter__(self) -> RandomAccessReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sample_frames(path: str | Path, indices: list[int], timeout_s: float = 60.0, backend: str = "auto") -> np.ndarray:
    """One-off random access: uint8 RGB (N, H, W, C) frames at `indices` (see RandomAccessReader)."""
    with RandomAccessReader(timeout_s=timeout_s, backend=backend) as reader:
        return reader.get(path, indices)
