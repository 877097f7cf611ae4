"""The benchmark runner: method x dataset (x LQ variant) -> SR outputs (lossless, cached) -> metric records.

Every record carries its protocol (dataset protocol + LQ variant + metric options) and provenance (commit,
versions, weights checksums, device, LQ seed, date). Records go to `OUT/results.parquet` clip by clip, so an
interrupted run resumes where it stopped; SR outputs are cached as FFV1 under `OUT/outputs/`, so a re-run
with more metrics does not re-run the methods. Per method and clip, FPS (frames / seconds of the method
call, after one warm-up clip) and, on CUDA, peak GPU memory are recorded as the metrics `fps` and `peak_mem_gb`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.methods import CommandMethod, ModelMethod, make_method
from benchmark.metrics import metric_info
from benchmark.records import Record, append_records, done_keys, protocol_key, provenance, record_from_outcome


SUITES: dict[str, dict[str, Any]] = {
    # `make bench`: the embedded sample set, bundled and baseline methods, metrics that run offline + the
    # weight-needing ones (recorded as missing with their reasons where the weights are absent).
    "default": {
        "datasets": ["samples"],
        "lq": ["bi", "bd", "realbasicvsr"],
        "methods": ["bicubic", "lanczos", "ffmpeg-lanczos", "flashvsr-tiny", "flashvsr-v1.1"],
        "metrics": ["psnr", "psnr_y", "ssim", "ssim_y", "lpips", "niqe", "musiq", "ewarp_dis"],
    },
    # the paper's comparison: standard sets under --data-root, all metrics of FlashVSR's Table 1.
    "paper": {
        "datasets": ["reds30", "udm10", "spmcs", "youhq40", "videolq"],
        "lq": [None],
        "methods": ["flashvsr-v1.1", "flashvsr-v1", "flashvsr-tiny", "bicubic"],
        "metrics": ["psnr", "ssim", "lpips", "dists", "musiq", "clipiqa", "dover_overall", "ewarp"],
    },
}


@dataclass
class BenchConfig:
    """What to run and where."""

    methods: list[str]
    datasets: list[str]
    metrics: list[str]
    out: Path
    lq: list[str | None] = field(default_factory=lambda: [None])
    data_root: str | None = None
    device: str | None = None
    weights_dir: str | None = None
    commands: dict[str, str] = field(default_factory=dict)
    progress: bool = True


def _cache_path(cfg: BenchConfig, method: str, dataset: str, variant: str, clip: str) -> Path:
    return cfg.out / "outputs" / method / dataset / variant / f"{clip}.mkv"


def _peak_memory(device: str) -> float | None:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    return None


def _device(cfg: BenchConfig) -> str:
    if cfg.device:
        return cfg.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run(cfg: BenchConfig) -> dict[str, int]:
    """Run every (dataset, LQ variant, method, clip) and record every metric; returns counts."""
    import torch

    from benchmark.datasets import get_dataset
    from benchmark.metrics.evaluate import MetricSet
    from vsrcore.video.decode import read_frames
    from vsrcore.video.write import write_video

    device = _device(cfg)
    results = cfg.out / "results.parquet"
    done = done_keys(results)
    counts = {"records": 0, "skipped_clips": 0, "method_failures": 0}
    for dataset_name in cfg.datasets:
        ds = get_dataset(dataset_name)
        base_protocol = ds.protocol.as_dict()
        metric_set = MetricSet(
            cfg.metrics, device=device, weights_dir=cfg.weights_dir, crop_border=base_protocol.get("crop_border", 0)
        )
        for variant in cfg.lq:
            variant_name = variant or base_protocol.get("lq_source", "official")
            clips = list(ds.clips(cfg.data_root, lq=variant) if variant else ds.clips(cfg.data_root))
            for method_name in cfg.methods:
                method = make_method(
                    method_name,
                    base_protocol["scale"],
                    device=device,
                    weights_dir=cfg.weights_dir,
                    commands=cfg.commands,
                )
                build_error: BaseException | None = None
                try:
                    method.build()
                except Exception as e:  # missing weights / dependency: recorded per clip and metric
                    build_error = e
                # weights are hashed once per method, not per clip
                method_prov = {
                    **provenance(device=device, weights=_weights_files(method, cfg.weights_dir)),
                    "method": method.info,
                }
                warmed = False
                for clip in clips:
                    lq_source = (
                        f"{variant} (ours, seed {clip.lq_seed})"
                        if variant
                        else base_protocol.get("lq_source", "official")
                    )
                    protocol = {
                        **base_protocol,
                        "lq_source": lq_source,
                        "lq": variant_name,
                        "metric_options": {m: metric_set.protocol(m) for m in cfg.metrics},
                    }
                    pkey = protocol_key(protocol)
                    # temporal metrics do not apply to photos (1-frame clips): no record rather than an error
                    applicable = [m for m in cfg.metrics if len(clip.lq) >= metric_info(m).get("min_frames", 1)]
                    wanted = [*applicable, "fps"]
                    if all((method_name, dataset_name, clip.name, m, pkey) in done for m in wanted):
                        counts["skipped_clips"] += 1
                        continue
                    common = {
                        "method": method_name,
                        "dataset": dataset_name,
                        "clip": clip.name,
                        "protocol": protocol,
                        "provenance": {**method_prov, "lq_seed": clip.lq_seed},
                    }
                    records: list[Record] = []
                    cache = _cache_path(cfg, method_name, dataset_name, variant_name, clip.name)
                    sr, seconds = None, None
                    error = build_error
                    if error is None:
                        try:
                            if cache.exists():
                                sr = read_frames(cache)
                            else:
                                if not warmed and isinstance(method, ModelMethod):
                                    method(clip.lq[:1])  # warm-up: first-call compilation is not timed
                                    warmed = True
                                if device.startswith("cuda"):
                                    torch.cuda.reset_peak_memory_stats()
                                    torch.cuda.synchronize()
                                t0 = time.perf_counter()
                                sr = method(clip.lq)
                                if device.startswith("cuda"):
                                    torch.cuda.synchronize()
                                seconds = time.perf_counter() - t0
                                write_video(cache, sr, fps=clip.fps, codec="ffv1")
                        except Exception as e:  # this clip fails; the run goes on
                            error = e
                            counts["method_failures"] += 1
                    if error is not None:
                        from benchmark.metrics.evaluate import _reason, classify

                        status, reason = classify(error), _reason(error)
                        for m in wanted:
                            records.append(
                                Record(metric=m, value=None, status=status, reason=reason, **_meta_for(m), **common)
                            )
                    else:
                        assert sr is not None
                        for outcome in metric_set.score(sr, clip.gt):
                            if outcome.metric in applicable:
                                records.append(record_from_outcome(outcome, **common))
                        records += _speed_records(sr, seconds, device, isinstance(method, CommandMethod), common)
                    append_records(results, records)
                    counts["records"] += len(records)
                    if cfg.progress:
                        ok = sum(r.status == "ok" for r in records)
                        print(
                            f"bench {dataset_name}/{variant_name} {method_name:15s} {clip.name:10s} "
                            f"{ok}/{len(records)} ok" + (f" ({records[0].reason})" if ok == 0 else ""),
                            flush=True,
                        )
    return counts


def _meta_for(metric: str) -> dict[str, Any]:
    if metric == "fps":
        return {"higher_is_better": True, "metric_label": "FPS", "per": "video"}
    if metric == "peak_mem_gb":
        return {"higher_is_better": False, "metric_label": "peak GPU memory (GB)", "per": "video"}
    info = metric_info(metric)
    return {
        "higher_is_better": bool(info["higher_is_better"]),
        "metric_label": str(info.get("label", metric)),
        "per": str(info.get("per", "frame")),
    }


def _speed_records(
    sr: np.ndarray, seconds: float | None, device: str, command: bool, common: dict[str, Any]
) -> list[Record]:
    """FPS (and, on CUDA, peak GPU memory) of a method call; nothing when the output came from the cache."""
    if seconds is None:
        return []
    note = " (includes process start and PNG I/O)" if command else ""
    out = [
        Record(metric="fps", value=len(sr) / seconds, **{**_meta_for("fps"), "metric_label": "FPS" + note}, **common)
    ]
    peak = _peak_memory(device)
    if peak is not None:
        out.append(Record(metric="peak_mem_gb", value=peak, **_meta_for("peak_mem_gb"), **common))
    return out


def _weights_files(method: ModelMethod | CommandMethod, weights_dir: str | None) -> dict[str, Path]:
    if not isinstance(method, ModelMethod):
        return {}
    from model import MODELS
    from vsrcore.weights import WEIGHTS, weight_status

    name = MODELS.spec(method.name).meta.get("weights")
    if not name or name not in WEIGHTS:
        return {}
    return weight_status(name, weights_dir)[0]
