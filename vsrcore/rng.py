"""Seeded randomness: every draw comes from a generator derived from (global seed, item id).

No global RNG state is used anywhere; the same (seed, item id) gives the same stream on any machine,
whatever the order or process in which items are handled.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np


def derive_seed(seed: int, item_id: str, *, stream: str = "") -> int:
    """A 63-bit seed from (seed, item id, optional stream name), stable across Python versions and runs."""
    digest = hashlib.sha256(f"{int(seed)}\x1f{item_id}\x1f{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def for_item(seed: int, item_id: str, *, stream: str = "") -> np.random.Generator:
    """numpy Generator (PCG64) for one item; use distinct `stream` names for independent draws."""
    return np.random.default_rng(derive_seed(seed, item_id, stream=stream))


def torch_generator(seed: int, item_id: str, *, stream: str = "", device: str = "cpu") -> Any:
    """torch.Generator seeded from (seed, item id, stream) on `device`."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, item_id, stream=stream))
    return g
