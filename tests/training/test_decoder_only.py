"""The decoder-only ablation (`decoder_latents="zero"`): trained without a DiT or autoencoder, sampled the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.tc_decoder import TCDecoder
from training import stages as S
from training.data import PairBatch


def test_zero_latents_train_the_decoder_from_the_lr_alone() -> None:
    cfg = FlashVSRConfig.from_name("tiny", tc_residual=True, tc_channels=(16, 8, 8, 8))
    torch.manual_seed(0)
    tc = TCDecoder.from_config(cfg).train()
    g = torch.Generator().manual_seed(0)
    gt = torch.nn.functional.interpolate(torch.rand(9, 3, 8, 8, generator=g), size=64, mode="bilinear")[None]
    lq = torch.nn.functional.avg_pool2d(gt[0], 4)[None]
    batch = PairBatch(gt, lq, gt[:, :1], lq[:, :1])
    opts = S.StageOptions(decoder_latents="zero", full_weight=0.0)
    z = S.zero_latents(tc, lq, 2, 4)
    assert z.shape == (1, cfg.in_dim, 2, 8, 8) and not z.any()
    opt = torch.optim.Adam(tc.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        out = S.decoder_step({"tcdecoder": tc}, batch, torch.Generator().manual_seed(1), opts)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(float(out["mse_gt"]))
    assert losses[-1] < losses[0]


def test_cli_trains_and_samples_a_decoder_only_run(media_dir: Path, tmp_path: Path) -> None:
    from training.sample import main as sample_main
    from vsrcore.cli import main
    from vsrcore.video.write import read_image_sequence, write_image_sequence

    run = tmp_path / "run"
    assert main(["train", "--stage", "decoder", "--data", str(media_dir), "--out", str(run), "--split", "all",
                 "--steps", "2", "--latents", "2", "--degradation", "bicubic", "--workers", "0", "--lpips", "off",
                 "--images", "1", "--crop", "16", "--set", 'decoder_latents="zero"', "--set", "full_weight=0",
                 "--set", "model.tc_channels=[16,8,8,8]", "--quiet"]) == 0  # fmt: skip
    assert not (run / "stage0").exists() and not (run / "stage3").exists()  # no autoencoder, no student
    frames = np.random.default_rng(0).integers(0, 256, (2, 12, 20, 3), dtype=np.uint8)
    write_image_sequence(tmp_path / "lr", frames)
    assert sample_main(["--run", str(run), "--stage", "none", "--device", "cpu", str(tmp_path / "lr"),
                        str(tmp_path / "sr")]) == 0  # fmt: skip
    assert read_image_sequence(tmp_path / "sr").shape == (2, 48, 80, 3)
    assert sample_main(["--run", str(tmp_path / "nothing"), "--stage", "none", str(tmp_path / "lr"),
                        str(tmp_path / "sr2")]) == 2  # fmt: skip


def test_a_decoder_only_run_exports_a_bundle_without_a_dit(media_dir: Path, tmp_path: Path) -> None:
    """export of the ablation's run: tcdecoder weights alone, `decoder_only` in its config; build_flashvsr runs it
    (no DiT, no LQ projection) and gives what the run's sampler gives."""
    from safetensors import safe_open

    from model.flashvsr.pipeline import build_flashvsr
    from training.export import export_bundle
    from training.sample import main as sample_main
    from vsrcore.cli import main
    from vsrcore.video.write import read_image_sequence, write_image_sequence

    run = tmp_path / "run"
    assert main(["train", "--stage", "decoder", "--data", str(media_dir), "--out", str(run), "--split", "all",
                 "--steps", "2", "--latents", "2", "--degradation", "bicubic", "--workers", "0", "--lpips", "off",
                 "--images", "1", "--crop", "16", "--set", 'decoder_latents="zero"', "--set", "full_weight=0",
                 "--set", "model.tc_channels=[16,8,8,8]", "--set", "model.tc_cond_skip=4",
                 "--quiet"]) == 0  # fmt: skip
    bundle = export_bundle(run, tmp_path / "w" / "flashvsr-tiny.safetensors", tiny_only=True)
    with safe_open(str(bundle), framework="pt") as f:
        assert {k.split(".")[0] for k in f.keys()} == {"tcdecoder"}
    model = build_flashvsr("flashvsr-tiny", device="cpu", weights_dir=tmp_path / "w")
    assert model.dit is None and model.lq_proj is None and list(model.modules()) == ["tcdecoder"]
    frames = np.random.default_rng(0).integers(0, 256, (5, 12, 20, 3), dtype=np.uint8)
    out = model.upscale(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255)
    assert out.shape == (5, 3, 48, 80) and torch.isfinite(out).all()
    write_image_sequence(tmp_path / "lr", frames)
    assert sample_main(["--run", str(run), "--stage", "none", "--device", "cpu", str(tmp_path / "lr"),
                        str(tmp_path / "sr")]) == 0  # fmt: skip
    sampled = torch.from_numpy(read_image_sequence(tmp_path / "sr")).permute(0, 3, 1, 2).float() / 255
    assert (out - sampled).abs().max() <= 1.5 / 255  # the same model; uint8 rounding of the sampler's files
