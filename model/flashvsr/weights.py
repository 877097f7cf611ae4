"""Loading the released FlashVSR v1 / v1.1 weights: safely, strictly, converting nothing.

Files (found by `vsrcore.weights.resolve_weights` under `<weights dir>/flashvsr-v1[.1]/`):

| part          | file                                              | read with                      | module         |
|---------------|---------------------------------------------------|--------------------------------|----------------|
| `dit`         | diffusion_pytorch_model_streaming_dmd.safetensors | safetensors                    | WanDiT         |
| `lq_proj`     | LQ_proj_in.ckpt                                   | torch.load(weights_only=True)  | LQProjection   |
| `tcdecoder`   | TCDecoder.ckpt                                    | torch.load(weights_only=True)  | TCDecoder      |
| `vae_decoder` | Wan2.1_VAE.pth                                    | torch.load(weights_only=True)  | WanVAEDecoder  |
| `context`     | posi_prompt.pth                                   | torch.load(weights_only=True)  | prompt tensor  |

Every module file must hold exactly our module's keys with our shapes; the one declared exception is the VAE file,
whose encoder side (`encoder.*`, `conv1.*`) is skipped because Full mode only decodes (the official pipeline also
drops it). Anything else (a missing, unexpected or mis-shaped key) raises `StateDictMismatch` listing the keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from vsrcore.errors import UserFacingError


OFFICIAL_FILES: dict[str, str] = {
    "dit": "diffusion_pytorch_model_streaming_dmd.safetensors",
    "lq_proj": "LQ_proj_in.ckpt",
    "tcdecoder": "TCDecoder.ckpt",
    "vae_decoder": "Wan2.1_VAE.pth",
    "context": "posi_prompt.pth",
}
# Keys of a file that are knowingly not loaded (prefixes), per part.
SKIPPED_PREFIXES: dict[str, tuple[str, ...]] = {"vae_decoder": ("encoder.", "conv1.")}
# Parts each inference mode needs.
MODE_PARTS: dict[str, tuple[str, ...]] = {
    "tiny": ("dit", "lq_proj", "tcdecoder", "context"),
    "tiny-long": ("dit", "lq_proj", "tcdecoder", "context"),
    "full": ("dit", "lq_proj", "vae_decoder", "context"),
}


def mode_files(mode: str) -> tuple[str, ...]:
    """The released files an inference mode reads (tiny modes never read the Wan VAE)."""
    return tuple(OFFICIAL_FILES[p] for p in MODE_PARTS[mode])


class WeightsError(UserFacingError):
    """A weights file that cannot be read safely (corrupt, pickled objects, wrong container)."""


class StateDictMismatch(UserFacingError):
    """A state dict whose keys or shapes differ from the module's; the message lists them."""

    def __init__(self, file: str, missing: list[str], unexpected: list[str], shapes: dict[str, tuple]) -> None:
        self.file, self.missing, self.unexpected, self.shapes = file, missing, unexpected, shapes
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {_short_list(missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {_short_list(unexpected)}")
        if shapes:
            shown = [f"{k} file {list(a)} vs model {list(b)}" for k, (a, b) in list(shapes.items())[:10]]
            parts.append(f"shape mismatches ({len(shapes)}): {'; '.join(shown)}")
        super().__init__(f"{file}: does not match the model: " + "; ".join(parts))


def _short_list(keys: list[str], limit: int = 12) -> str:
    more = f", ... (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def read_tensors(path: str | Path) -> Any:
    """Read a weights file without unpickling arbitrary objects: safetensors -> dict of tensors; .ckpt/.pth/.pt ->
    `torch.load(weights_only=True)` on the CPU (tensors and plain containers only)."""
    p = Path(path)
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(p), device="cpu")
        return torch.load(p, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"{p}: file not found") from None
    except Exception as e:  # safetensors / unpickler errors have many types
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise WeightsError(f"{p}: cannot be read as weights ({type(e).__name__}: {msg[:200]})") from None


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """A flat {key: tensor} from a weights file; a non-mapping or non-tensor value is an error."""
    obj = read_tensors(path)
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path}: expected a state dict, found {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not isinstance(v, Tensor)]
    if bad:
        raise WeightsError(f"{path}: entries that are not tensors: {_short_list([str(b) for b in bad])}")
    return dict(obj)


def check_state_dict(
    expected: Mapping[str, Any], state: Mapping[str, Any], file: str, skip_prefixes: tuple[str, ...] = ()
) -> None:
    """Raise StateDictMismatch unless `state` has exactly `expected`'s keys and shapes (values with `.shape` or
    shape lists), ignoring keys of `state` that start with `skip_prefixes`."""
    got = {k: tuple(getattr(v, "shape", v)) for k, v in state.items() if not k.startswith(skip_prefixes)}
    want = {k: tuple(getattr(v, "shape", v)) for k, v in expected.items()}
    missing = sorted(set(want) - set(got))
    unexpected = sorted(set(got) - set(want))
    shapes = {k: (got[k], want[k]) for k in sorted(set(got) & set(want)) if got[k] != want[k]}
    if missing or unexpected or shapes:
        raise StateDictMismatch(file, missing, unexpected, shapes)


def load_strict(
    module: nn.Module, state: Mapping[str, Tensor], file: str, skip_prefixes: tuple[str, ...] = ()
) -> None:
    """Check keys/shapes against `module` (StateDictMismatch), then copy the tensors in (module dtype kept)."""
    check_state_dict(module.state_dict(), state, file, skip_prefixes)
    module.load_state_dict({k: v for k, v in state.items() if not k.startswith(skip_prefixes)}, strict=True)


def read_context(path: str | Path, text_dim: int) -> Tensor:
    """The fixed prompt context (1, S, text_dim) (released: umT5 embedding of the fixed prompt, (1, 512, 4096))."""
    obj = read_tensors(path)
    if isinstance(obj, Mapping) and len(obj) == 1:
        obj = next(iter(obj.values()))
    if not isinstance(obj, Tensor) or obj.shape[-1] != text_dim:
        shape = tuple(obj.shape) if isinstance(obj, Tensor) else type(obj).__name__
        raise WeightsError(f"{path}: expected a prompt context tensor (..., {text_dim}), found {shape}")
    return obj.reshape(1, -1, text_dim)


def load_official(modules: Mapping[str, nn.Module], paths: Mapping[str, Path], text_dim: int) -> Tensor | None:
    """Load each part in `modules` (keys of OFFICIAL_FILES) from `paths` (file name -> path) strictly; returns the
    prompt context when `paths` has posi_prompt.pth."""
    for part, module in modules.items():
        file = OFFICIAL_FILES[part]
        load_strict(module, read_state_dict(paths[file]), str(paths[file]), SKIPPED_PREFIXES.get(part, ()))
    ctx_file = OFFICIAL_FILES["context"]
    return read_context(paths[ctx_file], text_dim) if ctx_file in paths else None
