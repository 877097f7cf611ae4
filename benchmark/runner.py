"""The benchmark runner: method x dataset (x LQ variant) x clip -> SR outputs (lossless, cached) -> metric records.

Every (method, dataset, clip) cell is independent: a clip that does not decode, a method that fails on it or a
metric that cannot be built gives records with status and reason for that cell alone, and the run goes on.
Every record carries its protocol (dataset protocol + LQ variant + metric options) and provenance (commit,
versions, weights checksums, device, LQ preset and seed, date).

Records go to the results folder (`benchmark.records.RecordStore`) one part per cell, so a killed run loses at
most the cell in flight. A re-run resumes: a record that scored ('ok') or does not apply ('not-applicable') is
kept while the method's weights files hash as they did (changed weights recompute the method's cells and outputs);
every other one (missing weights or dependency, error) is computed again, and becomes a number once its
cause is gone (weights added, file fixed). SR outputs are cached as FFV1 under `OUT/outputs/` with a JSON
sidecar (LQ digest, timing), so a re-run with more metrics or newly available weights does not re-run methods.
Per method and clip, FPS (frames / seconds of the method call, after one warm-up clip) and, on CUDA, peak GPU
memory are recorded as the metrics `fps` and `peak_mem_gb`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.method_catalogue import make_method
from benchmark.methods import CommandMethod, ModelMethod
from benchmark.metrics import metric_info
from benchmark.records import (
    FINAL_STATUSES,
    Record,
    RecordStore,
    protocol_key,
    provenance,
    record_from_outcome,
    weights_key,
    weights_sha256,
)
from vsrcore.device import default_device
from vsrcore.errors import UserFacingError
from vsrcore.registry import unknown_name


SUITES: dict[str, dict[str, Any]] = {
    # `make bench`: the embedded sample set, bundled and baseline methods, metrics that run offline + the
    # weight-needing ones (recorded as missing with their reasons where the weights are absent).
    "default": {
        "datasets": ["samples"],
        "lq": ["bi", "bd", "realbasicvsr"],
        "methods": ["bicubic", "lanczos", "ffmpeg-lanczos", "flashvsr-tiny", "flashvsr-v1.1"],
        "metrics": ["psnr", "psnr_y", "ssim", "ssim_y", "lpips", "niqe", "musiq", "ewarp_dis"],
    },
    # FlashVSR's Table 1 (arXiv 2510.12747 v1): its four public sets with the LQ the paper describes (RealBasicVSR
    # degradation: the published LQ of YouHQ40 and SPMCS; REDS30 degraded here, seed 0, as none is published) and
    # its seven metrics, at x4, all frames, no border crop. Where the paper is silent (colour space, SSIM variant,
    # DOVER scale, crop, frames) the choices are stated in docs/benchmark.md "The paper suite"; AIGC30 is not
    # distributed. The leaderboard sets the paper's own rows (leaderboard.published) beside the measured ones.
    "paper": {
        "datasets": ["youhq40", "reds30+realbasicvsr", "spmcs", "videolq"],
        "lq": [None],
        "methods": ["flashvsr-v1", "flashvsr-v1.1", "flashvsr-tiny", "bicubic"],
        "metrics": ["psnr", "pyiqa_ssim", "lpips", "niqe", "musiq", "clipiqa", "dover_technical"],
    },
}


@dataclass
class BenchConfig:
    """What to run and where. `user_datasets`: NAME -> folder (`--dataset NAME=DIR`); `dataset_options`: the
    `--set` options of those folders (scale, seed, frames, crop_border)."""

    methods: list[str]
    datasets: list[str]
    metrics: list[str]
    out: Path
    lq: list[str | None] = field(default_factory=lambda: [None])
    data_root: str | None = None
    device: str | None = None
    weights_dir: str | None = None
    commands: dict[str, str | CommandMethod] = field(default_factory=dict)  # templates, or configured presets
    progress: bool = True
    user_datasets: dict[str, str | Path] = field(default_factory=dict)
    dataset_options: dict[str, str] = field(default_factory=dict)


class BenchInputError(UserFacingError):
    """A benchmark request that cannot run: an unknown name, a bad folder layout or option."""


@dataclass
class RunSummary:
    """What a run did. `statuses` counts the latest status of every requested record (this run's and kept ones)."""

    records: int = 0
    skipped_clips: int = 0
    method_failures: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def exit_code(self) -> int:
        """0 when every requested record scored or is missing / not applicable for a stated reason; 3 when any
        errored (recorded, with its reason)."""
        return 3 if self.statuses["error"] else 0


@dataclass
class _Stage:
    """One dataset under one LQ variant: its clips, listed (not loaded) and verified before anything runs."""

    dataset: Any
    variant: str | None
    sources: list[Any]


def plan(cfg: BenchConfig) -> list[_Stage]:
    """Check every name and folder of `cfg` before any work: BenchInputError (one line, the closest valid names for
    an unknown one) or DatasetError naming the first problem. Returns the stages to run."""
    from benchmark.datasets import DATASETS, check_name, get_dataset, user_dataset
    from benchmark.method_catalogue import method_names
    from benchmark.metrics import METRICS

    for m in cfg.metrics:
        if m not in METRICS:
            raise BenchInputError(unknown_name("metric", m, METRICS.names()))
    known_methods = sorted({*method_names(), *cfg.commands})
    for m in cfg.methods:
        if m not in known_methods:
            raise BenchInputError(unknown_name("method", m, known_methods))
        check_name(m, "method name")
    datasets = []
    for d in cfg.datasets:
        if d not in DATASETS:
            raise BenchInputError(
                unknown_name("dataset", d, DATASETS.names()) + " (or --dataset NAME=DIR for a folder)"
            )
        datasets.append(get_dataset(d))
    for name, folder in cfg.user_datasets.items():
        if name in cfg.datasets:
            raise BenchInputError(f"dataset '{name}' is named twice")
        datasets.append(user_dataset(name, folder, **cfg.dataset_options))
    if not datasets:
        raise BenchInputError("no dataset to run (--datasets NAMES or --dataset NAME=DIR)")
    return [
        _Stage(ds, v, ds.sources(cfg.data_root, lq=v) if v else ds.sources(cfg.data_root))
        for ds in datasets
        for v in ds.lq_variants(cfg.lq)
    ]


def _peak_memory(device: str) -> float | None:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    return None


def run(cfg: BenchConfig, execute: Callable[..., None] | None = None) -> RunSummary:
    """Run every (dataset, LQ variant, method, clip) cell, record every metric, and compact the records.

    `execute(cfg, stages, store, latest, summary)`: another backend's way to run the cells, writing their records
    to `store` (`benchmark.ray_backend.run_on_ray`); by default they run here, one after another."""
    stages = plan(cfg)
    device = default_device(cfg.device)
    store = RecordStore(cfg.out)
    summary = RunSummary()
    metric_sets: dict[str, Any] = {}
    with store.lock():
        latest = store.states()
        if execute is not None:
            execute(cfg, stages, store, latest, summary)
            store.compact()
            return summary
        for stage in stages:
            ds = stage.dataset
            if ds.name not in metric_sets:
                metric_sets[ds.name] = metric_set_for(cfg, stage, device)
            _run_stage(cfg, stage, metric_sets[ds.name], device, store, latest, summary)
        store.compact()
    return summary


def metric_set_for(cfg: BenchConfig, stage: _Stage, device: str) -> Any:
    """The metrics of `cfg` for one stage's dataset (its protocol's border crop), built on `device`."""
    from benchmark.metrics.evaluate import MetricSet

    crop = stage.dataset.protocol.crop_border
    return MetricSet(cfg.metrics, device=device, weights_dir=cfg.weights_dir, crop_border=crop)


class _Method:
    """A method built once per stage; its build error (missing weights ...) is every one of its cells' answer."""

    def __init__(self, cfg: BenchConfig, name: str, scale: int, device: str) -> None:
        self.name = name
        self.method = make_method(name, scale, device=device, weights_dir=cfg.weights_dir, commands=cfg.commands)
        # weights are hashed once per method (before it is built), not per clip
        self.sha256s = weights_sha256(_weights_files(self.method, cfg.weights_dir))
        self.weights_key = weights_key(self.sha256s)
        self.provenance = {**provenance(device=device, sha256s=self.sha256s), "method": self.method.info}
        self.build_error: BaseException | None = None
        self.built = False
        self.warmed = False

    def build(self) -> None:
        """Build the model once (its error, if any, is kept as every cell's answer)."""
        if self.built:
            return
        self.built = True
        try:
            self.method.build()
        except Exception as e:
            self.build_error = e


def _run_stage(
    cfg: BenchConfig,
    stage: _Stage,
    metric_set: Any,
    device: str,
    store: RecordStore,
    latest: dict[tuple[str, ...], tuple[str, str]],
    summary: RunSummary,
) -> None:
    loaded: dict[str, Any] = {}  # clip name -> Clip or the exception loading it raised (shared by the methods)
    for method_name in cfg.methods:
        run_cells(cfg, stage, method_name, metric_set, device, latest, summary, store.append, loaded)


def run_cells(
    cfg: BenchConfig,
    stage: _Stage,
    method_name: str,
    metric_set: Any,
    device: str,
    latest: dict[tuple[str, ...], tuple[str, str]],
    summary: RunSummary,
    sink: Callable[[list[Record]], None],
    loaded: dict[str, Any] | None = None,
) -> None:
    """Every clip of one stage for one method: records of the metrics not already kept in `latest` go to `sink`
    (and update `latest` and `summary`). The unit of work of both backends."""
    from benchmark.datasets import UserDataset, lq_preset

    ds, variant = stage.dataset, stage.variant
    base_protocol = ds.protocol.as_dict()
    variant_name = variant or ("given" if isinstance(ds, UserDataset) else "official")
    preset = lq_preset(variant) if variant else None
    loaded = {} if loaded is None else loaded
    method: _Method | None = None
    for source in stage.sources:
        lq_source = f"{variant} (ours, seed {source.lq_seed})" if variant else base_protocol["lq_source"]
        protocol = {
            **base_protocol,
            "lq_source": lq_source,
            "lq": variant_name,
            "metric_options": {m: metric_set.protocol(m) for m in cfg.metrics},
        }
        pkey = protocol_key(protocol)
        keys = {m: (method_name, ds.name, source.name, m, pkey) for m in [*cfg.metrics, "fps"]}
        method = method or _Method(cfg, method_name, base_protocol["scale"], device)
        todo = [m for m, k in keys.items() if not _kept(latest.get(k), method.weights_key)]
        if not todo:
            summary.skipped_clips += 1
            summary.statuses.update(latest[k][0] for k in keys.values())
            continue
        method.build()
        common = {
            "method": method_name,
            "dataset": ds.name,
            "clip": source.name,
            "protocol": protocol,
            "provenance": {**method.provenance, "lq_seed": source.lq_seed, "lq_preset": preset},
        }
        cache = cfg.out / "outputs" / method_name / ds.name / variant_name / f"{source.name}.mkv"
        records = _score_cell(method, source, loaded, todo, metric_set, cache, device, common, summary)
        assert sorted(r.metric for r in records if r.metric in keys) == sorted(todo), (todo, records)
        sink(records)
        for r in records:
            if r.metric in keys:
                latest[keys[r.metric]] = (r.status, method.weights_key)
        summary.records += len(records)
        summary.statuses.update(latest[k][0] for k in keys.values())
        if cfg.progress:
            ok = sum(r.status == "ok" for r in records)
            bad = next((r for r in records if r.status not in FINAL_STATUSES), None)
            print(
                f"bench {ds.name}/{variant_name} {method_name:15s} {source.name:10s} "
                f"{ok}/{len(records)} ok" + (f" ({bad.status}: {bad.reason})" if bad else ""),
                flush=True,
            )


def _kept(state: tuple[str, str] | None, wkey: str) -> bool:
    """Whether a stored (status, weights key) stands: final, and made with the weights present now."""
    return state is not None and state[0] in FINAL_STATUSES and state[1] == wkey


def _score_cell(
    method: _Method,
    source: Any,
    loaded: dict[str, Any],
    todo: list[str],
    metric_set: Any,
    cache: Path,
    device: str,
    common: dict[str, Any],
    summary: RunSummary,
) -> list[Record]:
    """Records for the `todo` metrics (and 'fps') of one (method, dataset, clip) cell; never raises for a failure of
    the method, the clip or a metric: those become records with status and reason."""
    fps = [m for m in todo if m == "fps"]
    records: list[Record] = []
    pending = []
    for m in todo:
        if m == "fps":
            continue
        if metric_info(m)["needs_reference"] and not source.has_gt:
            records.append(_not_applicable(m, "needs a reference clip; this dataset has no gt", common))
        else:
            pending.append(m)
    if method.build_error is not None:
        return records + [_failure(m, method.build_error, common) for m in [*pending, *fps]]
    for m in list(pending):
        try:
            metric_set.metric(m)  # built once; a missing-weights failure is remembered
        except Exception as e:
            pending.remove(m)
            records.append(_failure(m, e, common))
    if not pending and not fps:
        return records
    if source.name not in loaded:
        try:
            loaded[source.name] = source.load()
        except Exception as e:  # this clip fails for every method; the run goes on
            loaded[source.name] = e
    clip = loaded[source.name]
    if isinstance(clip, BaseException):
        return records + [_failure(m, clip, common) for m in [*pending, *fps]]
    for m in list(pending):
        need = int(metric_info(m).get("min_frames", 1))
        if len(clip.lq) < need:
            pending.remove(m)
            records.append(_not_applicable(m, f"needs >= {need} frames; this clip has {len(clip.lq)}", common))
    try:
        sr, timing = _method_output(method, clip, cache, device, need_timing=bool(fps))
    except Exception as e:  # this cell fails; the run goes on
        summary.method_failures += 1
        return records + [_failure(m, e, common) for m in [*pending, *fps]]
    for outcome in metric_set.score(sr, clip.gt, names=pending):
        records.append(record_from_outcome(outcome, **common))
    if fps:
        records += _speed_records(len(sr), timing, isinstance(method.method, CommandMethod), common)
    return records


def _has_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _lq_digest(lq: np.ndarray) -> str:
    h = hashlib.sha256(str(lq.shape).encode())
    h.update(np.ascontiguousarray(lq).tobytes())
    return h.hexdigest()


def _method_output(
    method: _Method, clip: Any, cache: Path, device: str, need_timing: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """SR frames of `clip` and the timing of the call that made them: from the cache when its sidecar matches this
    LQ and these weights (and, when timing is needed, this device), else by running the method (then cached)."""
    import torch

    from vsrcore.atomic import write_json_atomic
    from vsrcore.video.decode import read_frames
    from vsrcore.video.write import read_image_sequence, write_image_sequence, write_video

    sidecar = cache.with_suffix(".json")
    digest = _lq_digest(clip.lq)
    png = not _has_pyav()  # without PyAV (a lean GPU machine) the cache is a folder of PNG frames
    if png:
        cache = cache.with_suffix(".frames")
    if (cache.is_dir() if png else cache.is_file()) and sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text())
        except (OSError, ValueError):
            meta = {}
        fresh = meta.get("lq_sha256") == digest and meta.get("weights_key", "") == method.weights_key
        if fresh and (not need_timing or meta.get("device") == device):
            return (read_image_sequence(cache) if png else read_frames(cache)), meta
    m = method.method
    if not method.warmed and isinstance(m, ModelMethod):
        m(clip.lq[:1])  # warm-up: first-call compilation is not timed
        method.warmed = True
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    sr = m(clip.lq)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    meta = {
        "lq_sha256": digest,
        "weights_key": method.weights_key,
        "frames": len(sr),
        "seconds": time.perf_counter() - t0,
        "device": device,
        "peak_mem_gb": _peak_memory(device),
        **getattr(m, "last_run", {}),  # a command method's own measures of its tool's process (time, RSS, GPU)
    }
    if png:
        shutil.rmtree(cache, ignore_errors=True)
        write_image_sequence(cache, sr)
    else:
        write_video(cache, sr, fps=clip.fps, codec="ffv1")
    write_json_atomic(sidecar, meta)  # after the video: a cache without its sidecar is never trusted
    return sr, meta


def _meta_for(metric: str) -> dict[str, Any]:
    if metric == "fps":
        return {"higher_is_better": True, "metric_label": "FPS", "per": "video"}
    if metric == "peak_mem_gb":
        return {"higher_is_better": False, "metric_label": "peak GPU memory (GB)", "per": "video"}
    if metric == "peak_rss_gb":
        return {"higher_is_better": False, "metric_label": "peak RSS of the tool's process (GB)", "per": "video"}
    info = metric_info(metric)
    return {
        "higher_is_better": bool(info["higher_is_better"]),
        "metric_label": str(info.get("label", metric)),
        "per": str(info.get("per", "frame")),
    }


def _failure(metric: str, error: BaseException, common: dict[str, Any]) -> Record:
    from benchmark.metrics.evaluate import _reason, classify

    return Record(
        metric=metric, value=None, status=classify(error), reason=_reason(error), **_meta_for(metric), **common
    )


def _not_applicable(metric: str, reason: str, common: dict[str, Any]) -> Record:
    return Record(metric=metric, value=None, status="not-applicable", reason=reason, **_meta_for(metric), **common)


def _speed_records(frames: int, timing: dict[str, Any], command: bool, common: dict[str, Any]) -> list[Record]:
    """FPS (and, on CUDA, peak GPU memory) of the method call that made this clip's output; for a command method,
    of its tool's process (start-up and model loading included), with its peak RSS and, where sampled, GPU memory."""
    note = " (whole tool process: start-up and model loading included)" if command else ""
    out = [
        Record(
            metric="fps",
            value=frames / max(float(timing["seconds"]), 1e-9),
            **{**_meta_for("fps"), "metric_label": "FPS" + note},
            **common,
        )
    ]
    if timing.get("peak_mem_gb") is not None:
        meta = _meta_for("peak_mem_gb")
        if timing.get("peak_mem_source"):
            meta["metric_label"] += f" ({timing['peak_mem_source']})"
        out.append(Record(metric="peak_mem_gb", value=float(timing["peak_mem_gb"]), **meta, **common))
    if timing.get("peak_rss_gb") is not None:
        out.append(
            Record(metric="peak_rss_gb", value=float(timing["peak_rss_gb"]), **_meta_for("peak_rss_gb"), **common)
        )
    return out


def _weights_files(method: ModelMethod | CommandMethod, weights_dir: str | None) -> dict[str, Path]:
    """The weights files the method loads (a bundled model's own file included)."""
    if not isinstance(method, ModelMethod):
        return {}
    from model import MODELS
    from vsrcore.weights import WEIGHTS, weight_status

    meta = MODELS.spec(method.name).meta
    if meta.get("bundled"):
        from model.flashvsr.build import tiny_weights

        found = tiny_weights(weights_dir)
        return {found.name: found} if found else {}
    name = meta.get("weights")
    if not name or name not in WEIGHTS:
        return {}
    return weight_status(name, weights_dir)[0]
