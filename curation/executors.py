"""Executors: run a list of stages over items, locally (in process) or on Ray Data.

Both wrap each stage the same way: an exception inside `process()` becomes a quarantine row (status,
stage, reason) instead of a failed job; items whose status is not "ok" pass through untouched. On Ray,
items travel as one JSON string column (schema-free: no Arrow struct unification across item kinds),
stages with `resources.actor` run as actor pools that call `setup()` once per worker (GPU if requested),
the others as tasks; tasks and actors are retried when a worker or node dies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from curation.stages import Stage


def apply_stage(stage: Stage, item: dict[str, Any]) -> list[dict[str, Any]]:
    """One stage on one item with failures turned into quarantine rows."""
    if item.get("status", "ok") != "ok":
        return [item]
    try:
        out = stage.process(item)
    except Exception as e:  # per-item failure: quarantine, never a failed job
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        return [{**item, "status": "quarantined", "stage": stage.name, "reason": reason}]
    if out is None:
        return []
    return out if isinstance(out, list) else [out]


def run_local(stages: list[Stage], items: Iterable[dict[str, Any]], *, progress: bool = False) -> list[dict[str, Any]]:
    """Run stages in order in this process (tests, debugging, tiny inputs), with a progress bar per stage."""
    from tqdm import tqdm

    current = list(items)
    for stage in stages:
        stage.setup()
        bar = tqdm(current, desc=stage.name, unit="item", disable=not progress or not current)
        current = [out for item in bar for out in apply_stage(stage, item)]
    return current


class _StageFn:
    """Ray Data callable class: holds one stage, set up once per worker."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.stage.setup()

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"item": json.dumps(o)} for o in apply_stage(self.stage, json.loads(row["item"]))]


def _task_fn(row: dict[str, Any], stage: Stage) -> list[dict[str, Any]]:
    return [{"item": json.dumps(o)} for o in apply_stage(stage, json.loads(row["item"]))]


def _actor_cpus(stages: list[Stage], cpus: float) -> dict[str, float]:
    """CPUs per actor of each actor stage, so that one actor of every pool plus one task of every task stage fit
    on a cluster of `cpus` CPUs together. An actor holds its CPUs for its whole life: on a 1-CPU Ray, a pool
    asking for 1 CPU would leave nothing for the task stage that feeds it, and the pipeline would wait forever."""
    actors = [s for s in stages if s.resources.actor]
    tasks = sum(min(s.resources.cpus, cpus / 2) for s in stages if not s.resources.actor)
    share = max(cpus - tasks, cpus / 2) / max(len(actors), 1)
    return {s.name: min(s.resources.cpus, share) for s in actors}


def run_ray(stages: list[Stage], items: list[dict[str, Any]], *, progress: bool = True) -> list[dict[str, Any]]:
    """Run stages as a Ray Data pipeline and collect the (small) output items on the driver."""
    import ray

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = progress
    if not items:
        return []
    ds = ray.data.from_items([{"item": json.dumps(i)} for i in items], override_num_blocks=min(len(items), 200))
    gpus = float(ray.cluster_resources().get("GPU", 0))
    cpus = float(ray.cluster_resources().get("CPU", 1))
    actor_cpus = _actor_cpus(stages, cpus)
    for stage in stages:
        res = stage.resources
        if res.actor:
            num_gpus = res.gpus if gpus >= max(res.gpus, 1) else 0
            # leave a CPU to the task stages that feed the pool, or both can wait on each other on small clusters
            most = max(1, int(gpus)) if num_gpus else max(1, int(cpus) - 1)
            ds = ds.flat_map(
                _StageFn,
                fn_constructor_args=(stage,),
                concurrency=(1, most),
                num_cpus=actor_cpus[stage.name],
                num_gpus=num_gpus,
                max_restarts=-1,
                max_task_retries=-1,
            )
        else:
            ds = ds.flat_map(_task_fn, fn_args=(stage,), num_cpus=min(res.cpus, cpus / 2), max_retries=5)
    return [json.loads(r["item"]) for r in ds.take_all()]
