"""Random-access frame sampling (decord, or PyAV seeking where decord is absent) in a guarded child process.

Decoders can hang or crash on damaged files. The reader runs them in a separate process and waits at
most `timeout_s` per request; a hang or a crash becomes a one-line MediaError for that file, the child
is restarted, and the calling job carries on.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import numpy as np

from vsrcore.deps import is_available
from vsrcore.errors import MediaError
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


def _worker(conn: Any, backend: str) -> None:
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        path, indices, container = request
        try:
            used = "pyav"
            if backend == "decord" and any(c in _DECORD_CONTAINERS for c in container.split(",")):
                try:
                    frames, used = _read_decord(path, indices), "decord"
                except IndexError:
                    raise
                except Exception:
                    frames = _read_pyav(path, indices)  # decord rejects some codecs/pixel formats
            else:
                frames = _read_pyav(path, indices)
            conn.send(("ok", frames, used))
        except Exception as e:  # reported to the parent, which raises MediaError
            conn.send(("error", f"{type(e).__name__}: {e}".splitlines()[0], None))


class RandomAccessReader:
    """Reads chosen frames (decode-order indices) from videos, guarded by a timeout.

    Use as a context manager; one child process is reused across calls. `backend` is "decord",
    "pyav" or "auto" (decord where installed). decord reads MP4/MOV/MKV/WebM/AVI; other containers
    (MPEG-PS/TS) and files decord rejects are read by PyAV seeking, which gives the same frames.

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
        self.timeout_s = timeout_s
        self._proc: Any = None
        self._conn: Any = None
        self.last_backend: str | None = None  # which decoder served the last request

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_worker, args=(child, self.backend), daemon=True)
        self._proc.start()
        child.close()

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def get(self, path: str | Path, indices: list[int]) -> np.ndarray:
        """Frames at `indices` as uint8 RGB (N, H, W, C), rotated for display like `iter_frames`."""
        p = check_file(path)
        meta = probe(p)
        if not indices:
            return np.zeros((0, meta.height, meta.width, 3), np.uint8)
        if min(indices) < 0:
            raise ValueError("frame indices must be >= 0")
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._start()
        self._conn.send((str(p), [int(i) for i in indices], meta.container))
        if not self._conn.poll(self.timeout_s):
            self._kill()
            raise MediaError(p, f"{self.backend} decoder timed out after {self.timeout_s:g} s")
        try:
            status, payload, self.last_backend = self._conn.recv()
        except (EOFError, ConnectionError):
            code = self._proc.exitcode if self._proc is not None else None
            self._kill()
            raise MediaError(p, f"{self.backend} decoder crashed (exit code {code})") from None
        if status != "ok":
            raise MediaError(p, f"random access failed ({payload})")
        if meta.rotation:
            return np.stack([rotate_frame(f, meta.rotation) for f in payload])
        return payload

    def close(self) -> None:
        """Stop the child process."""
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(2)
            except (BrokenPipeError, OSError):
                pass
        self._kill()

    def __enter__(self) -> RandomAccessReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._kill()
        except Exception:
            pass


def sample_frames(path: str | Path, indices: list[int], timeout_s: float = 60.0, backend: str = "auto") -> np.ndarray:
    """One-off random access: uint8 RGB (N, H, W, C) frames at `indices` (see RandomAccessReader)."""
    with RandomAccessReader(timeout_s=timeout_s, backend=backend) as reader:
        return reader.get(path, indices)
