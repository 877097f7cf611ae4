"""Presets, streaming upscalers (FlashVSR tiny with random weights, baselines), padding/cropping, the CLI."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from model import MODELS
from model.flashvsr.pipeline import FlashVSRModel, build_flashvsr, pad_to_multiple
from vsrcore.errors import MissingWeights, UserFacingError


def _tiny(**kw: object) -> FlashVSRModel:
    """flashvsr-tiny with seeded random weights (the bundled file hidden), for structural tests."""
    from unittest import mock

    with warnings.catch_warnings(), mock.patch("model.flashvsr.build.BUNDLED_DIR", Path("/nonexistent")):
        warnings.simplefilter("ignore")
        return build_flashvsr("flashvsr-tiny", device="cpu", allow_random_weights=True, **kw)  # type: ignore[arg-type]


def test_registry_lists_presets_without_torch() -> None:
    code = "import sys, model\nprint(model.MODELS.names())\nassert 'torch' not in sys.modules"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for name in ("flashvsr-v1", "flashvsr-v1.1", "flashvsr-tiny", "bicubic", "lanczos"):
        assert name in r.stdout


def test_missing_weights_are_refused_unless_random_is_allowed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("FLASHVSR_WEIGHTS", raising=False)
    monkeypatch.setattr("model.flashvsr.build.BUNDLED_DIR", tmp_path / "no-bundle")
    with pytest.raises(MissingWeights, match="flashvsr-tiny.safetensors"):
        build_flashvsr("flashvsr-tiny", device="cpu", weights_dir=tmp_path)
    with pytest.raises(MissingWeights, match=r"flashvsr-v1.1/diffusion_pytorch_model_streaming_dmd.safetensors"):
        MODELS.build("flashvsr-v1.1", device="cpu", weights_dir=tmp_path)
    assert _tiny().random_weights


def test_bundled_tiny_weights_load_without_a_weights_dir(tmp_path: Path, monkeypatch) -> None:
    import hashlib

    from model.flashvsr.pipeline import BUNDLED_DIR

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("FLASHVSR_WEIGHTS", raising=False)
    bundle = BUNDLED_DIR / "flashvsr-tiny.safetensors"
    card = (BUNDLED_DIR / "MODEL_CARD.md").read_text()
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() in card  # the card names the file it describes
    m = build_flashvsr("flashvsr-tiny", device="cpu")
    assert not m.random_weights and m.cfg.tc_residual
    x = torch.rand(3, 3, 16, 24, generator=torch.Generator().manual_seed(0))
    y = m.upscale(x)
    assert y.shape == (3, 3, 64, 96) and torch.isfinite(y).all()
    with pytest.raises(UserFacingError, match="vae_decoder"):  # the bundle is tiny-mode only
        build_flashvsr("flashvsr-tiny", device="cpu", mode="full")


def test_bundle_with_bad_model_config_is_one_line(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    d = tmp_path / "flashvsr-tiny"
    d.mkdir()
    save_file({"context": torch.zeros(1, 16, 32)}, str(d / "flashvsr-tiny.safetensors"),
              metadata={"model_config": '{"no_such_field": 1}'})  # fmt: skip
    with pytest.raises(UserFacingError, match="bad model_config") as e:
        build_flashvsr("flashvsr-tiny", weights_dir=tmp_path, device="cpu")
    assert "\n" not in str(e.value) and "flashvsr-tiny.safetensors" in str(e.value)


@pytest.mark.parametrize("name", ["bicubic", "lanczos"])
def test_baselines_stream_equals_whole(name: str) -> None:
    m = MODELS.build(name, scale=2)
    x = torch.rand(7, 3, 9, 13, generator=torch.Generator().manual_seed(0))
    whole = m.upscale(x)
    streamed = torch.cat(list(m.stream([x[:2], x[2:3], x[3:]])))
    assert whole.shape == (7, 3, 18, 26)
    torch.testing.assert_close(streamed, whole, rtol=0, atol=0)


def test_lanczos_keeps_constants_and_interpolates_smoothly() -> None:
    m = MODELS.build("lanczos", scale=4)
    flat = torch.full((1, 3, 6, 7), 0.4)
    torch.testing.assert_close(m.upscale(flat), torch.full((1, 3, 24, 28), 0.4), rtol=0, atol=1e-6)
    ramp = torch.linspace(0, 1, 16).expand(1, 3, 8, 16).contiguous()
    up = m.upscale(ramp)[0, 0, 10]
    assert (up[8:-8].diff() > 0).all()  # monotone away from the clamped edges


@pytest.mark.parametrize("mode", ["tiny", "full"])
def test_flashvsr_tiny_streaming_equals_whole_clip(mode: str) -> None:
    """Chunking of the input (any sizes) does not change a single output value."""
    m = _tiny(scale=2, mode=mode)
    x = torch.rand(30, 3, 13, 11, generator=torch.Generator().manual_seed(1))
    whole = m.upscale(x)
    streamed = torch.cat(list(m.stream([x[:3], x[3:10], x[10:11], x[11:]])))
    assert whole.shape == (30, 3, 26, 22) and torch.isfinite(whole).all()
    assert 0 <= whole.min() and whole.max() <= 1
    torch.testing.assert_close(streamed, whole, rtol=0, atol=1e-6)


@pytest.mark.parametrize("frames", [1, 5, 21, 22, 30])
def test_frame_count_and_size_exact_for_odd_sizes_and_short_clips(frames: int) -> None:
    m = _tiny(scale=4)
    out = m.upscale(torch.rand(frames, 3, 7, 9))
    assert out.shape == (frames, 3, 28, 36)


def test_padding_round_trip() -> None:
    x = torch.rand(2, 3, 130, 100)
    p = pad_to_multiple(x, 128)
    assert p.shape[-2:] == (256, 128)
    torch.testing.assert_close(p[..., :130, :100], x, rtol=0, atol=0)  # crop back = the original
    torch.testing.assert_close(p[..., 130, :100], x[..., 128, :])  # reflect where the frame is large enough
    small = torch.rand(1, 3, 7, 9)
    q = pad_to_multiple(small, 128)  # too small to reflect: replicate
    assert (
        q.shape[-2:] == (128, 128)
        and torch.equal(q[..., :7, :9], small)
        and torch.equal(q[..., 127, 127], small[..., 6, 8])
    )


def test_long_input_holds_a_bounded_window() -> None:
    """100 frames through the tiny model: the LR buffer and KV cache stay bounded (flat memory)."""
    m = _tiny(scale=2, kv_ratio=2.0)
    sizes = []
    m.reset()
    g = torch.Generator().manual_seed(3)
    total = 0
    for _ in range(25):
        total += sum(o.shape[0] for o in m.push(torch.rand(4, 3, 8, 8, generator=g)))
        sizes.append(m.buffered_frames())
    total += sum(o.shape[0] for o in m.flush())
    assert total == 100 and max(sizes) <= 25 + 4
    assert max(s.cache.num_chunks(2 * 64) for s in m._states if s.cache) <= 2


def test_tiled_equals_untiled_when_one_tile_covers_the_frame() -> None:
    x = torch.rand(9, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    a = _tiny(scale=4).upscale(x)
    b = _tiny(scale=4, tile=512).upscale(x)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    c = _tiny(scale=4, tile=128, tile_overlap=128).upscale(torch.rand(9, 3, 40, 70))
    assert c.shape == (9, 3, 160, 280)


# ------------------------------------------------------------------------------------------------------------
# CLI on a small synthetic video with audio
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clip_with_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vsrcore import testing

    frames = (np.random.default_rng(0).random((27, 22, 30, 3)) * 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("clip") / "in.mp4"
    return testing.write_clip_with_audio(path, frames, 24, testing.sine_audio(27 / 24))


def _audio_samples(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(f.samples for f in c.decode(audio=0))


@pytest.mark.parametrize(
    ("model", "extra", "out_name"),
    [("bicubic", ["--lossless"], "b.mkv"), ("flashvsr-tiny", ["--allow-random-weights"], "t.mp4")],
)
def test_cli_upscale_keeps_frames_size_and_audio(
    clip_with_audio: Path, tmp_path: Path, model: str, extra: list[str], out_name: str
) -> None:
    from vsrcore.cli import main
    from vsrcore.video.probe import probe

    out = tmp_path / out_name
    rc = main(["upscale", str(clip_with_audio), "-o", str(out), "--model", model, "--scale", "2", "--quiet",
               "--device", "cpu", *extra])  # fmt: skip
    assert rc == 0
    meta, src = probe(out), probe(clip_with_audio)
    assert (meta.width, meta.height) == (60, 44)
    from vsrcore.video.decode import read_frames

    assert len(read_frames(out)) == 27
    assert meta.audio and _audio_samples(out) == _audio_samples(clip_with_audio)
    assert src.fps == meta.fps


def test_cli_bad_input_and_missing_weights_are_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    from vsrcore.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("FLASHVSR_WEIGHTS", raising=False)
    monkeypatch.setattr("model.flashvsr.build.BUNDLED_DIR", tmp_path / "no-bundle")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    assert main(["upscale", str(bad), "-o", str(tmp_path / "o.mp4"), "--model", "bicubic"]) == 2
    err = capsys.readouterr().err
    assert "broken.mp4" in err and len(err.strip().splitlines()) == 1
    assert main(["upscale", str(bad), "-o", str(tmp_path / "o.mp4"), "--model", "flashvsr-tiny"]) == 2
    assert "flashvsr-tiny.safetensors" in capsys.readouterr().err
