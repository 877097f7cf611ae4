"""Fixtures for the training tests: a tiny folder of real media (an FFV1 clip and two PNG photos)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsrcore import testing


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with `clip.mkv` (24 frames, 64x80, moving texture) and `a.png`, `b.png` (64x64)."""
    from PIL import Image

    from vsrcore.video.write import write_video

    root = tmp_path_factory.mktemp("media")
    write_video(root / "clip.mkv", testing.moving_texture(24, 64, 80, dx=2), fps=25, codec="ffv1")
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        img = (rng.random((8, 8, 3)) * 255).astype(np.uint8)
        Image.fromarray(img).resize((64, 64), Image.BICUBIC).save(root / f"{name}.png")
    return root
