"""A watcher process that ends whatever a `flashvsr` command started once the command is gone, even after `kill -9`.

A killed command runs no cleanup of its own, and not every child can be told to die with it: a local Ray's
agents re-parent to init and live on, and a decoder child stuck in C code never polls. `start_reaper()` spawns a
small process (plain Python, no project imports) that records the command's process tree (every descendant, by
parent pid, with its start time) once a second; when the command's pid is gone, it sends SIGTERM to every
recorded process that is still the same process (same start time), waits up to 3 s, then SIGKILLs the rest.
After a normal exit there is usually nothing left, and it just exits. Linux only (it reads /proc); elsewhere a
no-op.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


Proc = tuple[int, int]  # (pid, start time in clock ticks since boot): a process, robust to pid reuse


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of `pid` from /proc, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name (field 2) may hold spaces and parentheses
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> set[Proc]:
    """Every process below `root` in the process tree (not `root` itself)."""
    children: dict[int, list[Proc]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                children.setdefault(st[0], []).append((int(entry), st[1]))
    found: set[Proc] = set()
    todo = [root]
    while todo:
        for proc in children.get(todo.pop(), []):
            if proc not in found:
                found.add(proc)
                todo.append(proc[0])
    return found


def alive(proc: Proc) -> bool:
    """True while the process `proc` (pid, start time) still runs (a zombie counts as gone)."""
    st = _stat(proc[0])
    if st is None or st[1] != proc[1]:
        return False
    try:
        return "\nState:\tZ" not in Path(f"/proc/{proc[0]}/status").read_text()
    except OSError:
        return False


def _kill(procs: set[Proc], sig: int) -> None:
    for proc in procs:
        if alive(proc):
            try:
                os.kill(proc[0], sig)
            except OSError:
                pass


def watch(root: int, interval_s: float = 1.0, grace_s: float = 3.0) -> None:
    """The reaper's main loop (runs in the watcher process): snapshot `root`'s tree until `root` ends, then end
    everything recorded."""
    import signal
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the command, which cleans up itself
    start = _stat(root)
    if start is None:
        return
    seen: set[Proc] = set()
    while alive((root, start[1])):
        seen = {p for p in seen if alive(p)} | descendants(root)
        seen.discard((os.getpid(), _stat(os.getpid())[1]))  # type: ignore[index]
        time.sleep(interval_s)
    seen = {p for p in seen if alive(p)}
    _kill(seen, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(p) for p in seen):
        time.sleep(0.1)
    _kill(seen, signal.SIGKILL)


def start_reaper() -> subprocess.Popen[bytes] | None:
    """Spawn the watcher for this process (Linux; None elsewhere or if it cannot start)."""
    if not sys.platform.startswith("linux") or os.environ.get("FLASHVSR_NO_REAPER"):
        return None
    here = str(Path(__file__).parent)
    code = f"import sys; sys.path.insert(0, {here!r}); import reaper; reaper.watch({os.getpid()})"
    try:
        return subprocess.Popen(
            [sys.executable, "-S", "-c", code],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
    except OSError:
        return None
