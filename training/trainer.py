"""The training loop shared by every stage: build parts, load prerequisites, resume, step, log, checkpoint.

A run directory holds one sub-directory per stage (`stage0`, `stage1`, `stage2`, `stage3`, `decoder`); a stage
finds its prerequisites there (stage 1/2/decoder need stage 0's autoencoder; stage 2 starts from stage 1; stage 3
from stage 2 (student) and stage 1 (real and fake scores)), or in `init` overrides. Each stage directory has
checkpoints (see `training.checkpoint`), `loss.csv` and `loss.png`.

Determinism: the batch of step k depends on (seed, k) only (`training.data`), the step's noise on a CPU generator
seeded from (seed, "step/k"), and module initialisation on `seed`; so a resumed run takes the same next step as
an uninterrupted one. On CUDA: bf16 autocast and gradient checkpointing (DiT blocks) by default. Several GPUs:
launch with torchrun; gradients are averaged over ranks (all-reduce) and rank 0 writes.
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from model.flashvsr.config import MODEL_PRESETS, FlashVSRConfig
from model.flashvsr.tc_decoder import TCDecoder
from model.flashvsr.transformer import WanDiT
from training import stages as S
from training.autoencoder import TinyVideoAE
from training.checkpoint import latest_checkpoint, load_checkpoint, part_state, restore, save_checkpoint
from training.data import Degrader, SampleSpec, VSRTrainDataset, list_media, make_loader
from training.dit import load_dit
from training.losses import load_lpips
from training.official import OFFICIAL, check_official_init, official_tensors
from training.pairs import read_pairs
from vsrcore.device import default_device
from vsrcore.errors import UserFacingError
from vsrcore.version import git_commit


STAGE_DIRS = {"0": "stage0", "1": "stage1", "2": "stage2", "3": "stage3", "decoder": "decoder"}
TRAINABLE = {
    "0": ("ae",),
    "1": ("dit", "lq_proj"),
    "2": ("dit", "lq_proj"),
    "3": ("dit", "lq_proj", "fake_dit", "fake_lq"),
    "decoder": ("tcdecoder",),
}


@dataclass
class TrainConfig:
    """Everything a run depends on (written into every checkpoint's metadata)."""

    stage: str
    data: list[str]
    out: str
    preset: str = "flashvsr-tiny"
    steps: int = 1000
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: int = 0
    lr_schedule: str = "constant"  # constant | cosine (to 0 at `steps`)
    grad_clip: float = 1.0
    videos: int = 1
    images: int = 2
    latents: int = 4  # T: clips have 4T + 1 frames
    crop: int = 128
    rescale: tuple[float, float] = (1.0, 1.0)  # source rescale range per sample (SampleSpec.rescale)
    degradation: str = "realbasicvsr"
    target: str = "preset"  # preset (the preset's GT, e.g. USM-sharpened) | source (the clean crop)
    pairs: str | None = None  # folder of stored pairs (training.make_pairs), drawn for `pair_share` of samples
    pair_share: float = 0.0
    scale: int = 4
    seed: int = 0
    split: str | None = "train"
    workers: int = 0
    device: str | None = None
    amp: str = "auto"  # auto | bf16 | off
    grad_ckpt: str = "auto"  # auto | on | off
    ckpt_every: int = 500
    log_every: int = 10
    lpips: str = "auto"  # auto | off
    resume: bool = False
    init: dict[str, str] = field(default_factory=dict)  # stage name -> checkpoint path override
    options: dict[str, Any] = field(default_factory=dict)  # StageOptions overrides
    model_overrides: dict[str, Any] = field(default_factory=dict)  # FlashVSRConfig fields, e.g. tc_channels
    weights_dir: str | None = None  # where --init STAGE=official finds the release (as `flashvsr upscale`)


def model_config(cfg: TrainConfig) -> FlashVSRConfig:
    """The run's model: its preset with `model_overrides`; a bad field is one line."""
    try:
        return FlashVSRConfig.from_name(MODEL_PRESETS[cfg.preset], **cfg.model_overrides)
    except (TypeError, ValueError) as e:
        raise UserFacingError(f"--config {cfg.model_overrides}: {e}") from None


def stage_dir(cfg: TrainConfig, stage: str | None = None) -> Path:
    return Path(cfg.out) / STAGE_DIRS[stage or cfg.stage]


def _prerequisite(cfg: TrainConfig, stage: str) -> tuple[dict[str, Tensor], dict[str, Any], Path | str]:
    if cfg.init.get(stage) == OFFICIAL:
        model_cfg = model_config(cfg)
        tensors = official_tensors(cfg.preset, stage, model_cfg, cfg.weights_dir)
        return tensors, {"model_config": model_cfg.to_dict()}, f"{OFFICIAL}:{cfg.preset}"
    path = Path(cfg.init[stage]) if stage in cfg.init else latest_checkpoint(stage_dir(cfg, stage))
    if path is None or not path.exists():
        raise UserFacingError(
            f"stage {cfg.stage} needs a stage-{stage} checkpoint: none in {stage_dir(cfg, stage)} "
            f"(run `flashvsr train --stage {stage} --out {cfg.out}` first, or pass --init {stage}=PATH)"
        )
    tensors, meta = load_checkpoint(path)
    return tensors, meta, path


def seeded_context(model_cfg: FlashVSRConfig, seed: int) -> Tensor:
    """The fixed prompt context of a from-scratch model: (1, 16, text_dim), seeded."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(1, 16, model_cfg.text_dim, generator=g)


def build_parts(cfg: TrainConfig, model_cfg: FlashVSRConfig) -> tuple[dict[str, nn.Module], Tensor | None, dict]:
    """Modules of the stage (trainable and frozen, on the CPU), the prompt context, and where the frozen /
    initial weights came from."""
    stage, sources = cfg.stage, {}
    check_official_init(cfg.init, cfg.preset)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        parts: dict[str, nn.Module] = {}
        context = None
        # a decoder on student latents with no full-decoder term never touches the autoencoder
        no_ae = (
            stage == "decoder"
            and cfg.options.get("decoder_latents") in ("student", "zero")
            and not cfg.options.get("full_weight", 1.0)
        )
        if stage == "0":
            parts["ae"] = TinyVideoAE(model_cfg)
        elif not no_ae:
            ae_t, _, p = _prerequisite(cfg, "0")
            ae = TinyVideoAE(model_cfg)
            ae.load_state_dict(part_state(ae_t, "ae"))
            parts["ae"] = ae
            sources["ae"] = str(p)
        if stage == "1":
            parts["dit"], parts["lq_proj"] = load_dit(model_cfg)
            context = seeded_context(model_cfg, cfg.seed)
        if stage in ("2", "3"):
            t, _, p = _prerequisite(cfg, "2" if stage == "3" else "1")
            parts["dit"], parts["lq_proj"] = load_dit(model_cfg, t)
            context, sources["init"] = t["context"], str(p)
        if stage == "3":
            t1, _, p1 = _prerequisite(cfg, "1")
            parts["real_dit"], parts["real_lq"] = load_dit(model_cfg, t1)
            parts["fake_dit"], parts["fake_lq"] = load_dit(model_cfg, t1)
            sources["real_score"] = sources["fake_score_init"] = str(p1)
        if stage == "decoder":
            parts["tcdecoder"] = TCDecoder.from_config(model_cfg)
            if "decoder" in cfg.init:  # fine-tune a decoder (an earlier run's, or the release's)
                td, _, pd = _prerequisite(cfg, "decoder")
                parts["tcdecoder"].load_state_dict(part_state(td, "tcdecoder"))
                sources["tcdecoder_init"] = str(pd)
            if cfg.options.get("decoder_latents") == "student":
                t3, _, p3 = _prerequisite(cfg, "3")
                parts["dit"], parts["lq_proj"] = load_dit(model_cfg, t3)
                context, sources["student"] = t3["context"], str(p3)
    for name, m in parts.items():
        train = name in TRAINABLE[stage]
        m.train(train).requires_grad_(train)
    return parts, context, sources


STEP_FNS: dict[str, Callable[..., dict[str, Tensor]]] = {
    "0": S.stage0_step,
    "1": S.stage1_step,
    "2": S.stage2_step,
    "3": S.stage3_step,
    "decoder": S.decoder_step,
}


def layout(cfg: TrainConfig) -> tuple[int, int]:
    """(videos, images) per step: stages 2 and 3 train on videos only."""
    return (cfg.videos, 0) if cfg.stage in ("2", "3") else (cfg.videos, cfg.images)


class LossLog:
    """CSV of per-step losses (rows after a resume point are dropped on resume) and a PNG curve."""

    def __init__(self, folder: Path, start_step: int) -> None:
        self.path = folder / "loss.csv"
        self.rows: list[dict[str, Any]] = []
        if self.path.exists():
            with self.path.open() as fh:
                self.rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= start_step]

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def write(self) -> None:
        keys: list[str] = []
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        from vsrcore.atomic import atomic_path

        with atomic_path(self.path) as tmp, tmp.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)
        self.plot()

    def plot(self) -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return
        if not self.rows:
            return
        steps = [int(r["step"]) for r in self.rows]
        fig, ax = plt.subplots(figsize=(7, 4))
        for key in [k for k in self.rows[0] if k not in ("step", "time_s", "lr", "window")]:
            vals = [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in self.rows]
            ax.plot(steps, vals, label=key)
        positive = all(float(r[k]) > 0 for r in self.rows for k in r if k not in ("step", "time_s") and r[k])
        ax.set_yscale("log" if positive else "linear")
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
        fig.tight_layout()
        from vsrcore.atomic import atomic_path

        with atomic_path(self.path.with_suffix(".png")) as tmp:
            fig.savefig(tmp, format="png", dpi=90)
        plt.close(fig)


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Linear warm-up over `warmup` steps, then constant or cosine decay to 0 at `steps`."""
    lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup) if cfg.warmup else cfg.lr
    if cfg.lr_schedule == "cosine":
        lr *= 0.5 * (1 + math.cos(math.pi * min(step / max(cfg.steps, 1), 1.0)))
    elif cfg.lr_schedule != "constant":
        raise UserFacingError(f"unknown lr schedule '{cfg.lr_schedule}' (constant, cosine)")
    return lr


def _dist() -> tuple[int, int, int, bool]:
    """(rank, world size, local rank, whether this call started the process group)."""
    world, local = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("LOCAL_RANK", "0"))
    started = world > 1 and not torch.distributed.is_initialized()
    if started:
        if torch.cuda.is_available():  # binding the rank's GPU up front keeps NCCL barriers on the right device
            torch.distributed.init_process_group("nccl", device_id=torch.device("cuda", local))
        else:
            torch.distributed.init_process_group("gloo")
    return int(os.environ.get("RANK", "0")), world, local, started


@dataclass
class _Placement:
    """Where this process trains: its rank in the job, its device, and the precision and memory choices."""

    rank: int
    world: int
    own_group: bool  # this call started the process group (and ends it)
    device: torch.device
    amp: bool  # bf16 autocast
    grad_ckpt: bool  # gradient checkpointing of the DiTs


@dataclass
class _Stage:
    """A stage's modules, what of them trains and how, and where its checkpoints go."""

    parts: dict[str, nn.Module]
    trainable: dict[str, nn.Module]
    params: list[nn.Parameter]
    opt: torch.optim.Optimizer
    opts: S.StageOptions
    context: Tensor | None
    folder: Path


def train(cfg: TrainConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) one stage; returns a summary (last losses, checkpoint path, steps, seconds)."""
    _check_names(cfg)
    where = _placement(cfg)
    model_cfg = model_config(cfg)
    lpips_fn, lpips_note = _lpips(cfg, where, log)
    stage, sources = _build_stage(cfg, model_cfg, where, lpips_fn)
    start = _resume(cfg, stage, where.rank, log)
    if stage.context is not None:
        stage.context = stage.context.to(where.device)
    items, dataset, loader = _data(cfg, start, where)
    meta_base = {
        "config": asdict(cfg),
        "model_config": model_cfg.to_dict(),
        "data": {
            "sources": cfg.data,
            "split": cfg.split,
            "items": len(items),
            "clips": len(dataset.clips),
            "photos": len(dataset.photos),
        },  # fmt: skip
        "seed": cfg.seed,
        "git_commit": git_commit(),
        "torch": torch.__version__,
        "device": str(where.device) if where.device.type != "cuda" else torch.cuda.get_device_name(where.device),
        "world_size": where.world,
        "bf16_autocast": where.amp,
        "gradient_checkpointing": where.grad_ckpt,
        "lpips": lpips_fn is not None,
        "lpips_note": lpips_note,
        "sources": sources,
    }
    t0 = time.perf_counter()
    step, last, path = _loop(cfg, stage, where, loader, start, meta_base, log)
    _leave(where)
    return {"stage": cfg.stage, "steps": step, "losses": last, "checkpoint": str(path) if path else None,
            "seconds": time.perf_counter() - t0, "lpips": lpips_note}  # fmt: skip


def _check_names(cfg: TrainConfig) -> None:
    if cfg.stage not in STEP_FNS:
        raise UserFacingError(f"unknown stage '{cfg.stage}' (0, 1, 2, 3, decoder)")
    if cfg.preset not in MODEL_PRESETS:
        raise UserFacingError(f"unknown model preset '{cfg.preset}' ({', '.join(MODEL_PRESETS)})")


def _placement(cfg: TrainConfig) -> _Placement:
    """Join the process group (under torchrun), bind the rank's device, choose bf16 and checkpointing."""
    rank, world, local, own_group = _dist()
    device = torch.device(default_device(cfg.device, index=local))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    amp = cfg.amp == "bf16" or (cfg.amp == "auto" and device.type == "cuda")
    ckpt = cfg.grad_ckpt == "on" or (cfg.grad_ckpt == "auto" and device.type == "cuda")
    return _Placement(rank, world, own_group, device, amp, ckpt)


def _lpips(cfg: TrainConfig, where: _Placement, log: Callable[[str], None]) -> tuple[Any, str]:
    """The LPIPS network of the stages whose losses use it (with a note on what was loaded)."""
    if cfg.stage not in ("0", "3", "decoder"):
        return None, "n/a"
    lpips_fn, note = load_lpips(cfg.lpips, where.device)
    if where.rank == 0:
        log(f"stage {cfg.stage}: {note}")
    return lpips_fn, note


def _build_stage(cfg: TrainConfig, model_cfg: FlashVSRConfig, where: _Placement, lpips_fn: Any) -> tuple[_Stage, dict]:
    """The stage's modules on the device, its optimiser over the trainable ones, and where their weights came from."""
    parts, context, sources = build_parts(cfg, model_cfg)
    for m in parts.values():
        m.to(where.device)
        if isinstance(m, WanDiT):
            m.gradient_checkpointing = where.grad_ckpt
    trainable = {n: parts[n] for n in TRAINABLE[cfg.stage]}
    params = [p for m in trainable.values() for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    opts = S.StageOptions(scale=cfg.scale, lpips=lpips_fn, **cfg.options)
    return _Stage(parts, trainable, params, opt, opts, context, stage_dir(cfg)), sources


def _resume(cfg: TrainConfig, stage: _Stage, rank: int, log: Callable[[str], None]) -> int:
    """With --resume: the latest checkpoint's weights, optimiser state and context restored; the step to start at."""
    if not cfg.resume:
        return 0
    path = latest_checkpoint(stage.folder)
    if path is None:
        if rank == 0:
            log(f"stage {cfg.stage}: nothing to resume in {stage.folder}; starting at step 0")
        return 0
    tensors, meta = load_checkpoint(path)
    restore(stage.trainable, tensors, meta, stage.opt)
    if "context" in tensors:
        stage.context = tensors["context"]
    start = int(meta["step"])
    if rank == 0:
        log(f"stage {cfg.stage}: resumed from {path} (step {start})")
    return start


def _data(cfg: TrainConfig, start: int, where: _Placement) -> tuple[list, VSRTrainDataset, Any]:
    """The media, the dataset of crops and the loader of degraded pairs (its order resumes at `start`)."""
    videos, images = layout(cfg)
    items = list_media(cfg.data, cfg.split)
    if not 0 < cfg.rescale[0] <= cfg.rescale[1]:
        raise UserFacingError(f"--rescale {cfg.rescale[0]},{cfg.rescale[1]}: need 0 < LO <= HI")
    spec = SampleSpec(clip_frames=4 * cfg.latents + 1, crop=cfg.crop, rescale=tuple(cfg.rescale))
    stored = read_pairs(cfg.pairs) if cfg.pairs else []
    if any(p.scale != cfg.scale for p in stored):
        raise UserFacingError(f"{cfg.pairs}: its pairs are not all x{cfg.scale} (--scale)")
    if cfg.pair_share and not stored:
        raise UserFacingError("--pair-share needs --pairs")
    dataset = VSRTrainDataset(items, spec=spec, videos=videos, images=images, seed=cfg.seed, pairs=stored,
                              pair_share=cfg.pair_share)  # fmt: skip
    if cfg.target not in ("preset", "source"):
        raise UserFacingError(f"unknown target '{cfg.target}' (preset, source)")
    degrader = Degrader(cfg.degradation, cfg.scale, cfg.seed, target=cfg.target)
    loader = make_loader(dataset, degrader, start_step=start, steps=cfg.steps, workers=cfg.workers,
                         rank=where.rank, world=where.world)  # fmt: skip
    return items, dataset, loader


def _loop(cfg: TrainConfig, stage: _Stage, where: _Placement, loader: Any, start: int, meta_base: dict[str, Any],
          log: Callable[[str], None]) -> tuple[int, dict[str, float], Path | None]:  # fmt: skip
    """Optimise over the loader's batches; rank 0 logs losses and writes checkpoints. (last step, its losses, the
    last checkpoint written)."""
    logger = LossLog(stage.folder, start) if where.rank == 0 else None
    t0, last, path = time.perf_counter(), {}, None
    step = start
    for batch in loader:
        lr = learning_rate(cfg, step)
        last = _optimise(cfg, stage, where, batch, step, lr)
        step += 1
        if logger is None:
            continue
        logger.add({"step": step, "time_s": round(time.perf_counter() - t0, 3), "lr": lr, **last})
        if step % cfg.log_every == 0 or step == cfg.steps:
            log(f"stage {cfg.stage} step {step}/{cfg.steps} " + " ".join(f"{k}={v:.4g}" for k, v in last.items()))
            logger.write()
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            meta = {**meta_base, "losses": last, "elapsed_s": time.perf_counter() - t0}
            path = save_checkpoint(stage.folder, step, stage.trainable, optimizer=stage.opt, context=stage.context,
                                   meta=meta)  # fmt: skip
    if logger is not None:
        logger.write()
    return step, last, path


def _optimise(
    cfg: TrainConfig, stage: _Stage, where: _Placement, batch: Any, step: int, lr: float
) -> dict[str, float]:
    """One optimiser step at learning rate `lr` (gradients averaged over ranks); the step's losses."""
    from vsrcore.rng import torch_generator

    gen = torch_generator(cfg.seed, f"step/{step}")
    for g in stage.opt.param_groups:
        g["lr"] = lr
    extra = () if stage.context is None else (stage.context,)
    with torch.autocast(where.device.type, dtype=torch.bfloat16, enabled=where.amp):
        losses = STEP_FNS[cfg.stage](stage.parts, batch.to(where.device), gen, stage.opts, *extra)
    stage.opt.zero_grad(set_to_none=True)
    losses["loss"].backward()
    if where.world > 1:
        for p in stage.params:
            if p.grad is not None:
                torch.distributed.all_reduce(p.grad)
                p.grad /= where.world
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(stage.params, cfg.grad_clip)
    stage.opt.step()
    return {k: float(v.detach().float()) for k, v in losses.items()}


def _leave(where: _Placement) -> None:
    """Wait for every rank, and end the process group where this run started it."""
    if where.world > 1:
        torch.distributed.barrier()
        if where.own_group:
            torch.distributed.destroy_process_group()
