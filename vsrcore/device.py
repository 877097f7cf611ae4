"""The one rule for picking a compute device when none is requested: the GPU when torch sees one, else the CPU."""

from __future__ import annotations


def default_device(requested: str | None = None, *, index: int | None = None) -> str:
    """`requested` when given; otherwise 'cuda' (or 'cuda:<index>') when torch sees a GPU, else 'cpu'."""
    if requested:
        return requested
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    return "cuda" if index is None else f"cuda:{index}"
