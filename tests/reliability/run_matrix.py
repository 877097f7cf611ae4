"""The reliability matrix: every hostile input x entry point, and every fault x command, run for real.

    python -m tests.reliability.run_matrix [--only media,shards,weights,records,faults] [--write docs/reliability.md]

Each row runs the real `flashvsr` command line in a subprocess (its own session, so a hang is killed with everything
it started) on inputs made at run time (`tests/hostile_inputs.py`), and records what was observed: exit code, the
last stderr line, seconds, and problems. A problem is one of

    hang          the command did not end within its time limit
    traceback     a Python traceback on stderr without --debug
    internal      exit code 1 (an unexpected exception: a bug)
    unnamed       an error (exit 2 or 3) whose stderr does not name the input file
    silent-wrong  exit 0 with output that does not match the input (frame count, size), or exit 0 on an input
                  that cannot be decoded
    lost          an input item neither finished nor recorded as failed; or a finished item gone after a re-run
    duplicate     an item twice in an output manifest
    escape        a file written outside the working folder, or code run from a weights file
    orphan        a process the command started still running after it ended
    stale-temp    a file left under its final name that is not complete, after a kill
    bad-code      an exit code outside the contract for that outcome (0, 2, 3, 130)

`--write` replaces the generated block of docs/reliability.md (between the BEGIN/END markers) with the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vsrcore import testing


ROOT = Path(__file__).resolve().parents[2]
BEGIN = "<!-- BEGIN GENERATED: tests/reliability/run_matrix.py -->"
END = "<!-- END GENERATED: tests/reliability/run_matrix.py -->"

# Cases that hold real, decodable media and what a correct tool sees in them: (frames, display height, width).
VALID: dict[str, tuple[int, int, int]] = {
    "good": (12, 48, 64),
    "vfr": (12, 48, 64),
    "rotated": (12, 64, 48),
    "10bit": (12, 48, 64),
    "444": (12, 48, 64),
    "gray-video": (12, 48, 64),
    "gray-png": (1, 48, 64),
    "1x1-video": (4, 1, 1),
    "1x1-png": (1, 1, 1),
    "odd-size": (6, 17, 33),
    "count-mismatch": (12, 48, 64),  # the header lies (444); the stream holds 12 real frames
    "gif": (6, 48, 64),
    "unicode-name": (12, 48, 64),
}


@dataclass
class Row:
    """One observed outcome."""

    table: str  # media | shards | weights | records | faults
    input: str
    entry: str
    rc: int | None
    message: str
    seconds: float
    problems: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class Run:
    rc: int | None  # None: killed after the time limit
    stdout: str
    stderr: str
    seconds: float
    procs: set[tuple[int, int]] = field(default_factory=set)  # every descendant seen while it ran


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "RAY_AUTH_MODE": "disabled"}
    env.pop("FLASHVSR_MAX_PIXELS", None)
    return env


# Root reads a mode-000 file anyway; the rows of the "unreadable" case drop the capabilities that allow it.
_UNPRIVILEGED: list[str] = []
_DROP_READ = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def flashvsr(args: list[str], *, timeout: float = 180, cwd: Path | None = None, env: dict | None = None,
             on_start: Callable[[subprocess.Popen, Path | None], None] | None = None) -> Run:  # fmt: skip
    """Run `python -m vsrcore.cli ARGS` in its own session; kill the whole session after `timeout` seconds."""
    from vsrcore.reaper import descendants

    cmd = [*_UNPRIVILEGED, sys.executable, "-m", "vsrcore.cli", *args]
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd or ROOT, env=env or _env(), text=True,
                                start_new_session=True, preexec_fn=testing.ctrl_c_reaches_child)  # fmt: skip
        procs: set[tuple[int, int]] = set()
        if on_start is not None:
            on_start(proc, cwd)
        rc: int | None = None
        while time.monotonic() - t0 < timeout:
            procs |= descendants(proc.pid)
            try:
                rc = proc.wait(0.2)
                break
            except subprocess.TimeoutExpired:
                continue
        if rc is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        seconds = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        return Run(rc, out.read(), err.read(), seconds, procs)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def survivors(run: Run, wait_s: float = 8.0) -> list[str]:
    """Processes started by the command that are still alive `wait_s` seconds after it ended."""
    from vsrcore.reaper import alive

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and any(alive(p) for p in run.procs):
        time.sleep(0.2)
    left = []
    for pid, start in run.procs:
        if alive((pid, start)):
            try:
                left.append(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:80])
            except OSError:
                pass
            os.kill(pid, signal.SIGKILL)  # leave the machine clean for the next row
    return left


def common_problems(run: Run, named: str | None, debug: bool = False) -> list[str]:
    """hang, traceback, internal, unnamed, bad-code from one run."""
    problems = []
    if run.rc is None:
        return ["hang"]
    if "Traceback (most recent call last)" in run.stderr and not debug:
        problems.append("traceback")
    if run.rc == 1:
        problems.append("internal")
    elif run.rc not in (0, 2, 3, 130):
        problems.append("bad-code")
    if run.rc in (2, 3) and named and named not in run.stderr:
        problems.append("unnamed")
    return problems


# ---------------------------------------------------------------- decoding the outputs (the reference checks)


def decoded(path: Path) -> tuple[int, int, int]:
    """(frames, height, width) of a written output, decoded with PyAV (every frame, rotation applied)."""
    from vsrcore.video.decode import read_frames

    if path.suffix.lower() == ".png":
        from PIL import Image

        with Image.open(path) as im:
            return 1, im.height, im.width
    frames = read_frames(path)
    return frames.shape[0], frames.shape[1], frames.shape[2]


# ---------------------------------------------------------------- media x entry point


def media_rows(work: Path) -> list[Row]:
    from tests.hostile_inputs import MEDIA_CASES, hostile_media

    made = hostile_media(work / "media")
    rows = []
    for case, path in made.items():
        for entry, fn in MEDIA_ENTRIES.items():
            if entry == "train" and case not in TRAIN_CASES:
                continue  # one training run per valid clip costs ~20 s of CPU: a sample of the cases
            run_dir = work / "runs" / entry / case
            run_dir.mkdir(parents=True)
            _UNPRIVILEGED[:] = (
                _DROP_READ if case == "unreadable" and os.geteuid() == 0 and shutil.which("setpriv") else []
            )
            try:
                row = fn(case, path, run_dir)
            finally:
                _UNPRIVILEGED.clear()
            row.note = (row.note + "; " if row.note else "") + MEDIA_CASES[case]
            rows.append(row)
            print(
                f"{entry:11s} {case:15s} rc={row.rc} {','.join(row.problems) or 'ok'} {row.message[:90]}", flush=True
            )
    return rows


def _judge_output(case: str, rc: int | None, got: tuple[int, int, int] | None, scale: float) -> list[str]:
    """silent-wrong for an exit-0 output: valid inputs must keep their frames and (scaled) size; inputs that do not
    decode must not give exit 0."""
    if rc != 0:
        return []
    if case not in VALID:
        return ["silent-wrong"]
    t, h, w = VALID[case]
    if got is None:
        return ["silent-wrong"]
    want = (t, round(h * scale), round(w * scale))
    return [] if got == want or (scale < 1 and got[0] == t) else ["silent-wrong"]


def _shown(got: tuple[int, int, int] | None) -> str:
    return f"output {got[0]} frames {got[2]}x{got[1]}" if got else ""


def degrade_media(case: str, path: Path, run_dir: Path) -> Row:
    out = run_dir / "out"
    r = flashvsr(["degrade", str(path), "-o", str(out), "--preset", "bicubic", "--clip-frames", "0", "--quiet"])
    problems = common_problems(r, path.name)
    got = None
    if r.rc == 0:
        m = pd.read_parquet(out / "manifest.parquet")
        if len(m) != 1:
            problems.append("lost" if len(m) == 0 else "duplicate")
        else:
            got = decoded(out / m["lq_path"][0])
    problems += _judge_output(case, r.rc, got, 0.25)
    return Row("media", case, "degrade", r.rc, last_line(r.stderr), r.seconds, problems, _shown(got))


def upscale_media(case: str, path: Path, run_dir: Path) -> Row:
    out = run_dir / "up.mkv"
    r = flashvsr(["upscale", str(path), "-o", str(out), "--model", "bicubic", "--scale", "2", "--lossless", "--quiet"])
    problems = common_problems(r, path.name)
    got = decoded(out) if r.rc == 0 and out.exists() else None
    problems += _judge_output(case, r.rc, got, 2)
    if r.rc != 0 and out.exists():
        problems.append("stale-temp")  # a failed run left a file under the final name
    return Row("media", case, "upscale", r.rc, last_line(r.stderr), r.seconds, problems, _shown(got))


def curate_media(case: str, path: Path, run_dir: Path) -> Row:
    out = run_dir / "shards"
    r = flashvsr(["curate", str(path), "-o", str(out), "--preset", "samples", "--local", "--quiet"])
    problems = common_problems(r, path.name)
    note = ""
    if r.rc in (0, 3):
        done = list((out / "state" / "sources").glob("*.json"))
        quarantined = list((out / "state" / "quarantine").glob("*.json"))
        if len(done) + len(quarantined) != 1:
            problems.append("lost")
        if quarantined:
            reason = json.loads(quarantined[0].read_text())["rows"][0].get("reason", "")
            note = f"quarantined: {reason[:120]}"
            if r.rc != 3:
                problems.append("bad-code")
        else:
            m = pd.read_parquet(out / "manifest.parquet") if (out / "manifest.parquet").exists() else pd.DataFrame()
            rows = json.loads(done[0].read_text())["rows"] if done else []
            reasons = sorted({x.get("reason", "") for x in rows if x.get("reason")})
            note = f"{len(m)} items packed" + (f"; rejected: {'; '.join(reasons)[:120]}" if reasons else "")
            if "id" in m and not m["id"].is_unique:
                problems.append("duplicate")
            if case not in VALID:
                problems.append("silent-wrong")
    return Row("media", case, "curate", r.rc, last_line(r.stderr), r.seconds, problems, note)


def bench_media(case: str, path: Path, run_dir: Path) -> Row:
    dataset = run_dir / "set"
    dataset.mkdir()
    (dataset / "gt").symlink_to(path.parent, target_is_directory=True)
    out = run_dir / "results"
    r = flashvsr(["bench", "--dataset", f"hostile={dataset}", "--methods", "bicubic", "--metrics", "psnr",
                  "-o", str(out), "--no-leaderboard", "--quiet"], timeout=240)  # fmt: skip
    problems = common_problems(r, path.name)
    note = ""
    files = list(out.glob("*.parquet")) + list(out.glob("**/*.jsonl"))
    if r.rc in (0, 3) and files:
        from leaderboard.board import load_records

        try:
            recs = load_records(out)
            df = pd.DataFrame(recs) if not isinstance(recs, pd.DataFrame) else recs
            note = f"{len(df)} records; status: {', '.join(sorted(set(map(str, df.get('status', [])))))}"
            values = [v for v in df.get("value", []) if v is not None and not pd.isna(v)]
            if r.rc == 0 and case not in VALID and values:
                problems.append("silent-wrong")
        except Exception as e:  # noqa: BLE001 - recorded in the table
            note = f"records unreadable: {type(e).__name__}"
    elif r.rc == 0 and case not in VALID:
        problems.append("silent-wrong")
    return Row("media", case, "bench", r.rc, last_line(r.stderr), r.seconds, problems, note)


def train_media(case: str, path: Path, run_dir: Path) -> Row:
    r = flashvsr(["train", "--stage", "0", "--data", str(path.parent), "-o", str(run_dir / "run"), "--steps", "1",
                  "--videos", "1", "--images", "0", "--latents", "1", "--crop", "128", "--workers", "0",
                  "--lpips", "off", "--split", "all", "--quiet"], timeout=300)  # fmt: skip
    problems = common_problems(r, path.name)
    if r.rc == 0 and case not in VALID:
        problems.append("silent-wrong")
    return Row("media", case, "train", r.rc, last_line(r.stderr), r.seconds, problems, "")


# The cases `train` runs on (stage 0, one step): the control, and one of each way a file can be broken.
TRAIN_CASES = ("good", "truncated-50", "zero-bytes", "random-mkv", "no-moov", "corrupt-nal", "vfr", "rotated",
               "gray-png", "1x1-video", "absurd-y4m", "bomb-png", "audio-only", "count-mismatch", "gif")  # fmt: skip

MEDIA_ENTRIES: dict[str, Callable[[str, Path, Path], Row]] = {
    "curate": curate_media,
    "degrade": degrade_media,
    "upscale": upscale_media,
    "bench": bench_media,
    "train": train_media,
}


def folder_rows(work: Path) -> list[Row]:
    """Every case in one folder: each input is finished or listed as failed, none silently skipped."""
    from tests.hostile_inputs import hostile_media

    folder = work / "all"
    made = hostile_media(folder)
    shutil.rmtree(folder / "symlink-loop")  # a self-link is its own row; here it would only repeat
    made.pop("symlink-loop")
    shutil.rmtree(folder / ".good")
    rows = []
    out = work / "all-degrade"
    r = flashvsr(["degrade", str(folder), "-o", str(out), "--preset", "bicubic", "--clip-frames", "0", "--quiet"])
    problems = common_problems(r, None)
    if r.rc in (0, 3):
        m = pd.read_parquet(out / "manifest.parquet")
        failed = [json.loads(x) for x in (out / "failed.jsonl").read_text().splitlines()]
        accounted = {Path(s).name for s in m["source"]} | {Path(f["path"]).name for f in failed}
        missing = sorted(p.name for p in made.values() if p.name not in accounted)
        if missing:
            problems.append("lost")
        if not m["id"].is_unique:
            problems.append("duplicate")
        note = f"{len(m)} done, {len(failed)} failed" + (f"; not accounted: {', '.join(missing)}" if missing else "")
    else:
        note = ""
    rows.append(Row("media", "folder of every case", "degrade", r.rc, last_line(r.stderr), r.seconds, problems, note))

    out = work / "all-curate"
    r = flashvsr(["curate", str(folder), "-o", str(out), "--preset", "samples", "--local", "--quiet"])
    problems = common_problems(r, None)
    note = ""
    if r.rc in (0, 3):
        states = [json.loads(p.read_text()) for p in (out / "state").glob("*/*.json") if p.parent.name != "staging"]
        accounted = {Path(row["path"]).name for s in states for row in s["rows"] if "path" in row}
        missing = sorted(p.name for p in made.values() if p.name not in accounted)
        if missing:
            problems.append("lost")
        note = f"{len(states)} sources accounted" + (f"; not accounted: {', '.join(missing)}" if missing else "")
    rows.append(Row("media", "folder of every case", "curate", r.rc, last_line(r.stderr), r.seconds, problems, note))
    for row in rows:
        print(f"{row.entry:11s} folder rc={row.rc} {','.join(row.problems) or 'ok'} {row.note}", flush=True)
    return rows


# ---------------------------------------------------------------- malicious shards


def shard_rows(work: Path) -> list[Row]:
    from tests.hostile_inputs import CASES, OVERSIZE_CAP, malicious_shard

    rows = []
    for case in CASES:
        base = work / "shards" / case
        escape = work / "shards" / f"escaped-{case}"
        shard_dir = base / "in"
        tar_path, _ = malicious_shard(shard_dir, case, escape)
        env = _env()
        if case == "oversize":
            env["FLASHVSR_MAX_MEMBER_BYTES"] = str(OVERSIZE_CAP)
        out = base / "degraded"
        r = flashvsr(["degrade", str(shard_dir), "-o", str(out), "--preset", "bicubic", "--quiet"], env=env)
        problems = common_problems(r, tar_path.name)
        if escape.exists() or escape.is_symlink():
            problems.append("escape")
        note = ""
        if r.rc in (0, 3):
            m = pd.read_parquet(out / "manifest.parquet")
            note = f"{len(m)} item(s) degraded"
            if list(m["id"]) != ["good"]:
                problems.append("lost" if len(m) == 0 else "silent-wrong")
        rows.append(Row("shards", case, "degrade", r.rc, last_line(r.stderr), r.seconds, problems, note))
        r = flashvsr(["train", "--stage", "0", "--data", str(shard_dir), "-o", str(base / "run"), "--steps", "1",
                      "--videos", "0", "--images", "1", "--crop", "128", "--workers", "0", "--lpips", "off",
                      "--split", "all", "--quiet"], env=env, timeout=300)  # fmt: skip
        problems = common_problems(r, tar_path.name)
        if escape.exists() or escape.is_symlink():
            problems.append("escape")
        rows.append(Row("shards", case, "train", r.rc, last_line(r.stderr), r.seconds, problems, ""))
        for row in rows[-2:]:
            print(f"{row.entry:11s} shard {case:10s} rc={row.rc} {','.join(row.problems) or 'ok'} {row.message[:90]}")
    return rows


# ---------------------------------------------------------------- pickle weights


def weights_rows(work: Path) -> list[Row]:
    import torch

    from tests.vsrcore.test_pinned_weights import _RunsCode

    rows = []
    wdir = work / "weights"
    marker = work / "weights-marker"
    for name in ("musiq_koniq_ckpt-e95806b9.pth", "alexnet-owt-7be5be79.pth"):
        wdir.mkdir(parents=True, exist_ok=True)
        torch.save({"weight": torch.zeros(2), "payload": _RunsCode(marker)}, wdir / name)
    probe = work / "clips"
    from tests.hostile_inputs import hostile_media

    good = hostile_media(probe, ("good",))["good"]
    dataset = work / "wset"
    (dataset / "gt").mkdir(parents=True)
    shutil.copy(good, dataset / "gt" / "good.mp4")
    runs = {
        "bench --metrics musiq": (
            [
                "bench",
                "--dataset",
                f"w={dataset}",
                "--methods",
                "bicubic",
                "--metrics",
                "musiq",
                "-o",
                str(work / "wres"),
                "--no-leaderboard",
                "--weights-dir",
                str(wdir),
                "--quiet",
            ],
            "musiq_koniq_ckpt-e95806b9.pth",
        ),  # fmt: skip
        "bench --metrics lpips": (
            [
                "bench",
                "--dataset",
                f"w={dataset}",
                "--methods",
                "bicubic",
                "--metrics",
                "lpips",
                "-o",
                str(work / "wres2"),
                "--no-leaderboard",
                "--weights-dir",
                str(wdir),
                "--quiet",
            ],
            "alexnet-owt-7be5be79.pth",
        ),  # fmt: skip
        "weights verify": (
            ["weights", "verify", "musiq-koniq", "--weights-dir", str(wdir)],
            "musiq_koniq_ckpt-e95806b9.pth",
        ),
    }
    for label, (args, named) in runs.items():
        r = flashvsr(args, timeout=300)
        problems = common_problems(r, named)
        if marker.exists():
            problems.append("escape")
            marker.unlink()
        rows.append(Row("weights", "pickle that runs code", label, r.rc, last_line(r.stderr), r.seconds, problems))
        print(f"{label:22s} rc={r.rc} {','.join(problems) or 'ok'} {last_line(r.stderr)[:90]}", flush=True)
    return rows


# ---------------------------------------------------------------- leaderboard records


def record_rows(work: Path) -> list[Row]:
    src = ROOT / "tests" / "leaderboard" / "data" / "records.jsonl"
    cases: dict[str, Callable[[Path], Path]] = {
        "good records": lambda d: Path(shutil.copy(src, d / "records.jsonl")),
        "zero bytes": lambda d: _write(d / "records.parquet", b""),
        "random bytes .parquet": lambda d: _write(d / "records.parquet", np.random.default_rng(0).bytes(2048)),
        "truncated .jsonl": lambda d: _write(d / "records.jsonl", src.read_bytes()[: len(src.read_bytes()) // 2]),
        "json, not records": lambda d: _write(d / "records.json", b'{"a": [1, 2, {"b": null}]}'),
        "csv missing columns": lambda d: _write(d / "records.csv", b"x,y\n1,2\n"),
        "html in names": lambda d: _write(d / "records.jsonl", _html_records(src)),
        "missing folder": lambda d: d / "nope",
    }
    rows = []
    for label, make in cases.items():
        d = work / "records" / label.replace(" ", "_").replace(",", "")
        d.mkdir(parents=True)
        path = make(d)
        out = d / "board"
        r = flashvsr(["leaderboard", str(path), "-o", str(out), "--quiet"])
        problems = common_problems(r, path.name)
        if label == "html in names" and r.rc == 0 and "<script>alert(1)" in (out / "index.html").read_text():
            problems.append("escape")  # markup from a record reached the page unescaped
        if r.rc == 0 and label not in ("good records", "html in names"):
            problems.append("silent-wrong")
        rows.append(Row("records", label, "leaderboard", r.rc, last_line(r.stderr), r.seconds, problems))
        print(f"leaderboard {label:22s} rc={r.rc} {','.join(problems) or 'ok'} {last_line(r.stderr)[:90]}")
    return rows


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _html_records(src: Path) -> bytes:
    lines = src.read_text().splitlines()
    rec = json.loads(lines[0])
    rec["method"] = "<script>alert(1)</script>"
    return ("\n".join([*lines, json.dumps(rec)]) + "\n").encode()


# ---------------------------------------------------------------- faults


def fault_rows(work: Path, only: str = "") -> list[Row]:
    from tests.reliability.faults import FAULTS

    rows = []
    for (entry, fault), fn in FAULTS.items():
        if only not in f"{entry} {fault}":
            continue
        d = work / "faults" / f"{entry}-{fault}"
        d.mkdir(parents=True)
        try:
            row = fn(d)
        except Exception as e:  # noqa: BLE001 - a harness failure is shown, not hidden
            row = Row("faults", fault, entry, None, f"harness error: {type(e).__name__}: {e}"[:300], 0.0, ["harness"])
        rows.append(row)
        print(f"{entry:9s} {fault:14s} rc={row.rc} {','.join(row.problems) or 'ok'} {row.note[:120]}", flush=True)
    return rows


# ---------------------------------------------------------------- tables


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip() or " "


def render(rows: list[Row]) -> str:
    """The generated Markdown block: a summary, then one table per kind of row."""
    bad = [r for r in rows if r.problems]
    lines = [
        BEGIN,
        "",
        f"Generated by `make test-reliability` (`python -m tests.reliability.run_matrix --write docs/reliability.md`)"
        f" on {time.strftime('%Y-%m-%d')}: {len(rows)} rows, {len(bad)} with a problem"
        + (f" ({', '.join(sorted({p for r in bad for p in r.problems}))})" if bad else "")
        + ". Exit codes: 0 ok, 2 bad input or usage, 3 some items failed and were recorded, 130 interrupted, "
        "-9 killed by the fault itself.",
        "",
    ]
    titles = {
        "media": "Hostile media x entry point",
        "shards": "Malicious shards (tar members)",
        "weights": "Pickle weights",
        "records": "Leaderboard inputs",
        "faults": "Faults",
    }
    for table, title in titles.items():
        part = [r for r in rows if r.table == table]
        if not part:
            continue
        header = "| input | entry | exit | seconds | problems | message (last stderr line) | observed |"
        lines += [f"#### {title}", "", header, "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in part:
            rc = "hang" if r.rc is None else str(r.rc)
            lines.append(
                f"| {_cell(r.input)} | {r.entry} | {rc} | {r.seconds:.1f} | {', '.join(r.problems) or 'none'} | "
                f"{_cell(r.message)} | {_cell(r.note)} |"
            )
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_doc(doc: Path, block: str) -> None:
    text = doc.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Reliability matrix\n\n" + block + "\n"
    doc.write_text(text)


PARTS: dict[str, Callable[[Path], list[Row]]] = {
    "media": lambda w: media_rows(w) + folder_rows(w),
    "shards": shard_rows,
    "weights": weights_rows,
    "records": record_rows,
    "faults": lambda w: fault_rows(w, FAULT_FILTER[0]),
}
FAULT_FILTER = [""]


def main(argv: list[str] | None = None) -> int:
    """Run the matrix; exit 1 when a row has a problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma list of {', '.join(PARTS)}")
    parser.add_argument("--json", default="results/reliability.json", help="rows as JSON (merged with earlier runs)")
    parser.add_argument("--write", help="replace the generated block of this Markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument("--faults", default="", help="only the faults whose 'entry fault' contains this text")
    args = parser.parse_args(argv)
    FAULT_FILTER[0] = args.faults
    work = Path(tempfile.mkdtemp(prefix="flashvsr-reliability-"))
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    rows: list[Row] = []
    try:
        for part in only:
            try:
                rows += PARTS[part](work / part)
            except Exception as e:  # noqa: BLE001 - the other parts still run; the failure is a row
                rows.append(Row(part, "(harness)", "-", None, f"{type(e).__name__}: {e}"[:300], 0.0, ["harness"]))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            _chmod_rm(work)
    store = Path(args.json)
    earlier = [Row(**r) for r in json.loads(store.read_text())] if store.exists() else []
    fresh = {(r.table, r.entry, r.input) for r in rows}
    replaced = set(only) if not args.faults else set()  # a filtered faults run replaces only its own rows
    rows = [r for r in earlier if r.table not in replaced and (r.table, r.entry, r.input) not in fresh] + rows
    rows.sort(key=lambda r: list(PARTS).index(r.table))
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps([asdict(r) for r in rows], indent=1, ensure_ascii=False) + "\n")
    if args.write:
        write_doc(Path(args.write), render(rows))
    bad = [r for r in rows if r.problems]
    print(f"{len(rows)} rows, {len(bad)} with a problem")
    return 1 if bad else 0


def _chmod_rm(work: Path) -> None:
    """Remove what rmtree could not (the mode-000 file when not root)."""
    if work.exists():
        for p in work.rglob("*"):
            try:
                p.chmod(0o700)
            except OSError:
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
