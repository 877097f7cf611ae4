"""`curate()`: raw footage and photos -> VSR shards, resumable, with a quarantine table and a report.

Phases (each stage runs on Ray Data, or in process with backend="local"):
1. discover inputs (folders, globs, text/parquet manifests of paths); ids from content hashes;
2. videos: probe -> analyse (shots, segments, samples, weight-free scores) -> model scores;
   photos: photo checks -> model scores;
3. on the driver: per-segment decisions against the preset thresholds; consecutive kept segments of a
   shot merged into clips (min/max frames);
4. export each kept clip/photo to staging (stream copy or lossless; marker file last);
5. dedup by perceptual hash; pack staging into VSR shards (ShardWriter skips ids already present);
   one marker per finished source in OUT/state/sources, so a re-run skips it; quarantine rows in
   OUT/state/quarantine; tables (segments, quarantine) and the report rebuilt from the markers.
"""

from __future__ import annotations

import glob
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from curation.config import CurationConfig
from curation.ops.segments import merge_segments
from curation.stages import AnalyseStage, ExportStage, ModelScoreStage, PhotoStage, ProbeStage, Stage
from vsrcore.atomic import finished_files, write_json_atomic
from vsrcore.hashing import content_id, make_id
from vsrcore.media_kind import media_kind


def discover(inputs: list[str], duplicates: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Source items {source_id, path, kind} from folders, files, globs, or .txt/.parquet lists of paths. A file
    whose content an earlier one already has is not a new source: it is appended to `duplicates` (when given)
    with `duplicate_of`, the path of the first."""
    paths: list[Path] = []
    for spec in inputs:
        p = Path(spec)
        if p.is_dir():
            paths += sorted(q for q in p.rglob("*") if q.is_file())
        elif p.suffix == ".txt" and p.is_file():
            paths += [Path(line.strip()) for line in p.read_text().splitlines() if line.strip()]
        elif p.suffix == ".parquet" and p.is_file():
            import pandas as pd

            paths += [Path(x) for x in pd.read_parquet(p)["path"]]
        elif any(c in spec for c in "*?["):
            paths += sorted(Path(x) for x in glob.glob(spec, recursive=True))
        else:
            paths.append(p)
    items: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in paths:
        found = media_kind(path)  # by extension; for an unusual one (.gif) the header decides
        kind = {"video": "video", "image": "photo"}.get(found or "")
        if kind is None:
            continue
        try:
            cid = content_id(path) if path.stat().st_size else make_id("empty", path.resolve())
        except OSError:
            cid = make_id("unreadable", path)
        source_id = f"{kind[0]}{cid}"
        if source_id in seen:
            if duplicates is not None and seen[source_id] != str(path):
                duplicates.append(
                    {"source_id": source_id, "path": str(path), "kind": kind, "duplicate_of": seen[source_id]}
                )
            continue
        seen[source_id] = str(path)
        items.append({"source_id": source_id, "path": str(path), "kind": kind, "status": "ok"})
    return items


def passes(scores: dict[str, float], thresholds: dict[str, tuple[float | None, float | None]]) -> tuple[bool, str]:
    """(kept, reason): every present score inside its [min, max]; the first failing rule is the reason."""
    for name, (lo, hi) in thresholds.items():
        if name not in scores or scores[name] is None:
            continue
        v = scores[name]
        if lo is not None and v < lo:
            return False, f"{name} {v:.3g} < {lo:g}"
        if hi is not None and v > hi:
            return False, f"{name} {v:.3g} > {hi:g}"
    return True, ""


def split_of(source_id: str, path: str = "", val_sources: tuple[str, ...] = (), val_percent: int = 10) -> str:
    """Deterministic held-out split by source (so no source has clips on both sides): "val" for files named in
    `val_sources`, else a hash split of `val_percent`%."""
    if Path(path).name in val_sources:
        return "val"
    return "val" if int(make_id(source_id, "split"), 16) % 100 < val_percent else "train"


def decide(cfg: CurationConfig, segments: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Decisions for the segments of one source and the merged clips they give."""
    decided = []
    for seg in sorted(segments, key=lambda s: s["start"]):
        kept, reason = passes(seg["scores"], cfg.thresholds)
        decided.append({**seg, "kept": kept, "reason": reason, **({} if kept else {"stage": "decide"})})
    merged = merge_segments([(s["shot"], s["start"], s["end"], s["kept"]) for s in decided], cfg.merge)
    clips = []
    for shot, start, end in merged:
        # the segments overlapping the clip (a clip cut to max_frames may lie inside one segment)
        parts = [s for s in decided if s["shot"] == shot and s["start"] < end and s["end"] > start]
        first = parts[0]
        scores = {k: sum(p["scores"][k] for p in parts) / len(parts) for k in first["scores"]}
        extra = {}
        if all("clip_embedding" in p for p in parts):  # renormalised mean of the segments' CLIP embeddings
            mean = np.mean([p["clip_embedding"] for p in parts], axis=0)
            extra["clip_embedding"] = [float(v) for v in mean / np.linalg.norm(mean)]
        clips.append(
            {
                "id": make_id(first["source_id"], start, end),
                "kind": "clip",
                "status": "ok",
                "source_id": first["source_id"],
                "path": first["path"],
                "shot": shot,
                "shot_span": first["shot_span"],
                "start": start,
                "end": end,
                "meta": first["meta"],
                "scores": scores,
                "segment_ids": [p["segment_id"] for p in parts],
                **extra,
            }
        )
    return decided, clips


def _record_duplicates(out: Path, duplicates: list[dict[str, Any]]) -> None:
    """Each input whose content is another input's is accounted for (never silently dropped): a done state of its
    own, `<source_id>.dup-<path id>.json`, whose row says which file it repeats."""
    for dup in duplicates:
        row = {
            **{k: dup[k] for k in ("source_id", "path", "kind")},
            "status": "duplicate",
            "kept": False,
            "stage": "discover",
            "reason": f"same content as {dup['duplicate_of']}",
        }
        state = _state(out, "sources") / f"{dup['source_id']}.dup-{make_id(dup['path'])}.json"
        write_json_atomic(state, {"source_id": dup["source_id"], "status": "done", "rows": [row]})


def _state(out: Path, kind: str) -> Path:
    path = out / "state" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def curate(
    inputs: list[str],
    out: str | Path,
    config: CurationConfig,
    *,
    backend: str = "ray",
    address: str | None = None,
    require: tuple[str, ...] = (),
    weights_dir: str | None = None,
    progress: bool = True,
    num_cpus: int | None = None,
) -> dict[str, Any]:
    """Curate `inputs` into the shard directory `out`; returns a summary of counts and timings."""
    from curation.scorers import check_required

    out = Path(out)
    check_required(list(require), weights_dir)  # before any work: exact missing files
    config, scorers, skipped = _usable_scorers(config, weights_dir)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    sources, todo = _pending(inputs, out)
    timings["discover"] = time.perf_counter() - t0
    _log(
        progress,
        f"curate: {len(sources)} inputs, {len(sources) - len(todo)} already done, {len(todo)} to do; "
        f"scorers: {', '.join(scorers) or 'none'}"
        + (f" (skipped, weights missing: {', '.join(skipped)})" if skipped else ""),
    )
    run = _executor(backend, address, num_cpus, progress)
    model_stage: list[Stage] = (
        [ModelScoreStage(config=config, scorer_names=tuple(scorers), weights_dir=weights_dir)] if scorers else []
    )
    t0 = time.perf_counter()
    video_rows = run(
        [ProbeStage(config=config), AnalyseStage(config=config), *model_stage],
        [s for s in todo if s["kind"] == "video"],
    )
    photo_rows = run([PhotoStage(config=config), *model_stage], [s for s in todo if s["kind"] == "photo"])
    timings["analyse+score"] = time.perf_counter() - t0
    exports, outcome = _decide_sources(config, video_rows + photo_rows)
    t0 = time.perf_counter()
    exported = run([ExportStage(config=config, out=str(out))], exports)
    timings["export"] = time.perf_counter() - t0
    for row in exported:
        if row.get("status") == "quarantined":
            outcome[row["source_id"]] = {"status": "quarantined", "rows": [row]}
    t0 = time.perf_counter()
    packed = pack(out, config, [r for r in exported if r.get("status") == "ok"])
    _record_outcomes(out, outcome)
    timings["pack"] = time.perf_counter() - t0
    from curation.report import write_report

    summary = write_report(out, config, timings=timings, skipped_scorers=skipped)
    summary.update(packed)
    summary["timings"] = timings
    return summary


def _usable_scorers(
    config: CurationConfig, weights_dir: str | None
) -> tuple[CurationConfig, list[str], dict[str, list[str]]]:
    """The configured scorers whose weights are present; the others (with their missing files) are skipped and
    their thresholds dropped from the config."""
    from curation.scorers import SCORERS

    scorers = [n for n in config.scorers if not SCORERS[n](weights_dir=weights_dir).missing_weights()]
    skipped = {n: SCORERS[n](weights_dir=weights_dir).missing_weights() for n in config.scorers if n not in scorers}
    if skipped:
        config = replace(
            config,
            thresholds={k: v for k, v in config.thresholds.items() if k not in skipped},
            photo_thresholds={k: v for k, v in config.photo_thresholds.items() if k not in skipped},
        )
    return config, scorers, skipped


def _pending(inputs: list[str], out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(every source found, those without a finished record in `out` from an earlier run); a file repeating
    another input's content is recorded as a duplicate here."""
    duplicates: list[dict[str, Any]] = []
    sources = discover(inputs, duplicates)
    _record_duplicates(out, duplicates)
    done = {p.stem for p in finished_files(_state(out, "sources"), ".json")} | {
        p.stem for p in finished_files(_state(out, "quarantine"), ".json")
    }
    return sources, [s for s in sources if s["source_id"] not in done]


def _executor(
    backend: str, address: str | None, num_cpus: int | None, progress: bool
) -> Callable[[list[Stage], list[dict[str, Any]]], list[dict[str, Any]]]:
    """run(stages, items) -> rows, in this process ("local") or on Ray (started or joined on first use)."""

    def run(stages: list[Stage], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if backend == "local":
            from curation.executors import run_local

            return run_local(stages, items, progress=progress)
        from curation.executors import run_ray
        from vsrcore.ray_cluster import init_ray

        init_ray(address, num_cpus)
        return run_ray(stages, items, progress=progress)

    return run


def _decide_sources(
    config: CurationConfig, scored: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Per source: quarantined, a photo kept or rejected, or its segments decided into clips. Returns (the rows to
    export, source id -> its outcome record)."""
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in scored:
        by_source[row["source_id"]].append(row)
    exports, outcome = [], {}
    for source_id, rows in by_source.items():
        bad = [r for r in rows if r.get("status") == "quarantined"]
        if bad:
            outcome[source_id] = {"status": "quarantined", "rows": bad}
            continue
        segs = [r for r in rows if r.get("kind") == "segment" and r.get("status") == "ok"]
        if rows[0]["kind"] == "photo":
            row, kept = _decide_photo(config, source_id, rows[0])
            if kept:
                exports.append(row)
            outcome[source_id] = {"status": "done", "rows": [row]}
        elif segs:
            decided, clips = decide(config, segs)
            exports += clips
            outcome[source_id] = {"status": "done", "rows": decided, "clips": [c["id"] for c in clips]}
        else:
            outcome[source_id] = {"status": "done", "rows": rows}
    return exports, outcome


def _decide_photo(config: CurationConfig, source_id: str, row: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A scored photo with its decision against the photo thresholds, and whether it is kept (a row not scored ok
    comes back as it is, not kept)."""
    if row["status"] != "ok":
        return row, False
    kept, reason = passes(row["scores"], config.photo_thresholds)
    decision = {
        "kept": kept,
        "reason": reason,
        "id": make_id(source_id, "photo"),
        **({} if kept else {"stage": "decide"}),
    }
    return {**row, **decision}, kept


def _record_outcomes(out: Path, outcome: dict[str, dict[str, Any]]) -> None:
    """One record per source under state/sources or state/quarantine: what resume skips and the report reads."""
    for source_id, result in outcome.items():
        kind = "quarantine" if result["status"] == "quarantined" else "sources"
        write_json_atomic(_state(out, kind) / f"{source_id}.json", {"source_id": source_id, **result})


def pack(out: Path, config: CurationConfig, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Dedup staged items by perceptual hash (also against the shards already written) and pack them."""
    import pandas as pd

    from curation.ops.technical import hamming
    from vsrcore.shards import MANIFEST, ShardWriter

    staging = out / "state" / "staging"
    existing: list[int] = []
    embeddings: list[list[float]] = []
    if (out / MANIFEST).exists():
        df = pd.read_parquet(out / MANIFEST)
        existing = [int(h) for h in df.get("dhash", pd.Series(dtype=str)).dropna()]
        if "clip_embedding" in df:
            embeddings = [json.loads(e) for e in df["clip_embedding"].dropna() if e]
    counts: Counter[str] = Counter()
    with ShardWriter(out, max_items=config.shard_max_items) as writer:
        for row in sorted(rows, key=lambda r: r["id"]):
            if row["id"] in writer:
                counts["already_packed"] += 1
                continue
            h = int(row["dhash"])
            emb = row.get("clip_embedding")
            if any(hamming(h, e) <= config.dedup_hamming for e in existing) or (
                emb is not None and near_duplicate(emb, embeddings, config.dedup_cosine)
            ):
                counts["duplicates"] += 1
                write_json_atomic(staging / f"{row['id']}.dup", {"id": row["id"], "dhash": row["dhash"]})
                continue
            existing.append(h)
            if emb is not None:
                embeddings.append(emb)
            meta = row["meta"]
            is_photo = row["kind"] == "photo"
            manifest_row = {
                "id": row["id"],
                "kind": "image" if is_photo else "clip",
                "source_path": row["path"],
                "source_hash": row["source_id"][1:],
                "start_frame": 0 if is_photo else row["start"],
                "end_frame": 1 if is_photo else row["end"],
                "width": meta["width"],
                "height": meta["height"],
                "fps": 0.0 if is_photo else meta["fps"],
                "frame_count": 1 if is_photo else row["end"] - row["start"],
                # the source's header vs its counted packets (None for photos): a mismatch is recorded, not trusted
                "source_frame_count": None if is_photo else meta["frame_count"],
                "declared_frame_count": None if is_photo else meta.get("declared", {}).get("frame_count"),
                "frame_count_mismatch": None if is_photo else meta.get("declared", {}).get("mismatch"),
                "codec": Path(row["path"]).suffix.lstrip(".").lower() if is_photo else meta["codec"],
                "split": split_of(row["source_id"], row["path"], config.val_sources),
                "cut_mode": row["cut_mode"],
                "dhash": row["dhash"],
                "scores": row["scores"],
                "segment_ids": row.get("segment_ids", []),
                "preset": config.name,
            }
            writer.add(manifest_row, staging / row["media"], Path(row["media"]).suffix)
            counts["packed"] += 1
    return dict(counts)


def near_duplicate(embedding: list[float], kept: list[list[float]], cosine: float) -> bool:
    """True when `embedding` (L2-normalised) has cosine similarity >= `cosine` with any kept embedding."""
    if not kept:
        return False
    return bool((np.asarray(kept, np.float64) @ np.asarray(embedding, np.float64)).max() >= cosine)


def _log(progress: bool, message: str) -> None:
    if progress:
        print(message, flush=True)
