"""Known pretrained weights: which files, where they come from, what uses them; how they are found and loaded.

Weights are searched in `--weights-dir`, then `$FLASHVSR_WEIGHTS`, then `~/.cache/flashvsr/weights`, each
both flat and in a sub-folder named after the weights (`<dir>/<name>/<file>`). Nothing is downloaded
implicitly; a missing file raises MissingWeights naming it and its source.

Loading: our own code reads weights with safetensors or `torch.load(weights_only=True)` only. A third-party
library that loads files itself (pyiqa, torchvision, lpips, CLIP) runs inside `third_party_load(files)`: each file
is first checked against `vsrcore.pinned_weights`, and unless every file matched a full pinned sha256, every
`torch.load` inside is forced to `weights_only=True` (torch's TORCH_FORCE_WEIGHTS_ONLY_LOAD), so an unpinned file
can only yield tensors: a crafted pickle is refused with one line and never runs.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vsrcore.errors import MissingWeights, UserFacingError
from vsrcore.pinned_weights import check_pinned


@dataclass(frozen=True)
class WeightSpec:
    """A set of files that together make one usable set of weights."""

    name: str
    files: tuple[str, ...]
    source: str
    used_by: str
    subdir_only: bool = False  # True when file names clash with another spec (FlashVSR v1 vs v1.1)


_FLASHVSR_FILES = (
    "diffusion_pytorch_model_streaming_dmd.safetensors",
    "LQ_proj_in.ckpt",
    "TCDecoder.ckpt",
    "Wan2.1_VAE.pth",
    "posi_prompt.pth",
)

WEIGHTS: dict[str, WeightSpec] = {
    w.name: w
    for w in (
        WeightSpec(
            "flashvsr-v1",
            _FLASHVSR_FILES,
            "https://huggingface.co/JunhaoZhuang/FlashVSR",
            "model: flashvsr-v1",
            subdir_only=True,
        ),
        WeightSpec(
            "flashvsr-v1.1",
            _FLASHVSR_FILES,
            "https://huggingface.co/JunhaoZhuang/FlashVSR-v1.1",
            "model: flashvsr-v1.1",
            subdir_only=True,
        ),
        WeightSpec(
            "lpips-alex",
            ("alexnet-owt-7be5be79.pth",),
            "https://download.pytorch.org/models/",
            "metric: lpips (AlexNet backbone; linear heads ship with the lpips package)",
        ),
        WeightSpec(
            "lpips-vgg",
            ("vgg16-397923af.pth",),
            "https://download.pytorch.org/models/",
            "metric: lpips_vgg, dists (VGG16 backbone)",
        ),
        WeightSpec(
            "dists",
            ("DISTS_weights-f5e65c96.pth", "vgg16-397923af.pth"),
            "https://huggingface.co/chaofengc/IQA-PyTorch-Weights",
            "metric: dists",
        ),
        WeightSpec(
            "musiq-koniq",
            ("musiq_koniq_ckpt-e95806b9.pth",),
            "https://huggingface.co/chaofengc/IQA-PyTorch-Weights",
            "metric: musiq; curation: musiq score",
        ),
        WeightSpec(
            "clipiqa",
            ("RN50.pt",),
            "https://openaipublic.azureedge.net/clip/models/ (OpenAI CLIP RN50)",
            "metric: clipiqa",
        ),
        WeightSpec(
            "brisque",
            ("brisque_svm_weights.pth",),
            "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/brisque_svm_weights.pth "
            "(pyiqa; the LIVE SVM of the BRISQUE authors' release, via piq)",
            "metric: brisque",
        ),
        WeightSpec(
            "dover",
            ("DOVER.pth",),
            "https://github.com/VQAssessment/DOVER/releases/download/v0.1.0/DOVER.pth (or HF teowu/DOVER)",
            "metric: dover",
        ),
        WeightSpec(
            "laion-aesthetic",
            ("open_clip_vit_l_14_openai.bin", "sa_0_4_vit_l_14_linear.pth"),
            "open-clip ViT-L-14 'openai' + https://github.com/LAION-AI/aesthetic-predictor",
            "curation: aesthetic score",
        ),
        WeightSpec(
            "raft-large",
            ("raft_large_C_T_SKHT_V2-ff5fadd5.pth",),
            "https://download.pytorch.org/models/",
            "curation: motion score; metric: ewarp (RAFT)",
        ),
    )
}


def search_dirs(weights_dir: str | Path | None = None) -> list[Path]:
    """Folders searched for weights, in order."""
    dirs = [Path(weights_dir)] if weights_dir else []
    if os.environ.get("FLASHVSR_WEIGHTS"):
        dirs.append(Path(os.environ["FLASHVSR_WEIGHTS"]))
    dirs.append(Path.home() / ".cache" / "flashvsr" / "weights")
    return dirs


def _locate(spec: WeightSpec, file: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        candidates = [d / spec.name / file] + ([] if spec.subdir_only else [d / file])
        for c in candidates:
            if c.is_file():
                return c
    return None


def weight_status(name: str, weights_dir: str | Path | None = None) -> tuple[dict[str, Path], list[str]]:
    """(found files -> paths, missing file names) for the weights called `name`."""
    spec = WEIGHTS[name]
    dirs = search_dirs(weights_dir)
    found, missing = {}, []
    for f in spec.files:
        p = _locate(spec, f, dirs)
        if p is None:
            missing.append(f)
        else:
            found[f] = p
    return found, missing


def resolve_weights(
    name: str, weights_dir: str | Path | None = None, files: tuple[str, ...] | None = None
) -> dict[str, Path]:
    """Paths of every file of `name` (or only of `files`), or MissingWeights listing the absent ones and where they
    come from."""
    found, missing = weight_status(name, weights_dir)
    if files is not None:
        found = {f: p for f, p in found.items() if f in files}
        missing = [m for m in missing if m in files]
    if missing:
        spec = WEIGHTS[name]
        shown = [f"{spec.name}/{m}" if spec.subdir_only else m for m in missing]
        raise MissingWeights(name, shown, [str(d) for d in search_dirs(weights_dir)], spec.source)
    return found


class WeightsRefused(UserFacingError):
    """A weights file that holds pickled objects other than tensors and has no matching full pin."""


_FORCE = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"
_FORCE_NOT = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"


@contextlib.contextmanager
def _weights_only_torch_loads() -> Iterator[None]:
    """Every `torch.load` in this block behaves as `weights_only=True`, whatever its caller passed."""
    saved = {k: os.environ.get(k) for k in (_FORCE, _FORCE_NOT)}
    os.environ[_FORCE] = "1"
    os.environ.pop(_FORCE_NOT, None)  # torch refuses to run with both set
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _unpickler_reason(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    detail = next((ln for ln in lines if "WeightsUnpickler error" in ln or "Unsupported global" in ln), "")
    detail = detail or (lines[0] if lines else type(e).__name__)
    return detail.removeprefix("WeightsUnpickler error:").strip().split(". ")[0][:200]


@contextlib.contextmanager
def third_party_load(files: Iterable[str | Path]) -> Iterator[dict[Path, str]]:
    """Guard a third-party loader that reads `files` itself (see module doc). Yields {file: pin level}.

    Raises WeightsHashMismatch before the block runs when a file differs from its pin, and WeightsRefused (one
    line naming the files) when a file that is not fully pinned holds anything but tensors.
    """
    levels = {Path(f): check_pinned(f) for f in files}
    if levels and all(level == "full" for level in levels.values()):
        yield levels  # each file is byte-for-byte the published one: its own loader may read it
        return
    with _weights_only_torch_loads():
        try:
            yield levels
        except pickle.UnpicklingError as e:
            names = ", ".join(str(p) for p in levels) or "a weights file"
            raise WeightsRefused(
                f"{names}: refused: holds pickled objects other than tensors ({_unpickler_reason(e)}); "
                "only plain tensor files load unless their full sha256 is pinned (vsrcore/pinned_weights.py)"
            ) from None


def load_tensors(path: str | Path) -> object:
    """Read a weights file without unpickling arbitrary objects: safetensors -> dict of tensors; anything else ->
    `torch.load(weights_only=True)` on the CPU. A file with a pin must match it first."""
    check_pinned(path)
    p = Path(path)
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(p), device="cpu")
        import torch

        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        reason = _unpickler_reason(e)
        raise WeightsRefused(f"{p}: refused: holds pickled objects other than tensors ({reason})") from None
