"""Run an external tool as a child process and measure it: wall time, peak RSS, peak GPU memory.

- Wall time: from start to exit of the child (process start-up and model loading included).
- Peak RSS: `os.wait4`'s `ru_maxrss` of the child. Linux folds the peak of every descendant the child waited for
  into it, so this is the largest resident set of any single process of the tree (a shell, torchrun and its
  workers), not their sum.
- Peak GPU memory: none of the wrapped projects reports it, so when `nvidia-smi` is on PATH it is sampled every
  `gpu_poll_s` while the child runs (a sampled peak: a shorter spike can be missed). Per process first: the
  `used_memory` of compute apps whose session is the child's (it starts a new session, which its descendants
  inherit), summed per sample. When nvidia-smi lists none of them (a container whose PID namespace differs), the
  device total minus the total before the start is used, which counts other processes too; `gpu_source` says
  which one a number is.

The child runs in its own session, so a timeout or an interrupt of the benchmark kills its whole tree.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


GPU_PER_PROCESS = "nvidia-smi per process (sampled)"
GPU_DEVICE_DELTA = "nvidia-smi device total minus the total before the run (sampled; other processes included)"


@dataclass(frozen=True)
class ChildRun:
    """What one run of a tool did: exit status (negative: killed by that signal), its measurements, its log."""

    returncode: int
    seconds: float
    peak_rss_gb: float
    peak_gpu_gb: float | None
    gpu_source: str | None
    timed_out: bool
    log: Path

    def tail(self, lines: int = 1) -> str:
        """The last non-empty lines of the tool's output (stdout and stderr together)."""
        text = self.log.read_text(errors="replace").strip().splitlines() if self.log.is_file() else []
        return " | ".join(line.strip() for line in text[-lines:]) or "no output"


def _nvidia_smi(*query: str) -> list[list[str]]:
    try:
        out = subprocess.run(
            ["nvidia-smi", *query, "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    return [[c.strip() for c in line.split(",")] for line in out.stdout.splitlines() if line.strip()]


def _device_total_mib() -> float:
    return sum(float(r[0]) for r in _nvidia_smi("--query-gpu=memory.used") if r and r[0].replace(".", "").isdigit())


def _session_mib(session: int) -> float | None:
    """GPU MiB used by processes of `session` now; None when nvidia-smi lists none of them."""
    used, seen = 0.0, False
    for row in _nvidia_smi("--query-compute-apps=pid,used_memory"):
        if len(row) < 2 or not row[0].isdigit() or not row[1].replace(".", "").isdigit():
            continue
        try:
            if os.getsid(int(row[0])) != session:
                continue
        except OSError:  # gone, or a PID of another namespace
            continue
        used, seen = used + float(row[1]), True
    return used if seen else None


class _GpuSampler(threading.Thread):
    """Samples GPU memory of the child's session until stopped."""

    def __init__(self, session: int, poll_s: float) -> None:
        super().__init__(daemon=True)
        self.session, self.poll_s = session, poll_s
        self.baseline = _device_total_mib()
        self.peak_process: float | None = None
        self.peak_delta = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            mine = _session_mib(self.session)
            if mine is not None:
                self.peak_process = max(self.peak_process or 0.0, mine)
            self.peak_delta = max(self.peak_delta, _device_total_mib() - self.baseline)
            if self._stop_event.wait(self.poll_s):
                return

    def stop(self) -> tuple[float | None, str | None]:
        """(peak GB, source); the per-process figure when any sample matched the child, else the device delta."""
        self._stop_event.set()
        self.join()
        if self.peak_process is not None:
            return self.peak_process / 1024, GPU_PER_PROCESS
        return self.peak_delta / 1024, GPU_DEVICE_DELTA


def run_child(
    command: str,
    *,
    cwd: Path | None,
    env: dict[str, str],
    timeout_s: float,
    log: Path,
    gpu_poll_s: float = 0.5,
) -> ChildRun:
    """Run the shell `command` in `cwd` with `env` added to the environment, output to `log`; never raises for a
    failure of the tool (see `ChildRun.returncode`, `timed_out`)."""
    sampler_wanted = shutil.which("nvidia-smi") is not None
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            command,
            shell=True,
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    sampler = _GpuSampler(proc.pid, gpu_poll_s) if sampler_wanted else None
    if sampler:
        sampler.start()
    timed_out = threading.Event()

    def _kill() -> None:
        timed_out.set()
        _killpg(proc.pid)

    timer = threading.Timer(timeout_s, _kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # interrupted: take the whole tree down with us
        _killpg(proc.pid)
        proc.wait()
        raise
    finally:
        timer.cancel()
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it; tell Popen
    _killpg(proc.pid)  # descendants the tool left behind
    peak_gpu, source = sampler.stop() if sampler else (None, None)
    return ChildRun(
        returncode=proc.returncode,
        seconds=seconds,
        peak_rss_gb=usage.ru_maxrss * 1024 / 2**30,  # ru_maxrss is in KiB on Linux
        peak_gpu_gb=peak_gpu,
        gpu_source=source,
        timed_out=timed_out.is_set(),
        log=log,
    )


def _killpg(session: int) -> None:
    try:
        os.killpg(session, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
