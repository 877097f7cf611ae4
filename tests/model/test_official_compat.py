"""`--compat official` (the release script's rules), tiny mode without the Wan VAE file, the uint8 rounding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.official import largest_8n1, official_geometry, official_output_frames
from model.flashvsr.pipeline import build_flashvsr
from model.flashvsr.weights import OFFICIAL_FILES
from vsrcore.errors import MissingWeights, UserFacingError
from vsrcore.tensors import float_to_uint8
from vsrcore.testing import moving_texture


@pytest.mark.parametrize(("n", "out"), [(21, 21), (28, 21), (29, 29), (45, 45), (81, 77), (100, 93), (145, 141)])
def test_release_frame_rule(n: int, out: int) -> None:
    # 100 -> 93, 145 -> 141, 81 -> 77: what users of the release report (reference/flashvsr.md §2.3)
    assert official_output_frames(n) == out and largest_8n1(n + 4) - 4 == out


def test_release_rule_refuses_short_clips_and_tiny_frames() -> None:
    with pytest.raises(UserFacingError, match="at least 21 frames"):
        official_output_frames(20)
    with pytest.raises(UserFacingError, match="smaller than 128"):
        official_geometry(30, 100, 4)
    g = official_geometry(90, 161, 4)  # 644 x 360 -> crop 640 x 256, centred
    assert (g.scaled_w, g.scaled_h, g.width, g.height, g.left, g.top) == (644, 360, 640, 256, 2, 52)


def test_truncation_is_towards_zero() -> None:
    x = torch.tensor([0.0, 0.6 / 255, 0.999 / 255, 1.6 / 255, 1.0]).view(1, 1, 1, 5).expand(1, 3, 1, 5)
    assert float_to_uint8(x)[0, 0, :, 0].tolist() == [0, 1, 1, 2, 255]
    assert float_to_uint8(x, "truncate")[0, 0, :, 0].tolist() == [0, 0, 0, 1, 255]


def test_compat_official_crops_and_follows_the_frame_rule() -> None:
    m = build_flashvsr("flashvsr-tiny", device="cpu", compat="official")  # the bundled weights
    lr = torch.from_numpy(moving_texture(23, 40, 36, dx=1)).permute(0, 3, 1, 2).float() / 255
    out = m.upscale(lr)
    assert tuple(out.shape) == (official_output_frames(23), 3, 128, 128)  # 160x144 -> crop 128x128
    assert m.uint8_rounding == "truncate"
    with pytest.raises(UserFacingError, match="untiled"):
        build_flashvsr("flashvsr-tiny", device="cpu", compat="official", tile=128)
    with pytest.raises(UserFacingError, match="at least 21 frames"):
        m.upscale(lr[:12])


def test_cli_upscale_compat_official(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vsrcore.cli import main
    from vsrcore.video.decode import read_frames
    from vsrcore.video.write import write_video

    src = write_video(tmp_path / "in.mkv", moving_texture(22, 40, 36, dx=1), fps=25, codec="ffv1")
    dst = tmp_path / "out.mkv"
    rc = main(["upscale", str(src), "-o", str(dst), "--model", "flashvsr-tiny", "--compat", "official",
               "--lossless", "--device", "cpu"])  # fmt: skip
    assert rc == 0
    frames = read_frames(dst)
    assert frames.shape == (official_output_frames(22), 128, 128, 3)
    assert "21 frames 128x128" in capsys.readouterr().out


# the official preset's structure at the toy widths of `tiny`
TOY = {k: v for k, v in FlashVSRConfig.from_name("tiny").to_dict().items() if k != "name"}


def test_tiny_mode_needs_no_vae_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import save_file

    from model.flashvsr.lq_proj import LQProjection
    from model.flashvsr.tc_decoder import TCDecoder
    from model.flashvsr.transformer import WanDiT

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("FLASHVSR_WEIGHTS", raising=False)
    cfg = FlashVSRConfig.from_name("official", **TOY)
    folder = tmp_path / "flashvsr-v1.1"
    folder.mkdir()
    save_file(WanDiT(cfg).state_dict(), str(folder / OFFICIAL_FILES["dit"]))
    torch.save(LQProjection.from_config(cfg).state_dict(), folder / OFFICIAL_FILES["lq_proj"])
    torch.save(TCDecoder.from_config(cfg).state_dict(), folder / OFFICIAL_FILES["tcdecoder"])
    torch.save(torch.randn(1, 4, cfg.text_dim), folder / OFFICIAL_FILES["context"])
    model = build_flashvsr("flashvsr-v1.1", mode="tiny", device="cpu", weights_dir=tmp_path, overrides=TOY)
    assert not model.random_weights and np.isfinite(model.upscale(torch.rand(2, 3, 16, 16)).numpy()).all()
    with pytest.raises(MissingWeights, match="Wan2.1_VAE.pth"):
        build_flashvsr("flashvsr-v1.1", mode="full", device="cpu", weights_dir=tmp_path, overrides=TOY)


def test_memory_plan_picks_a_tile_under_the_budget() -> None:
    from model.flashvsr.memory import parse_bytes

    m = build_flashvsr("flashvsr-tiny", device="cpu", max_memory=parse_bytes("8G"))
    plan = m.memory_plan(360, 640)  # 2560 x 1536 canvas
    assert plan.tile is not None and plan.estimate <= parse_bytes("8G") and "tiles of" in plan.describe()
    assert (
        build_flashvsr("flashvsr-tiny", device="cpu", max_memory=parse_bytes("64G")).memory_plan(60, 80).tile is None
    )
    with pytest.raises(UserFacingError, match="too small"):
        build_flashvsr("flashvsr-tiny", device="cpu", max_memory=parse_bytes("4G")).memory_plan(360, 640)
    with pytest.raises(UserFacingError, match="not a size"):
        parse_bytes("lots")


def test_a_decoder_only_model_plans_no_dit_memory() -> None:
    from dataclasses import replace

    from model.flashvsr.config import FlashVSRConfig
    from model.flashvsr.memory import tile_bytes_per_px

    cfg = FlashVSRConfig.from_name("tiny")
    assert tile_bytes_per_px(replace(cfg, decoder_only=True), "tiny") < tile_bytes_per_px(cfg, "tiny")
