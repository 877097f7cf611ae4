"""Building a FlashVSR upscaler from a preset and its weights: the released files (strict), a trained single-file
bundle (`flashvsr-tiny`, or `flashvsr train --stage export`), or, only when asked, seeded random weights.

A bundle is one safetensors file: `<part>.<key>` tensors for the parts (`dit`, `lq_proj`, `tcdecoder`, optionally
`vae_decoder`), the prompt `context`, and the FlashVSRConfig it was trained with in its `model_config` metadata.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from model.flashvsr.config import MODEL_PRESETS, FlashVSRConfig
from model.flashvsr.upscaler import FlashVSRModel
from vsrcore.device import default_device
from vsrcore.errors import MissingWeights, UserFacingError


TINY_WEIGHTS_FILE = "flashvsr-tiny.safetensors"
BUNDLED_DIR = Path(__file__).parent / "bundled"  # the committed flashvsr-tiny weights and their model card


def _dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    table = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16,
             "fp32": torch.float32, "float32": torch.float32}  # fmt: skip
    if dtype not in table:
        raise UserFacingError(f"unknown dtype '{dtype}' (bf16, fp16, fp32)")
    return table[dtype]


def _random_context(cfg: FlashVSRConfig, seed: int) -> Tensor:
    """A seeded random prompt context (1, 16, text_dim), for models without released weights."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(1, 16, cfg.text_dim, generator=g)


def tiny_weights(weights_dir: str | Path | None) -> Path | None:
    """The flashvsr-tiny bundle `build_flashvsr` loads: the first in the weights directories, else the bundled one."""
    from vsrcore.weights import search_dirs

    for d in search_dirs(weights_dir):
        for p in (d / "flashvsr-tiny" / TINY_WEIGHTS_FILE, d / TINY_WEIGHTS_FILE):
            if p.is_file():
                return p
    bundled = BUNDLED_DIR / TINY_WEIGHTS_FILE
    return bundled if bundled.is_file() else None


def bundle_config(path: Path) -> FlashVSRConfig:
    """The FlashVSRConfig a bundle was trained with (its `model_config` metadata; without it, the flashvsr-tiny
    preset, as for bundles exported before the metadata existed)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as e:  # noqa: BLE001 - a broken file is reported in one line
        raise UserFacingError(f"{path}: not a readable safetensors bundle ({e})") from None
    if "model_config" not in meta:
        return FlashVSRConfig.from_name(MODEL_PRESETS["flashvsr-tiny"])
    try:
        return FlashVSRConfig.from_dict(json.loads(meta["model_config"]))
    except (TypeError, ValueError) as e:
        raise UserFacingError(f"{path}: bad model_config metadata ({e})") from None


def load_bundle_part(module: nn.Module, path: Path, part: str, state: dict[str, Tensor] | None = None,
                     hint: str = "") -> None:  # fmt: skip
    """Load a bundle's `<part>.` tensors into `module` (strict); a part the bundle lacks is a one-line error."""
    from model.flashvsr.weights import load_strict, read_state_dict

    state = read_state_dict(path) if state is None else state
    sub = {k[len(part) + 1 :]: v for k, v in state.items() if k.startswith(part + ".")}
    if not sub:
        raise UserFacingError(f"{path}: the bundle has no '{part}' weights{hint}")
    load_strict(module, sub, f"{path} [{part}]")


def load_bundle(model: FlashVSRModel, path: Path) -> None:
    """Load a single-file bundle (safetensors, keys `<part>.<key>` for the model's parts, plus `context`)."""
    from model.flashvsr.weights import read_state_dict

    state = read_state_dict(path)
    hint = (f" (mode '{model.mode}'); export one that has them (`flashvsr train --stage export` without "
            "--tiny-only) or use another mode")  # fmt: skip
    for part, module in model.modules().items():
        load_bundle_part(module, path, part, state, hint)
    if model.dit is None:  # decoder-only: no prompt context
        return
    if "context" not in state:
        raise UserFacingError(f"{path}: no 'context' tensor in the bundle")
    model.set_context(state["context"])


def build_flashvsr(
    preset: str = "flashvsr-v1.1",
    *,
    scale: int = 4,
    mode: str = "tiny",
    device: str | None = None,
    dtype: str | torch.dtype | None = None,
    weights_dir: str | Path | None = None,
    allow_random_weights: bool = False,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
    **options: Any,
) -> FlashVSRModel:
    """A FlashVSR upscaler for a preset (`flashvsr-v1`, `flashvsr-v1.1`, `flashvsr-tiny`), with weights.

    Official presets load the released files strictly, only those the mode reads (MissingWeights names any absent
    file). `flashvsr-tiny` has no released weights: it loads a trained single-file bundle, the first of
    `flashvsr-tiny/flashvsr-tiny.safetensors` or `flashvsr-tiny.safetensors` in the weights directories, else the
    bundle committed in model/flashvsr/bundled/, and takes its FlashVSRConfig from the bundle's metadata. Without
    weights the build fails, unless `allow_random_weights=True`, which initialises randomly (seeded), uses a seeded
    random prompt context and marks the model `random_weights`. `options`: the other FlashVSRModel arguments
    (sparse_ratio, kv_ratio, local_range, backend, tile, tile_overlap, color_fix, compat, max_memory, context).
    dtype: None/"auto" = bf16 on CUDA, fp32 on CPU; "bf16" on CPU (tiny mode) runs the TCDecoder's convolutions in
    bfloat16 and the rest in fp32.
    """
    if preset not in MODEL_PRESETS:
        raise UserFacingError(f"unknown FlashVSR preset '{preset}' ({', '.join(MODEL_PRESETS)})")
    tiny_path = tiny_weights(weights_dir) if preset == "flashvsr-tiny" else None
    if tiny_path is not None:
        cfg = replace(bundle_config(tiny_path), **dict(overrides or {}))
    else:
        cfg = FlashVSRConfig.from_name(MODEL_PRESETS[preset], **dict(overrides or {}))
    dev = torch.device(default_device(device))
    dt = _dtype(dtype, dev)
    # bf16 on CPU: only the TCDecoder's convolutions (cpu_decoder, 2-3x faster on avx512_bf16); the DiT stays fp32,
    # where bf16 measured no faster (docs/model.md)
    cpu_bf16 = dev.type == "cpu" and dt == torch.bfloat16 and mode == "tiny"
    dt = torch.float32 if cpu_bf16 else dt
    # Built on the target device (fast init of the official sizes); parameters drawn from an isolated, seeded RNG.
    with torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else []), torch.device(dev):
        torch.manual_seed(seed)
        model = FlashVSRModel(cfg, scale=scale, mode=mode, device=dev, dtype=dt, seed=seed, name=preset, **options)
    if cpu_bf16:
        model.decoder.cpu_dtype = torch.bfloat16
    missing = _load_weights(model, preset, weights_dir, tiny_path)
    if missing is None:
        return model.to_device()
    if not allow_random_weights:
        raise missing
    warnings.warn(
        f"{preset}: {missing}; using RANDOM weights (--allow-random-weights): output is not SR", stacklevel=2
    )
    model.random_weights = True
    if model.dit is not None:
        model.set_context(_random_context(cfg, seed))
    return model.to_device()


def _load_weights(
    model: FlashVSRModel, preset: str, weights_dir: str | Path | None, tiny_path: Path | None
) -> MissingWeights | None:
    """Load the preset's weights (and prompt context) into `model`; what is missing when they are not there."""
    if preset == "flashvsr-tiny":
        if tiny_path is not None:
            load_bundle(model, tiny_path)
            return None
        return MissingWeights(
            preset,
            [f"flashvsr-tiny/{TINY_WEIGHTS_FILE}"],
            [str(d) for d in _search(weights_dir)],
            "nowhere yet (no trained flashvsr-tiny weights exist; train them with `flashvsr train`, or pass "
            "--allow-random-weights for a smoke test)",
        )
    from model.flashvsr.weights import MODE_PARTS, load_official, mode_files
    from vsrcore.weights import resolve_weights

    try:  # only the files this mode uses (tiny modes never read the Wan VAE)
        paths = resolve_weights(preset, weights_dir, files=mode_files(model.mode))
    except MissingWeights as e:
        return e
    parts = {p: m for p, m in model.modules().items() if p in MODE_PARTS[model.mode]}
    ctx = load_official(parts, paths, model.cfg.text_dim)
    assert ctx is not None
    model.set_context(ctx)
    return None


def _search(weights_dir: str | Path | None) -> list[Path]:
    from vsrcore.weights import search_dirs

    return search_dirs(weights_dir)
