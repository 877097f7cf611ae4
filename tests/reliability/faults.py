"""Fault rows of the reliability matrix: Ctrl-C, kill -9 and a full disk in the middle of real commands, then the
same command re-run. Each returns one `Row` (see run_matrix.py for the problem names)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from tests.reliability.run_matrix import ROOT, Row, Run, _env, common_problems, flashvsr, last_line, survivors


def _signal_when(ready: Callable[[], bool], sig: int, timeout_s: float = 240) -> Callable:
    """An on_start hook: send `sig` to the command once `ready()` holds (checked every 0.1 s)."""

    def hook(proc: subprocess.Popen, _: Path | None) -> None:
        def wait() -> None:
            deadline = time.monotonic() + timeout_s
            while proc.poll() is None and time.monotonic() < deadline:
                if ready():
                    proc.send_signal(sig)
                    return
                time.sleep(0.1)

        threading.Thread(target=wait, daemon=True).start()

    return hook


def _sample(name: str) -> str:
    from vsrcore.samples import sample_path

    return str(sample_path(name))


def _degrade_args(out: Path) -> list[str]:
    return ["degrade", _sample("city"), "-o", str(out), "--preset", "realbasicvsr", "--clip-frames", "2",
            "--workers", "2", "--quiet"]  # fmt: skip


def _check_degrade(out: Path, first: Run, rerun: Run, sig_rc: int, fault: str) -> Row:
    problems = [p for p in common_problems(first, None) if p not in ("bad-code",)]
    if first.rc not in (sig_rc, 130):
        problems.append("bad-code")
    orphans = survivors(first)
    if orphans:
        problems.append("orphan")
    problems += [p for p in common_problems(rerun, None) if p not in problems]
    note = ""
    if rerun.rc == 0:
        m = pd.read_parquet(out / "manifest.parquet")
        records = {p.stem for p in (out / "records").glob("*.json")}
        lqs = {p.stem for p in (out / "lq").glob("*") if not p.name.startswith(".")}
        temps = [p.name for p in out.rglob(".*tmp*")]
        if not m["id"].is_unique:
            problems.append("duplicate")
        if set(m["id"]) != records or lqs != records:
            problems.append("lost")
        if temps:
            problems.append("stale-temp")
        from vsrcore.video.decode import read_frames

        expected = -(-read_frames(_sample("city")).shape[0] // 2)
        if len(m) != expected:
            problems.append("lost")
        note = f"re-run: exit {rerun.rc}, {len(m)} clips of {expected}, ids unique: {m['id'].is_unique}"
    else:
        note = f"re-run: exit {rerun.rc}: {last_line(rerun.stderr)}"
    if orphans:
        note += f"; still running: {orphans}"
    return Row("faults", fault, "degrade", first.rc, last_line(first.stderr), first.seconds, problems, note)


def degrade_signal(sig: int, fault: str) -> Callable[[Path], Row]:
    def run(d: Path) -> Row:
        out = d / "out"
        first = flashvsr(
            _degrade_args(out), on_start=_signal_when(lambda: len(list((out / "records").glob("*.json"))) >= 3, sig)
        )
        rerun = flashvsr(_degrade_args(out), timeout=600)
        return _check_degrade(out, first, rerun, -sig, fault)

    return run


def degrade_disk_full(d: Path) -> Row:
    """A 400 KiB tmpfs in a private mount namespace (`unshare -rm`, no root needed where user namespaces are
    allowed): the run fills it (ENOSPC), then the tmpfs grows and the same command re-runs."""
    if not shutil.which("unshare") or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        return Row("faults", "disk full", "degrade", None, "unshare -rm not allowed here", 0.0, ["harness"])
    mnt = d / "disk"
    mnt.mkdir()
    out = mnt / "out"
    cli = f"{sys.executable} -m vsrcore.cli " + " ".join(f"'{a}'" for a in _degrade_args(out))
    script = f"""
set -u
mount -t tmpfs -o size=400k tmpfs '{mnt}'
{cli} 2> '{d}/err1'; echo $? > '{d}/rc1'
ls '{out}/records' | wc -l > '{d}/n1'
mount -o remount,size=200m '{mnt}'
{cli} 2> '{d}/err2'; echo $? > '{d}/rc2'
{sys.executable} -c "import pandas as pd, json; m = pd.read_parquet('{out}/manifest.parquet'); \
print(json.dumps({{'n': len(m), 'unique': bool(m['id'].is_unique)}}))" > '{d}/check'
"""
    t0 = time.monotonic()
    subprocess.run(["unshare", "-rm", "sh", "-c", script], env=_env(), cwd=ROOT, timeout=900)
    seconds = time.monotonic() - t0
    rc1, rc2 = (int((d / f).read_text()) for f in ("rc1", "rc2"))
    err1 = (d / "err1").read_text()
    check = json.loads((d / "check").read_text() or "{}")
    problems = common_problems(Run(rc1, "", err1, seconds), None)
    if rc1 != 2 or len(err1.strip().splitlines()) != 1 or str(out) not in err1:
        problems.append("bad-code" if rc1 != 2 else "unnamed")
    from vsrcore.video.decode import read_frames

    expected = -(-read_frames(_sample("city")).shape[0] // 2)
    if rc2 != 0 or check.get("n") != expected:
        problems.append("lost")
    if not check.get("unique", False):
        problems.append("duplicate")
    note = (f"{(d / 'n1').read_text().strip()} clips finished before the disk was full; re-run after growing it: "
            f"exit {rc2}, {check.get('n')} clips of {expected}, ids unique: {check.get('unique')}")  # fmt: skip
    return Row("faults", "disk full (tmpfs 400 KiB)", "degrade", rc1, last_line(err1), seconds, problems, note)


def upscale_signal(sig: int, fault: str) -> Callable[[Path], Row]:
    def run(d: Path) -> Row:
        out = d / "up.mkv"
        args = ["upscale", _sample("city"), "-o", str(out), "--model", "bicubic", "--scale", "4", "--quiet"]
        first = flashvsr(args, on_start=_signal_when(lambda: any(d.glob(".*tmp*")), sig))
        problems = [p for p in common_problems(first, None) if p != "bad-code"]
        if first.rc not in (-sig, 130):
            problems.append("bad-code")
        orphans = survivors(first)
        if orphans:
            problems.append("orphan")
        left = sorted(p.name for p in d.iterdir())
        note = f"left after the signal: {left or 'nothing'}"
        if out.exists():
            from vsrcore.video.decode import read_frames

            try:
                n = read_frames(out).shape[0]
                note += f" ({out.name}: {n} frames, a partial output under the final name)"
                if sig == signal.SIGKILL:
                    problems.append("stale-temp")
            except Exception:  # noqa: BLE001
                problems.append("stale-temp")
        rerun = flashvsr(args, timeout=600)
        problems += [p for p in common_problems(rerun, None) if p not in problems]
        temps = [p.name for p in d.glob(".*tmp*")]
        if temps:
            problems.append("stale-temp")
        note += f"; re-run: exit {rerun.rc}, temporary files left: {temps or 'none'}"
        return Row("faults", fault, "upscale", first.rc, last_line(first.stderr), first.seconds, problems, note)

    return run


def curate_signal(sig: int, fault: str) -> Callable[[Path], Row]:
    """curate on a local 2-CPU Ray: the signal comes once a clip is staged; then the same command re-runs."""

    def run(d: Path) -> Row:
        raw = d / "raw"
        raw.mkdir()
        for name in ("bikes", "carphone", "vtest"):
            shutil.copy(_sample(name), raw)
        out = d / "out"
        args = ["curate", str(raw), "-o", str(out), "--preset", "samples", "--num-cpus", "2", "--quiet"]
        staging = out / "state" / "staging"
        first = flashvsr(args, timeout=400, on_start=_signal_when(lambda: any(staging.glob("*.json")), sig, 380))
        problems = [p for p in common_problems(first, None) if p != "bad-code"]
        if first.rc not in (-sig, 130, 0):
            problems.append("bad-code")
        orphans = survivors(first)
        if orphans:
            problems.append("orphan")
        rerun = flashvsr(args, timeout=600)
        problems += [p for p in common_problems(rerun, None) if p not in problems]
        note = ""
        if rerun.rc == 0:
            m = pd.read_parquet(out / "manifest.parquet")
            done = {p.stem for p in (out / "state" / "sources").glob("*.json")}
            if not m["id"].is_unique:
                problems.append("duplicate")
            if len(done) != 3:
                problems.append("lost")
            note = f"re-run: exit 0, {len(done)} of 3 sources done, {len(m)} items, ids unique: {m['id'].is_unique}"
        else:
            note = f"re-run: exit {rerun.rc}: {last_line(rerun.stderr)}"
        if orphans:
            note += f"; still running: {orphans}"
        return Row("faults", fault, "curate (Ray)", first.rc, last_line(first.stderr), first.seconds, problems, note)

    return run


def bench_signal(sig: int, fault: str) -> Callable[[Path], Row]:
    def run(d: Path) -> Row:
        out = d / "results"
        args = ["bench", "--methods", "bicubic,lanczos", "--metrics", "psnr,ssim", "-o", str(out), "--quiet",
                "--no-leaderboard"]  # fmt: skip
        first = flashvsr(args, timeout=400, on_start=_signal_when(lambda: any(out.rglob("*.json*")), sig))
        problems = [p for p in common_problems(first, None) if p != "bad-code"]
        if first.rc not in (-sig, 130, 0):
            problems.append("bad-code")
        orphans = survivors(first)
        if orphans:
            problems.append("orphan")
        rerun = flashvsr(args, timeout=600)
        problems += [p for p in common_problems(rerun, None) if p not in problems]
        note = f"re-run: exit {rerun.rc}"
        if rerun.rc == 0:
            from benchmark.records import KEY
            from leaderboard.board import load_records

            recs = pd.DataFrame(load_records(out))
            # the record key: one suite scores each clip under several LQ protocols (bi, bd, realbasicvsr), which
            # differ in protocol_key only; (method, dataset, clip, metric) alone repeats once per protocol
            keys = [c for c in KEY if c in recs]
            dup = int(recs.duplicated(keys).sum()) if keys else 0
            if dup or len(keys) != len(KEY):
                problems.append("duplicate")
            not_ok = int((recs["status"] != "ok").sum())
            if not_ok:
                problems.append("lost")
            note += f", {len(recs)} records ({not_ok} not ok), {dup} duplicated on ({', '.join(keys)})"
        return Row("faults", fault, "bench", first.rc, last_line(first.stderr), first.seconds, problems, note)

    return run


def train_signal(sig: int, fault: str) -> Callable[[Path], Row]:
    """train stage 0 with 2 DataLoader workers, signalled once the first step is logged."""

    def run(d: Path) -> Row:
        data = d / "data"
        data.mkdir()
        shutil.copy(_sample("carphone"), data)
        out = d / "run"
        args = ["train", "--stage", "0", "--data", str(data), "-o", str(out), "--steps", "400", "--videos", "1",
                "--images", "0", "--latents", "1", "--crop", "128", "--workers", "2", "--lpips", "off",
                "--split", "all", "--ckpt-every", "2", "--log-every", "1", "--quiet"]  # fmt: skip
        first = flashvsr(args, timeout=400, on_start=_signal_when(lambda: any(out.rglob("latest.json")), sig, 380))
        problems = [p for p in common_problems(first, None) if p != "bad-code"]
        if first.rc not in (-sig, 130):
            problems.append("bad-code")
        orphans = survivors(first)
        if orphans:
            problems.append("orphan")
        temps = [str(p.relative_to(out)) for p in out.rglob(".*tmp*")]
        latest = next(out.rglob("latest.json"), None)
        pointer = json.loads(latest.read_text()) if latest else "none"
        note = f"checkpoint pointer: {pointer}; temp files: {temps or 'none'}"
        if orphans:
            note += f"; still running: {orphans}"
        return Row("faults", fault, "train", first.rc, last_line(first.stderr), first.seconds, problems, note)

    return run


FAULTS: dict[tuple[str, str], Callable[[Path], Row]] = {
    ("degrade", "SIGINT"): degrade_signal(signal.SIGINT, "SIGINT mid-run, then re-run"),
    ("degrade", "kill -9"): degrade_signal(signal.SIGKILL, "kill -9 mid-run, then re-run"),
    ("degrade", "disk full"): degrade_disk_full,
    ("upscale", "SIGINT"): upscale_signal(signal.SIGINT, "SIGINT mid-run, then re-run"),
    ("upscale", "kill -9"): upscale_signal(signal.SIGKILL, "kill -9 mid-run, then re-run"),
    ("curate", "SIGINT"): curate_signal(signal.SIGINT, "SIGINT mid-run, then re-run"),
    ("curate", "kill -9"): curate_signal(signal.SIGKILL, "kill -9 mid-run, then re-run"),
    ("bench", "kill -9"): bench_signal(signal.SIGKILL, "kill -9 mid-run, then re-run"),
    ("train", "SIGINT"): train_signal(signal.SIGINT, "SIGINT mid-run"),
    ("train", "kill -9"): train_signal(signal.SIGKILL, "kill -9 mid-run"),
}
