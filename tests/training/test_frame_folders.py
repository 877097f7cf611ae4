"""Clips stored as `<name>.frames/` folders of images: listed and decoded without PyAV (the GPU machine's pack)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from training.data import SampleSpec, VSRTrainDataset, list_media
from vsrcore import testing
from vsrcore.video.write import write_image_sequence


def test_frame_folder_is_one_clip_read_without_pyav(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    frames = testing.moving_texture(7, 40, 48, dx=2)  # uint8 (T, H, W, C)
    write_image_sequence(tmp_path / "walk.frames", frames)
    Image.fromarray(frames[0]).save(tmp_path / "photo.png")
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now fails: the GPU machine has no PyAV
    items = list_media(tmp_path, split=None)
    assert [(it.id, it.kind, it.frames) for it in items] == [("walk", "clip", 7), ("photo", "image", 1)]
    spec = SampleSpec(clip_frames=5, crop=32, flip=False)
    ds = VSRTrainDataset(items, spec=spec, videos=1, images=1, seed=3)
    clip, photo = ds[0], ds[1]
    start, (top, left, _) = clip["params"]["start"], clip["params"]["crop"]
    want = frames[start : start + 5, top : top + 32, left : left + 32]
    assert np.array_equal(clip["frames"].permute(0, 2, 3, 1).numpy(), want)  # PNG frames: exact
    assert photo["kind"] == "image" and photo["frames"].shape == (1, 3, 32, 32)
    # a start near the end repeats the last frame, as for video files
    from training.data import _decode_clip

    tail = _decode_clip(str(tmp_path / "walk.frames"), 5, 4, "walk")
    assert np.array_equal(tail, np.stack([frames[5], frames[6], frames[6], frames[6]]))
