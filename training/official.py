"""Fine-tuning from the released FlashVSR weights (presets `flashvsr-v1`, `flashvsr-v1.1`).

`--init 3=official` takes the release's one-step student (DiT + LQ projection + prompt context) where a run would
use its stage-3 checkpoint; `--init decoder=official` starts the decoder stage from the release's TCDecoder. The
files are found like `flashvsr upscale` finds them (`--weights-dir`, `$FLASHVSR_WEIGHTS`, the cache), under
`<dir>/<preset>/`. Stages 0-2 and the DMD stage itself cannot start from the release: its latent space is the
Wan2.1 VAE's, whose encoder this toolkit does not implement (only the decoder, for inference).

`export_official` writes a weights folder in the release's own layout, the fine-tuned parts replacing the
released ones, so `flashvsr upscale --model <preset> --weights-dir OUT` runs the fine-tuned model.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch
from torch import Tensor

from model.flashvsr.config import OFFICIAL_PRESETS, FlashVSRConfig
from model.flashvsr.tc_decoder import TCDecoder
from vsrcore.errors import UserFacingError


OFFICIAL = "official"  # the value of --init STAGE=official
# run stage -> the parts of the release it stands for (stage 3: the student; decoder: the TCDecoder)
OFFICIAL_STAGES: dict[str, tuple[str, ...]] = {"3": ("dit", "lq_proj", "context"), "decoder": ("tcdecoder",)}


def _release_files(preset: str, parts: tuple[str, ...], weights_dir: str | Path | None) -> dict[str, Path]:
    """file name -> path of the release files of `parts`; MissingWeights names the absent ones."""
    from model.flashvsr.weights import OFFICIAL_FILES
    from vsrcore.weights import resolve_weights

    return resolve_weights(preset, weights_dir, tuple(OFFICIAL_FILES[p] for p in parts))


def check_official_init(init: dict[str, str], preset: str) -> None:
    """One-line error for an `--init STAGE=official` the release cannot stand for (checked before any work)."""
    for stage, value in init.items():
        if value != OFFICIAL:
            continue
        if preset not in OFFICIAL_PRESETS:
            raise UserFacingError(f"--init {stage}={OFFICIAL} needs an official preset "
                                  f"({', '.join(OFFICIAL_PRESETS)}), not '{preset}'")  # fmt: skip
        if stage not in OFFICIAL_STAGES:
            raise UserFacingError(
                f"--init {stage}={OFFICIAL}: the release can stand for stage 3 (the student) or the decoder only; "
                "stages 0-2 would need the Wan2.1 VAE encoder, which this toolkit does not implement"
            )


def official_tensors(preset: str, stage: str, model_cfg: FlashVSRConfig,
                     weights_dir: str | Path | None) -> dict[str, Tensor]:  # fmt: skip
    """The release's weights for run stage `stage` ("3" or "decoder"), keyed like a training checkpoint
    (`dit.*`, `lq_proj.*`, `context`, `tcdecoder.*`), loaded strictly."""
    from model.flashvsr.weights import load_official
    from training.dit import load_dit

    check_official_init({stage: OFFICIAL}, preset)
    parts = OFFICIAL_STAGES[stage]
    paths = _release_files(preset, parts, weights_dir)
    modules: dict[str, torch.nn.Module] = {}
    if "dit" in parts:
        modules["dit"], modules["lq_proj"] = load_dit(model_cfg)
    if "tcdecoder" in parts:
        modules["tcdecoder"] = TCDecoder.from_config(model_cfg)
    context = load_official(modules, paths, model_cfg.text_dim)
    out = {f"{name}.{k}": v for name, m in modules.items() for k, v in m.state_dict().items()}
    if context is not None:
        out["context"] = context
    return out


def export_official(run_dir: str | Path, out: str | Path, preset: str,
                    weights_dir: str | Path | None = None) -> Path:  # fmt: skip
    """Write `out/<preset>/`: the release's files with the run's fine-tuned TCDecoder (decoder stage) in place of
    `TCDecoder.ckpt`; returns that folder."""
    from model.flashvsr.weights import OFFICIAL_FILES
    from training.checkpoint import latest_checkpoint, load_checkpoint, part_state
    from vsrcore.atomic import atomic_path
    from vsrcore.weights import weight_status

    ckpt = latest_checkpoint(Path(run_dir) / "decoder")
    if ckpt is None:
        raise UserFacingError(f"{run_dir}: exporting {preset} needs a decoder-stage checkpoint (the fine-tuned part)")
    found, _ = weight_status(preset, weights_dir)
    keep = tuple(p for p in OFFICIAL_FILES if p != "tcdecoder")
    _release_files(preset, tuple(p for p in keep if p != "vae_decoder"), weights_dir)  # Full mode's VAE: optional
    folder = Path(out) / preset
    folder.mkdir(parents=True, exist_ok=True)
    for part in keep:
        name = OFFICIAL_FILES[part]
        if name in found and found[name].resolve() != (folder / name).resolve():
            (folder / name).unlink(missing_ok=True)
            try:  # the released DiT is gigabytes: link where the file system allows it
                os.link(found[name], folder / name)
            except OSError:
                shutil.copyfile(found[name], folder / name)
    state = part_state(load_checkpoint(ckpt)[0], "tcdecoder")
    with atomic_path(folder / OFFICIAL_FILES["tcdecoder"]) as tmp:
        torch.save({k: v.contiguous() for k, v in state.items()}, tmp)
    return folder
