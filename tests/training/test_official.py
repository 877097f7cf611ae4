"""Fine-tuning from the released weights: a release laid out as the official files (the official preset at toy
sizes, random weights), the decoder stage started from its student and TCDecoder, and the export back to the
release layout that `build_flashvsr` loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.tc_decoder import TCDecoder
from model.flashvsr.vae import WanVAEDecoder
from model.flashvsr.weights import OFFICIAL_FILES
from training.dit import load_dit
from training.trainer import TrainConfig, train
from vsrcore.errors import MissingWeights, UserFacingError


# the official preset's structure at the toy widths of `tiny`
TOY = {k: v for k, v in FlashVSRConfig.from_name("tiny").to_dict().items() if k != "name"}
CFG = FlashVSRConfig.from_name("official", **TOY)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights dir holding flashvsr-v1.1/ with the five release files (random toy weights)."""
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("weights")
    folder = root / "flashvsr-v1.1"
    folder.mkdir()
    torch.manual_seed(0)
    dit, lq = load_dit(CFG)
    save_file(dit.state_dict(), str(folder / OFFICIAL_FILES["dit"]))
    torch.save(lq.state_dict(), folder / OFFICIAL_FILES["lq_proj"])
    torch.save(TCDecoder.from_config(CFG).state_dict(), folder / OFFICIAL_FILES["tcdecoder"])
    torch.save(WanVAEDecoder.from_config(CFG).state_dict(), folder / OFFICIAL_FILES["vae_decoder"])
    torch.save(torch.randn(1, 16, CFG.text_dim), folder / OFFICIAL_FILES["context"])
    return root


def _cfg(media_dir: Path, out: Path, weights: Path, **kw: object) -> TrainConfig:
    base = dict(stage="decoder", data=[str(media_dir)], out=str(out), preset="flashvsr-v1.1", model_overrides=TOY,
                split=None, steps=2, latents=2, crop=128, videos=1, images=1, degradation="bicubic", lr=1e-3,
                ckpt_every=2, log_every=1, lpips="off", weights_dir=str(weights),
                init={"3": "official", "decoder": "official"},
                options={"decoder_latents": "student", "full_weight": 0.0})  # fmt: skip
    return TrainConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_decoder_fine_tunes_from_the_release_and_exports_its_layout(media_dir: Path, release: Path,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    import json

    from model.flashvsr.pipeline import build_flashvsr
    from model.flashvsr.weights import read_state_dict
    from vsrcore.cli import main

    run = tmp_path / "run"
    summary = train(_cfg(media_dir, run, release))
    meta = json.loads(Path(summary["checkpoint"]).with_suffix(".json").read_text())
    assert meta["sources"]["student"] == meta["sources"]["tcdecoder_init"] == "official:flashvsr-v1.1"
    out = tmp_path / "ft"
    assert main(["train", "--stage", "export", "--preset", "flashvsr-v1.1", "--out", str(run), "--weights-dir",
                 str(release), "--export-to", str(out)]) == 0  # fmt: skip
    assert sorted(p.name for p in (out / "flashvsr-v1.1").iterdir()) == sorted(OFFICIAL_FILES.values())
    released = read_state_dict(release / "flashvsr-v1.1" / OFFICIAL_FILES["tcdecoder"])
    tuned = read_state_dict(out / "flashvsr-v1.1" / OFFICIAL_FILES["tcdecoder"])
    assert tuned.keys() == released.keys() and any(not torch.equal(tuned[k], released[k]) for k in tuned)
    model = build_flashvsr("flashvsr-v1.1", weights_dir=out, device="cpu", overrides=TOY)
    assert not model.random_weights
    assert all(torch.equal(v, tuned[k]) for k, v in model.modules()["tcdecoder"].state_dict().items())
    y = model.upscale(torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(0)))
    assert y.shape == (5, 3, 64, 64) and torch.isfinite(y).all()


def test_release_stands_only_for_the_student_and_decoder(media_dir: Path, release: Path, tmp_path: Path) -> None:
    with pytest.raises(UserFacingError, match="Wan2.1 VAE encoder"):
        train(_cfg(media_dir, tmp_path / "a", release, stage="2", init={"1": "official"}))
    with pytest.raises(UserFacingError, match="official preset"):
        train(_cfg(media_dir, tmp_path / "b", release, preset="flashvsr-tiny", model_overrides={}))
    with pytest.raises(MissingWeights, match="TCDecoder.ckpt"):
        train(_cfg(media_dir, tmp_path / "c", tmp_path / "empty"))
