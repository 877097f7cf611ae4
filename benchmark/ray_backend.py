"""`flashvsr bench --backend ray`: each (dataset stage, method) of a run is one Ray task
(`runner.run(cfg, execute=functools.partial(run_on_ray, address=...))`).

A task builds its method and metrics once, scores every clip of its stage with `runner.run_cells` (the local
backend's unit of work, so the records are the same) and returns its records; the driver writes them to the
results folder as each task ends (the store stays single-writer, and a resumed run skips what any earlier run,
local or on Ray, kept). Learned models and external presets get one GPU each where the cluster has GPUs (the task
then runs on "cuda"); classical methods and CPU-only clusters run on "cpu", with torch using the CPUs Ray gave
the task. A task that dies with its worker is retried; a task that fails keeps its clips' failures as records.
"""

from __future__ import annotations

from typing import Any

from benchmark.records import Record
from benchmark.runner import BenchConfig, RunSummary, _Stage


def wants_gpu(cfg: BenchConfig, name: str) -> bool:
    """Whether method `name` should hold a GPU: a model with weights, or an external preset."""
    from benchmark.external_methods import PRESETS
    from model import MODELS

    if name in cfg.commands:
        return name in PRESETS
    return name in MODELS.names() and bool(MODELS.spec(name).meta.get("needs_weights"))


def run_on_ray(
    cfg: BenchConfig,
    stages: list[_Stage],
    store: Any,
    latest: dict[tuple[str, ...], tuple[str, str]],
    summary: RunSummary,
    address: str | None = None,
) -> None:
    """`runner.run`'s `execute` on Ray (joining `address`, or a local Ray): one task per (stage, method), each
    task's records appended as it ends, `latest` and `summary` merged."""
    import ray

    from vsrcore.ray_cluster import init_ray

    init_ray(address)
    gpus = float(ray.cluster_resources().get("GPU", 0))
    cells = ray.remote(max_retries=3)(_cells)
    pending: dict[Any, tuple[str, str]] = {}
    for stage in stages:
        for name in cfg.methods:
            mine = {k: v for k, v in latest.items() if k[0] == name and k[1] == stage.dataset.name}
            ref = cells.options(num_cpus=1, num_gpus=1 if gpus >= 1 and wants_gpu(cfg, name) else 0).remote(
                cfg, stage, name, mine
            )
            pending[ref] = (stage.dataset.name, name)
    while pending:
        (ref,), _ = ray.wait(list(pending), num_returns=1)
        dataset, name = pending.pop(ref)
        records, part, seen = ray.get(ref)
        if records:
            store.append(records)
        latest.update(seen)
        summary.records += part.records
        summary.skipped_clips += part.skipped_clips
        summary.method_failures += part.method_failures
        summary.statuses.update(part.statuses)
        if cfg.progress:
            print(f"bench (ray) {dataset} {name}: {part.records} records, {part.skipped_clips} clips kept", flush=True)


def _cells(
    cfg: BenchConfig, stage: _Stage, name: str, latest: dict[tuple[str, ...], tuple[str, str]]
) -> tuple[list[Record], RunSummary, dict[tuple[str, ...], tuple[str, str]]]:
    """In a Ray worker: every clip of `stage` for method `name` (records, this task's summary, the new states)."""
    from dataclasses import replace

    import ray
    import torch

    from benchmark.runner import metric_set_for, run_cells

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    torch.set_num_threads(max(1, int(cpus)))
    device = "cuda" if ray.get_gpu_ids() else "cpu"
    records: list[Record] = []
    part = RunSummary()
    task_cfg = replace(cfg, progress=False)
    run_cells(task_cfg, stage, name, metric_set_for(cfg, stage, device), device, latest, part, records.extend)
    return records, part, latest
