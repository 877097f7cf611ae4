"""Faults: a killed command leaves no process behind (the reaper; children that die with their parent), a full
disk is one line naming the output folder and the re-run completes, a missing curate input exits 2."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vsrcore.cli import main
from vsrcore.reaper import alive, descendants
from vsrcore.samples import sample_path


ROOT = Path(__file__).resolve().parents[2]


def _wait_gone(procs: set[tuple[int, int]], seconds: float = 10) -> list[tuple[int, int]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in procs):
        time.sleep(0.1)
    left = [p for p in procs if alive(p)]
    for pid, _ in left:
        subprocess.run(["kill", "-9", str(pid)])
    return left


# A driver that starts the reaper, then a detached grandchild (its own session, re-parented to init when its
# parent goes, as a local Ray's agents are) and a direct child; it prints their pids and waits to be killed.
_DRIVER = """
import os, subprocess, sys, time
from vsrcore.reaper import start_reaper
start_reaper()
sleeper = "[sys.executable, '-c', 'import time; time.sleep(300)']"
child = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
    f"subprocess.Popen({sleeper}, start_new_session=True); time.sleep(300)"])
print(child.pid, flush=True)
time.sleep(300)
"""


def test_reaper_ends_the_tree_of_a_killed_command() -> None:
    proc = subprocess.Popen([sys.executable, "-c", _DRIVER], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    deadline = time.monotonic() + 30
    tree: set[tuple[int, int]] = set()
    while time.monotonic() < deadline and len(tree) < 3:  # reaper, child, grandchild
        tree = descendants(proc.pid)
        time.sleep(0.2)
    assert len(tree) >= 3, tree
    settle = time.monotonic() + 1.5  # the reaper snapshots once a second; collect any later member too
    while time.monotonic() < settle:
        tree |= descendants(proc.pid)
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _wait_gone(tree) == []


def test_pool_workers_die_with_a_killed_parent_without_the_reaper(tmp_path: Path) -> None:
    code = (
        "import time\nfrom concurrent.futures import ProcessPoolExecutor\nimport multiprocessing as mp\n"
        "from degradation.batch import _pool_worker_init\nfrom vsrcore.guard import die_with_parent_args\n"
        "pool = ProcessPoolExecutor(2, mp_context=mp.get_context('spawn'), initializer=_pool_worker_init, "
        "initargs=(die_with_parent_args(),))\n"
        "futures = [pool.submit(time.sleep, 300) for _ in range(2)]\nprint('ready', flush=True)\ntime.sleep(300)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    workers: set[tuple[int, int]] = set()
    while time.monotonic() < deadline and len(workers) < 2:
        workers = {p for p in descendants(proc.pid) if "spawn_main" in Path(f"/proc/{p[0]}/cmdline").read_text()}
        time.sleep(0.2)
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _wait_gone(workers, 5) == []


def test_curate_on_a_missing_path_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no such folder"
    assert main(["curate", str(missing), "-o", str(tmp_path / "o"), "--local", "--preset", "samples"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"flashvsr curate: {missing}: no such file or folder"
    assert main(["curate", str(tmp_path / "*.mp4"), "-o", str(tmp_path / "o"), "--local"]) == 2
    assert "matches no file" in capsys.readouterr().err


@pytest.mark.slow
def test_full_disk_is_one_line_and_the_rerun_completes(tmp_path: Path) -> None:
    """A real ENOSPC: a 400 KiB tmpfs in a private mount namespace (`unshare -rm`: no root needed where user
    namespaces are allowed), grown to 200 MiB before the re-run."""
    if not shutil.which("unshare") or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("unshare -rm (user and mount namespaces) is not allowed here")
    disk = tmp_path / "disk"
    disk.mkdir()
    out = disk / "out"
    cli = (f"{sys.executable} -m vsrcore.cli degrade '{sample_path('city')}' -o '{out}' --preset bicubic "
           "--clip-frames 2 --quiet")  # fmt: skip
    script = f"""
mount -t tmpfs -o size=400k tmpfs '{disk}'
{cli} 2> '{tmp_path}/err1'; echo $? > '{tmp_path}/rc1'
ls '{out}/records' > '{tmp_path}/before'
mount -o remount,size=200m '{disk}'
{cli} 2> '{tmp_path}/err2'; echo $? > '{tmp_path}/rc2'
{sys.executable} -c "import pandas as pd, json; m = pd.read_parquet('{out}/manifest.parquet'); \
print(json.dumps(list(m['id'])))" > '{tmp_path}/ids'
"""
    subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT, timeout=600, check=True)
    err1 = (tmp_path / "err1").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "2", err1
    assert len(err1.strip().splitlines()) == 1 and "Traceback" not in err1
    assert err1.startswith(f"flashvsr degrade: {out}: No space left on device") and "re-run" in err1
    before = (tmp_path / "before").read_text().split()
    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "err2").read_text()
    ids = json.loads((tmp_path / "ids").read_text())
    assert len(ids) == len(set(ids)) == 50 and {b.removesuffix(".json") for b in before} <= set(ids)
    assert 0 < len(before) < 50  # the disk really filled mid-run


def test_degrade_cleanup_does_not_mask_the_error(tmp_path: Path, clip_folder: Path, monkeypatch) -> None:
    """When the run fails and rebuilding the manifest fails too, the first error is the one raised."""
    import errno

    from degradation import batch

    def fail_job(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def fail_manifest(_: Path) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", "manifest.parquet")

    monkeypatch.setattr(batch, "run_job", fail_job)
    monkeypatch.setattr(batch, "write_manifest", fail_manifest)
    with pytest.raises(batch.DiskFull, match=r": No space left on device; finished items are kept"):
        batch.run(clip_folder, tmp_path / "o", batch.DegradeSettings("bicubic", 0), progress=False)


@pytest.fixture
def clip_folder(tmp_path: Path) -> Path:
    from vsrcore import testing
    from vsrcore.video.write import write_video

    folder = tmp_path / "in"
    folder.mkdir()
    write_video(folder / "a.mkv", testing.moving_texture(3, 32, 48), fps=25, codec="ffv1")
    return folder


def test_upscale_removes_a_killed_runs_temporary_file(tmp_path: Path) -> None:
    from vsrcore import testing
    from vsrcore.video.write import write_video

    src = write_video(tmp_path / "in.mkv", testing.moving_texture(3, 16, 24), fps=25, codec="ffv1")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.{int(dead.stdout)}-0123abcd.tmp.mkv"  # a dead writer's partial file
    live = tmp_path / f".out.{os.getpid()}-89abcdef.tmp.mkv"  # a running writer's: left alone
    stale.write_bytes(b"partial")
    live.write_bytes(b"partial")
    assert main(["upscale", str(src), "-o", str(tmp_path / "out.mkv"), "--model", "bicubic", "--scale", "2",
                 "--quiet"]) == 0  # fmt: skip
    assert not stale.exists() and live.exists()
