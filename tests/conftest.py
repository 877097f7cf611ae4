"""Shared fixtures: synthetic clips with known content, written with the real codecs."""

from __future__ import annotations

import os


# Model-hub loads must fail fast instead of retrying for ~47 s (see docs/environment notes).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vsrcore import testing  # noqa: E402


@pytest.fixture
def device() -> str:
    """Test device from $VSR_TEST_DEVICE (default cpu)."""
    return os.environ.get("VSR_TEST_DEVICE", "cpu")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def tiny_video() -> np.ndarray:
    """uint8 (16, 48, 64, 3): a texture moving 2 px/frame to the right."""
    return testing.moving_texture(16, 48, 64, dx=2)


@pytest.fixture
def tiny_video_file(tmp_path: Path, tiny_video: np.ndarray) -> Path:
    """`tiny_video` in a lossless FFV1 .mkv at 25 fps (decodes to exactly `tiny_video`)."""
    from vsrcore.video.write import write_video

    return write_video(tmp_path / "tiny.mkv", tiny_video, fps=25, codec="ffv1")


@pytest.fixture
def hard_cut_file(tmp_path: Path) -> tuple[Path, list[int]]:
    """An H.264 .mp4 with three shots of 12 frames (cuts at 12 and 24), keyframe every 8 frames."""
    import av

    frames, cuts = testing.hard_cut_clip((12, 12, 12))
    path = tmp_path / "cuts.mp4"
    with av.open(str(path), mode="w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.options = {"g": "8", "keyint_min": "8", "sc_threshold": "0", "crf": "18", "bf": "2"}
        for f in frames:
            for pk in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(pk)
        for pk in s.encode():
            out.mux(pk)
    return path, cuts
