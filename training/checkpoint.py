"""Checkpoints: one safetensors file (module weights, optimiser state, prompt context) plus JSON metadata, both
written atomically (temp file + rename), then a `latest.json` pointer, so a killed job never leaves a torn file.

Layout of a stage directory: `ckpt-0001000.safetensors`, `ckpt-0001000.json`, `latest.json`. Tensor keys:
`<part>.<param>` for each trainable part, `context` (1, S, text_dim), `optim.<param index>.<state key>`.
No pickle anywhere: optimiser hyper-parameters (param_groups) go to the JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from vsrcore.atomic import atomic_path, write_json_atomic


def state_tensors(parts: dict[str, nn.Module], optimizer: torch.optim.Optimizer | None = None,
                  context: Tensor | None = None) -> tuple[dict[str, Tensor], list[dict[str, Any]]]:  # fmt: skip
    """Flatten module weights, optimiser state and context into safetensors-ready tensors (+ param_groups)."""
    out: dict[str, Tensor] = {}
    for name, module in parts.items():
        for k, v in module.state_dict().items():
            out[f"{name}.{k}"] = v.detach().cpu().contiguous().clone()
    if context is not None:
        out["context"] = context.detach().cpu().contiguous().clone()
    groups: list[dict[str, Any]] = []
    if optimizer is not None:
        sd = optimizer.state_dict()
        for idx, st in sd["state"].items():
            for key, val in st.items():
                t = val if isinstance(val, Tensor) else torch.tensor(val)
                out[f"optim.{idx}.{key}"] = t.detach().cpu().contiguous().clone()
        groups = sd["param_groups"]
    return out, groups


def save_checkpoint(
    folder: str | Path,
    step: int,
    parts: dict[str, nn.Module],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    context: Tensor | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write `folder/ckpt-<step>.safetensors` + `.json` atomically and point `latest.json` at it."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors, groups = state_tensors(parts, optimizer, context)
    path = folder / f"ckpt-{step:07d}.safetensors"
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"step": str(step), "format": "flashvsr-training-v1"})
    info = {"step": step, "parts": sorted(parts), "param_groups": groups, **(meta or {})}
    write_json_atomic(path.with_suffix(".json"), info)
    write_json_atomic(folder / "latest.json", {"step": step, "checkpoint": path.name})
    return path


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The checkpoint `latest.json` points at, or None."""
    pointer = Path(folder) / "latest.json"
    if not pointer.exists():
        return None
    return Path(folder) / json.loads(pointer.read_text())["checkpoint"]


def load_checkpoint(path: str | Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """(tensors, metadata) of a checkpoint (safe loading: safetensors + JSON)."""
    from safetensors.torch import load_file

    path = Path(path)
    return load_file(str(path)), json.loads(path.with_suffix(".json").read_text())


def part_state(tensors: dict[str, Tensor], part: str) -> dict[str, Tensor]:
    """The `<part>.` tensors of a checkpoint, prefix removed."""
    p = part + "."
    return {k[len(p) :]: v for k, v in tensors.items() if k.startswith(p)}


def restore(parts: dict[str, nn.Module], tensors: dict[str, Tensor], meta: dict[str, Any],
            optimizer: torch.optim.Optimizer | None = None) -> None:  # fmt: skip
    """Load weights (strict) into `parts` and, if given, the optimiser state."""
    for name, module in parts.items():
        module.load_state_dict(part_state(tensors, name), strict=True)
    if optimizer is not None:
        state: dict[int, dict[str, Tensor]] = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, idx, key = k.split(".", 2)
                state.setdefault(int(idx), {})[key] = v
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
