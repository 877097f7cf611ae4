"""Child processes that cannot outlive the job: decoder calls in a guarded child, and pool workers.

Decoder-facing functions run in a guarded child process, where a hang or a crash becomes a MediaError.

Decoders (FFmpeg through PyAV or PySceneDetect, decord) can hang or crash on damaged files. A
`GuardedWorker` keeps one spawned child process and sends it calls by import path; each call waits at
most `timeout_s`. On a timeout the child is killed; if the child dies, the call fails; either way the
error names the file, the next call starts a fresh child, and the calling job carries on.
"""

from __future__ import annotations

import ctypes
import importlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from vsrcore.errors import MediaError


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int, signal_on_death: bool = True) -> None:
    """End this process when its parent `parent_pid` dies, even by `kill -9`: call it first thing in a child (a
    pool initializer, a worker's main).

    Two mechanisms: on Linux, PR_SET_PDEATHSIG makes the kernel send SIGKILL when the parent goes (works even
    while this process is stuck in C code). The kernel ties that signal to the *thread* that spawned the child,
    so the parent passes `signal_on_death=False` when it spawns from a thread that may end before it. Everywhere,
    a daemon thread polls the parent pid twice a second and calls `os._exit` once the child has been re-parented.
    A child whose parent is already gone exits at once.
    """
    if signal_on_death and sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before we got here: nobody will signal us
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def die_with_parent_args() -> tuple[int, bool]:
    """The arguments a parent passes to `die_with_parent` in the child it is about to spawn from this thread."""
    return os.getpid(), threading.current_thread() is threading.main_thread()


def _serve(conn: Any, parent: tuple[int, bool]) -> None:
    die_with_parent(*parent)
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
        self._proc = ctx.Process(target=_serve, args=(child, die_with_parent_args()), daemon=True)
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
