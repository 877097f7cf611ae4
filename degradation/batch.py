"""Degrade many clips to disk: inputs (video, folders, frame folders, VSR shards) -> LQ media + manifest.

Output layout (all writes atomic; a clip is finished when its record exists, so re-runs resume):
    OUT/lq/<clip_id>.mkv         FFV1, lossless: decodes to exactly the synthesised LQ frames
    OUT/lq/<clip_id>.png         for photos (1-frame clips)
    OUT/records/<clip_id>.json   the full degradation record plus the source span
    OUT/manifest.parquet         one row per clip, rebuilt from the records at the end of every run
    OUT/failed.jsonl             inputs that could not be read, one JSON line each (latest run)
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vsrcore.atomic import atomic_path, finished_files, write_json_atomic
from vsrcore.errors import DISK_FULL, DiskFull, MediaError, UserFacingError
from vsrcore.hashing import content_id, make_id
from vsrcore.media_kind import media_kind
from vsrcore.untrusted import UnsafeMember
from vsrcore.video.types import IMAGE_EXTS, VIDEO_EXTS


@dataclass(frozen=True)
class Job:
    """One clip to degrade: frames [start, end) of a video, a frame folder, an image, or a shard member."""

    clip_id: str
    kind: str  # "video" | "frames" | "image" | "shard"
    source: str
    start: int = 0
    end: int | None = None
    fps: float = 25.0
    member: str = ""  # shard item id
    frame_check: dict[str, Any] | None = None  # the source's counted vs declared frames (videos)


@dataclass(frozen=True)
class DegradeSettings:
    """What every job of a run shares."""

    preset: str
    seed: int
    options: dict[str, Any] = field(default_factory=dict)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "clip"


def discover(root: str | Path, clip_frames: int) -> tuple[list[Job], list[dict[str, str]]]:
    """Jobs for an input path, plus the inputs that could not be read (path, error)."""
    from vsrcore.shards import MANIFEST
    from vsrcore.video.probe import check_frames, probe

    root = Path(root)
    if not root.exists():
        raise MediaError(root, "file not found")
    jobs: list[Job] = []
    failed: list[dict[str, str]] = []

    def add_video(path: Path) -> None:
        try:
            meta = probe(path)
            check = check_frames(path, meta)  # clips are planned on the counted frames, never the header's
        except MediaError as e:
            failed.append({"path": str(path), "error": str(e)})
            return
        base = f"{_safe(path.stem)}-{content_id(path)[:8]}"
        n = check.frames
        step = clip_frames if clip_frames > 0 else max(n, 1)
        for start in range(0, max(n, 1), step):
            end = min(start + step, n) if clip_frames > 0 else None
            suffix = f"_f{start:06d}" if clip_frames > 0 and n > step else ""
            jobs.append(Job(base + suffix, "video", str(path), start, end, meta.fps, frame_check=check.to_record()))

    def add_frames(folder: Path, images: list[Path]) -> None:
        tag = make_id(*(f"{p.name}:{p.stat().st_size}" for p in images), length=8)
        jobs.append(Job(f"{_safe(folder.name)}-{tag}", "frames", str(folder), 0, None, 25.0))

    if root.is_file():
        if root.suffix.lower() in IMAGE_EXTS:
            jobs.append(Job(f"{_safe(root.stem)}-{content_id(root)[:8]}", "image", str(root)))
        else:
            add_video(root)
        return jobs, failed
    if (root / MANIFEST).exists():
        from vsrcore.shards import ShardReader

        reader = ShardReader(root)
        for row in reader.manifest().to_dict("records"):
            try:
                _, member = reader.check_row(row)
            except UnsafeMember as e:
                failed.append({"path": e.tar_path, "error": str(e)})
                continue
            kind = "image" if _member_ext(member) in ("png", "jpg", "jpeg", "webp") else "video"
            item_id = str(row["id"])
            clip_id = _safe(item_id) if _safe(item_id) == item_id else f"{_safe(item_id)}-{make_id(item_id, length=8)}"
            jobs.append(
                Job(
                    clip_id,
                    "shard",
                    str(root),
                    0,
                    None,
                    _fps(row.get("fps")),
                    member=str(row["id"]) + (":image" if kind == "image" else ""),
                )
            )
        return jobs, failed
    skipped: list[str] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in VIDEO_EXTS:
            add_video(path)
        elif path.is_file() and path.suffix.lower() in IMAGE_EXTS:
            siblings = [p for p in path.parent.iterdir() if p.suffix.lower() in IMAGE_EXTS]
            if path.parent != root and len(siblings) > 1:
                continue  # a frame folder, handled below
            jobs.append(Job(f"{_safe(path.stem)}-{content_id(path)[:8]}", "image", str(path)))
        elif path.is_dir() and path != root:
            images = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
            if len(images) > 1:
                add_frames(path, images)
        elif path.is_file() and not path.name.startswith("."):
            kind = media_kind(path)  # an unusual extension: the header decides (.gif is a video)
            if kind == "video":
                add_video(path)
            elif kind == "image":
                jobs.append(Job(f"{_safe(path.stem)}-{content_id(path)[:8]}", "image", str(path)))
            else:
                skipped.append(path.name)
    if skipped:
        shown = ", ".join(skipped[:3]) + (f" ... ({len(skipped)} in all)" if len(skipped) > 3 else "")
        print(f"flashvsr degrade: skipped {len(skipped)} files under {root} that are not video or image: {shown}",
              file=sys.stderr)  # fmt: skip
    return jobs, failed


def _load(job: Job) -> np.ndarray:
    from vsrcore.video.decode import read_frames
    from vsrcore.video.write import read_image_sequence

    if job.kind == "video":
        return read_frames(job.source, start=job.start, end=job.end)
    if job.kind == "frames":
        return read_image_sequence(job.source)
    if job.kind == "image":
        return _read_image(Path(job.source))
    from vsrcore.shards import ShardReader

    item_id, _, kind = job.member.partition(":")
    reader = ShardReader(job.source)
    _, member = reader.locate(item_id)
    data = reader.read_member(item_id)
    # The decoders take a path: the bytes go to a private temporary file whose name is ours, not the member's.
    with tempfile.TemporaryDirectory(prefix="flashvsr-member-") as tmp:
        path = Path(tmp) / f"member.{_member_ext(member)}"
        path.write_bytes(data)
        return _read_image(path) if kind == "image" else read_frames(path)


def _load_timed(job: Job) -> tuple[np.ndarray, list[float] | None]:
    """`_load`, plus the frames' source times (from the clip's first frame) for variable-frame-rate videos."""
    if job.kind == "video" and job.frame_check is not None and job.frame_check["vfr"]:
        from vsrcore.video.decode import read_timed_frames

        frames, times = read_timed_frames(job.source, start=job.start, end=job.end)
        return frames, [t - times[0] for t in times]
    return _load(job), None


def _member_ext(member: str) -> str:
    """The lower-case extension of a (gated) member name, or 'bin' when it has no short alphanumeric one."""
    ext = member.rsplit(".", 1)[-1].lower() if "." in member else ""
    return ext if re.fullmatch(r"[a-z0-9]{1,8}", ext) else "bin"


def _fps(value: Any) -> float:
    """A manifest's fps cell as a positive finite float (25 when absent or unusable)."""
    try:
        fps = float(value)
    except (TypeError, ValueError):
        return 25.0
    return fps if np.isfinite(fps) and fps > 0 else 25.0


def _read_image(path: Path) -> np.ndarray:
    from vsrcore.video.write import read_image

    return read_image(path)[None]


def record_path(out: Path, clip_id: str) -> Path:
    return out / "records" / f"{clip_id}.json"


def run_job(job: Job, settings: DegradeSettings, out: str | Path) -> dict[str, Any]:
    """Degrade one clip and write its LQ and record (skipped if the record exists). Returns the record."""
    from degradation.pipeline import degrade
    from vsrcore.video.write import VideoWriter

    out = Path(out)
    done = record_path(out, job.clip_id)
    if done.exists():
        return json.loads(done.read_text())
    frames, times = _load_timed(job)
    result = degrade(frames, settings.preset, seed=settings.seed, clip_id=job.clip_id, fps=job.fps, **settings.options)
    single = job.kind == "image" or (job.kind == "shard" and job.member.endswith(":image"))
    lq_path = out / "lq" / f"{job.clip_id}.{'png' if single else 'mkv'}"
    if single:
        from PIL import Image

        with atomic_path(lq_path) as tmp:
            Image.fromarray(result.lq[0]).save(tmp, format="PNG")
    else:
        with VideoWriter(lq_path, job.fps, codec="ffv1") as writer:  # re-opened and checked before the rename
            writer.write(result.lq, times)
        timing = {"mode": "source times" if times else "constant rate", "max_shift_s": writer.max_time_shift_s}
    job_fields = asdict(job)
    source_frames = job_fields.pop("frame_check")
    record = {**result.record, "job": job_fields, "lq_path": str(lq_path.relative_to(out))}
    if source_frames is not None:  # counted vs declared, and how many frames of this clip decoded
        planned = (job.end if job.end is not None else source_frames["frames"]) - job.start
        record["source_frames"] = {**source_frames, "clip_planned": planned, "clip_decoded": int(frames.shape[0])}
        if not single:
            record["source_frames"]["timestamps"] = timing
    write_json_atomic(done, record)  # the completion marker: written last
    return record


def write_manifest(out: Path) -> int:
    """Rebuild OUT/manifest.parquet from every record (one row per finished clip); returns the row count."""
    import pandas as pd

    rows = []
    for path in finished_files(out / "records", ".json"):
        rec = json.loads(path.read_text())
        rows.append(
            {
                "id": rec["clip_id"],
                "source": rec["job"]["source"],
                "member": rec["job"]["member"],
                "start_frame": rec["job"]["start"],
                "end_frame": rec["job"]["end"],
                "lq_path": rec["lq_path"],
                "preset": rec["preset"],
                "seed": rec["seed"],
                "scale": rec["options"].get("scale"),
                "frames": rec["output"]["frames"],
                "height": rec["output"]["height"],
                "width": rec["output"]["width"],
                "gt_height": rec["input"]["height"],
                "gt_width": rec["input"]["width"],
                "record": json.dumps(rec, sort_keys=True),
            }
        )
    with atomic_path(out / "manifest.parquet") as tmp:
        pd.DataFrame(rows).to_parquet(tmp, index=False)
    return len(rows)


def _worker(args: tuple[Job, DegradeSettings, str]) -> tuple[Job, str | None]:
    job, settings, out = args
    try:
        run_job(job, settings, out)
        return job, None
    except UserFacingError as e:
        message = str(e)  # the file first: a preset's complaint about the frames does not know where they came from
        return job, message if job.source in message else f"{job.source}: {message}"
    except OSError as e:
        if e.errno in DISK_FULL:  # a plain OSError crosses the process pool intact (PyAV's own errors may not)
            raise OSError(e.errno, e.strerror, e.filename) from None
        raise _crossable(e) from None
    except Exception as e:
        raise _crossable(e) from None


def _crossable(e: Exception) -> Exception:
    """`e` if it survives the trip back from a pool worker, else a RuntimeError with its type and message: an
    exception that cannot be rebuilt in the driver (a constructor with other arguments than its args) would break
    the whole pool ("a process ... terminated abruptly") and hide what went wrong."""
    import pickle

    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:  # noqa: BLE001 - any failure to rebuild
        return RuntimeError(f"{type(e).__name__}: {e}")


def _pool_worker_init(parent: tuple[int, bool]) -> None:
    """Pool workers die with the driver (even on kill -9) and leave Ctrl-C to it: the driver stops them."""
    import signal

    from vsrcore.guard import die_with_parent

    die_with_parent(*parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run(
    inputs: str | Path,
    out: str | Path,
    settings: DegradeSettings,
    *,
    workers: int = 1,
    clip_frames: int = 100,
    progress: bool = True,
) -> dict[str, int]:
    """Degrade every clip under `inputs` into `out`; resumable, parallel over clips, with a progress bar.

    However the run ends (done, a clip error, Ctrl-C, a full disk), the manifest and `failed.jsonl` are rebuilt
    from the records written so far; if that rebuild fails too, the first error is the one raised.
    """
    out = Path(out)
    (out / "records").mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob("lq/.*.tmp*"), *out.glob("records/.*.tmp*"), *out.glob(".*.tmp*")]:
        stale.unlink(missing_ok=True)  # left by a killed run; its clip has no record, so it is redone
    jobs, failed = discover(inputs, clip_frames)
    todo = [j for j in jobs if not record_path(out, j.clip_id).exists()]
    from tqdm import tqdm

    bar = tqdm(
        total=len(jobs),
        initial=len(jobs) - len(todo),
        unit="clip",
        disable=not progress,
        desc=f"degrade {settings.preset}",
    )
    for f in failed:  # inputs refused before any job started (unreadable files, refused shard members)
        bar.write(f"flashvsr degrade: {f['error']}", file=sys.stderr)
    try:
        if workers > 1 and len(todo) > 1:
            _run_pool(todo, settings, out, workers, failed, bar)
        else:
            for job in todo:
                _account(*_worker((job, settings, str(out))), failed, bar)
    except BaseException as e:
        bar.close()
        try:
            _finish(out, failed)
        except OSError:
            pass  # a full disk again, most likely: the error already in flight is the one to report
        if isinstance(e, OSError) and e.errno in DISK_FULL:  # the whole run stops: name where it was writing
            raise DiskFull(out, e) from e
        raise
    bar.close()
    rows = _finish(out, failed)
    return {
        "clips": len(jobs),
        "done": rows,
        "new": len(todo) - sum(1 for f in failed if "clip_id" in f),
        "failed": len(failed),
    }


def _run_pool(
    todo: list[Job], settings: DegradeSettings, out: Path, workers: int, failed: list[dict[str, str]], bar: Any
) -> None:
    """The jobs on `workers` spawned processes, accounted in order; on any error or Ctrl-C the queued jobs are
    cancelled and the workers stopped at once (clips in progress have no record, so a re-run redoes them)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from vsrcore.guard import die_with_parent_args

    pool = ProcessPoolExecutor(
        workers, mp_context=mp.get_context("spawn"), initializer=_pool_worker_init, initargs=(die_with_parent_args(),)
    )
    try:
        futures = [pool.submit(_worker, (j, settings, str(out))) for j in todo]
        for future in futures:
            try:
                result = future.result()
            except BrokenProcessPool as e:
                raise _disk_full_or(e, out) from e
            _account(*result, failed, bar)
    except BaseException:
        processes = list(getattr(pool, "_processes", {}).values())  # no public handle on the workers
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.kill()
        for proc in processes:
            proc.join(10)
        raise
    pool.shutdown()


def _disk_full_or(error: BaseException, out: Path) -> BaseException:
    """The error to report when a pool worker died abruptly: the full disk (as an ENOSPC OSError naming the output
    folder) when the output's disk has under 1 MiB free, which is what the user can act on and the likely cause of
    the death; otherwise `error` itself."""
    import errno
    import os
    import shutil

    try:
        full = shutil.disk_usage(out).free < 1 << 20
    except OSError:
        full = False
    if full:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out))
    return error


def _finish(out: Path, failed: list[dict[str, str]]) -> int:
    """Rebuild the manifest from the records and write failed.jsonl; returns the manifest's row count."""
    rows = write_manifest(out)
    with atomic_path(out / "failed.jsonl") as tmp:
        tmp.write_text("".join(json.dumps(f) + "\n" for f in failed))
    return rows


def _account(job: Job, error: str | None, failed: list[dict[str, str]], bar: Any) -> None:
    if error is not None:
        failed.append({"path": job.source, "clip_id": job.clip_id, "error": error})
        bar.write(f"flashvsr degrade: {error}", file=sys.stderr)
    bar.update(1)
