from __future__ import annotations

import numpy as np
import torch

from vsrcore.rng import derive_seed, for_item, torch_generator


def test_same_seed_and_id_give_same_draws() -> None:
    np.testing.assert_array_equal(for_item(0, "clip-a").random(5), for_item(0, "clip-a").random(5))
    a = torch.rand(4, generator=torch_generator(7, "x"))
    b = torch.rand(4, generator=torch_generator(7, "x"))
    assert torch.equal(a, b)


def test_ids_seeds_and_streams_are_independent() -> None:
    draws = {
        tuple(for_item(s, i, stream=st).integers(0, 2**31, 4))
        for s in (0, 1)
        for i in ("a", "b")
        for st in ("", "noise")
    }
    assert len(draws) == 8


def test_seed_is_stable_across_runs() -> None:
    # sha256-based: a fixed value, unlike Python's salted hash().
    assert derive_seed(0, "clip-a") == 0x1B1D08BD93A365BF  # golden: changing it changes every recorded degradation
