"""Hang guard for in-process decoding: a decode that makes no progress for N seconds ends with a MediaError.

FFmpeg can block for good on hostile input: a playlist-like file that opens a FIFO, a demuxer looping on
damaged data. The decode runs in a daemon thread (PyAV releases the GIL inside FFmpeg calls) and hands each
result to the caller through a small queue; when nothing arrives for `stall_timeout_s()` seconds the caller gets
`<file>: decoding made no progress for N s (hung decoder); abandoned` and carries on with its next item.

A thread stuck inside FFmpeg cannot be killed: it is abandoned (a daemon, so it never delays the exit) and holds
its file open until the process ends. Random access runs in a killable child process instead
(`vsrcore.guard.GuardedWorker`, used by `vsrcore.video.random_access`).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from vsrcore.errors import MediaError, UserFacingError


T = TypeVar("T")

STALL_ENV = "FLASHVSR_DECODE_STALL_S"
DEFAULT_STALL_S = 60.0


def stall_timeout_s() -> float:
    """Seconds a decode may go without progress: $FLASHVSR_DECODE_STALL_S, else 60 (0 turns the guard off)."""
    env = os.environ.get(STALL_ENV, "").strip()
    if not env:
        return DEFAULT_STALL_S
    try:
        value = float(env)
    except ValueError:
        raise UserFacingError(f"${STALL_ENV}={env!r} is not a number of seconds") from None
    if value < 0:
        raise UserFacingError(f"${STALL_ENV}={env!r} must be 0 (off) or more")
    return value


def _stalled(path: str | Path, what: str, timeout: float) -> MediaError:
    return MediaError(path, f"{what} made no progress for {timeout:g} s (hung decoder); abandoned")


def watched_call(
    fn: Callable[[], T], *, path: str | Path, what: str = "decoding", timeout_s: float | None = None
) -> T:
    """Run `fn()` (one open/probe/demux of `path`) in a guarded thread; MediaError if it takes longer than the
    stall timeout. Its own exceptions are re-raised here."""
    timeout = stall_timeout_s() if timeout_s is None else timeout_s
    if timeout == 0:
        return fn()
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as e:  # handed to the caller
            outcome["error"] = e
        finally:
            done.set()

    threading.Thread(target=target, daemon=True, name=f"flashvsr-decode {Path(path).name}").start()
    if not done.wait(timeout):
        raise _stalled(path, what, timeout)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def watched_iter(
    make: Callable[[], Iterator[T]], *, path: str | Path, what: str = "decoding", timeout_s: float | None = None
) -> Iterator[T]:
    """Iterate `make()` in a guarded thread: each next item must arrive within the stall timeout of being asked
    for (time the caller spends on an item does not count). Closing this generator stops the thread's."""
    timeout = stall_timeout_s() if timeout_s is None else timeout_s
    if timeout == 0:
        yield from make()
        return
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                q.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            items = make()
            try:
                for item in items:
                    if not put("item", item):
                        return
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
            put("end", None)
        except BaseException as e:  # handed to the caller
            put("error", e)

    threading.Thread(target=produce, daemon=True, name=f"flashvsr-decode {Path(path).name}").start()
    try:
        while True:
            try:
                kind, value = q.get(timeout=timeout)
            except queue.Empty:
                raise _stalled(path, what, timeout) from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
