"""Run decoder-facing functions in a guarded child process: a hang or a crash becomes a MediaError.

Decoders (FFmpeg through PyAV or PySceneDetect, decord) can hang or crash on damaged files. A
`GuardedWorker` keeps one spawned child process and sends it calls by import path; each call waits at
most `timeout_s`. On a timeout the child is killed; if the child dies, the call fails; either way the
error names the file, the next call starts a fresh child, and the calling job carries on.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
from pathlib import Path
from typing import Any

from vsrcore.errors import MediaError


def _serve(conn: Any) -> None:
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        target, args, kwargs = request
        try:
            module, _, attr = target.partition(":")
            result = getattr(importlib.import_module(module), attr)(*args, **kwargs)
            conn.send(("ok", result))
        except Exception as e:  # reported to the parent, which raises MediaError
            conn.send(("error", f"{type(e).__name__}: {e}".splitlines()[0]))


class GuardedWorker:
    """One reusable child process running `"module:function"` calls with a timeout.

    Example:
        with GuardedWorker(timeout_s=60, label="shot detection") as worker:
            shots = worker.call("curation.ops.shots:detect_shots", path, cfg, path=path)
    """

    def __init__(self, timeout_s: float = 60.0, label: str = "decoder") -> None:
        self.timeout_s = timeout_s
        self.label = label
        self._proc: Any = None
        self._conn: Any = None

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self._proc.start()
        child.close()

    def kill(self) -> None:
        """Stop the child at once (the next call starts a new one)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    @property
    def process(self) -> Any:
        """The current child process (None before the first call)."""
        return self._proc

    def call(self, target: str, *args: Any, path: str | Path, **kwargs: Any) -> Any:
        """Run target(*args, **kwargs) in the child; MediaError naming `path` on timeout, crash or error."""
        if self._proc is None or not self._proc.is_alive():
            self.kill()
            self._start()
        self._conn.send((target, args, kwargs))
        if not self._conn.poll(self.timeout_s):
            self.kill()
            raise MediaError(path, f"{self.label} timed out after {self.timeout_s:g} s")
        try:
            status, payload = self._conn.recv()
        except (EOFError, ConnectionError):
            code = self._proc.exitcode if self._proc is not None else None
            self.kill()
            raise MediaError(path, f"{self.label} crashed (exit code {code})") from None
        if status != "ok":
            raise MediaError(path, f"{self.label} failed ({payload})")
        return payload

    def close(self) -> None:
        """Ask the child to exit, then make sure it has."""
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(2)
            except (BrokenPipeError, OSError):
                pass
        self.kill()

    def __enter__(self) -> GuardedWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.kill()
        except Exception:
            pass
