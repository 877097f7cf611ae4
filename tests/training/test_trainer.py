"""The loop: checkpoints + metadata, resume reproduces the next step, the CLI end to end, and the bundle export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from training.trainer import TrainConfig, train


def _cfg(media_dir: Path, out: Path, **kw: object) -> TrainConfig:
    base = dict(stage="0", data=[str(media_dir)], out=str(out), split=None, steps=3, latents=1, crop=16, images=1,
                degradation="bicubic", lr=3e-3, ckpt_every=1, log_every=1, lpips="off")  # fmt: skip
    return TrainConfig(**{**base, **kw})  # type: ignore[arg-type]


def _losses(out: Path) -> dict[int, float]:
    with (out / "stage0" / "loss.csv").open() as fh:
        return {int(r["step"]): float(r["loss"]) for r in csv.DictReader(fh)}


def test_resume_reproduces_the_next_step(media_dir: Path, tmp_path: Path) -> None:
    straight = train(_cfg(media_dir, tmp_path / "a"))
    train(_cfg(media_dir, tmp_path / "b", steps=2))
    resumed = train(_cfg(media_dir, tmp_path / "b", resume=True))
    assert resumed["losses"]["loss"] == straight["losses"]["loss"]
    assert _losses(tmp_path / "a") == _losses(tmp_path / "b")
    meta = json.loads((tmp_path / "b" / "stage0" / "ckpt-0000003.json").read_text())
    assert meta["step"] == 3 and meta["seed"] == 0 and meta["lpips"] is False and "git_commit" in meta
    assert meta["config"]["degradation"] == "bicubic" and set(meta["losses"]) >= {"loss", "l1", "kl"}
    assert (tmp_path / "b" / "stage0" / "loss.png").exists()


def test_cli_trains_every_stage_and_exports_a_loadable_bundle(media_dir: Path, tmp_path: Path) -> None:
    from model.flashvsr.pipeline import build_flashvsr
    from vsrcore.cli import main

    out = str(tmp_path / "run")
    common = ["--data", str(media_dir), "--out", out, "--split", "all", "--steps", "1", "--latents", "2",
              "--degradation", "bicubic", "--workers", "0", "--lpips", "off", "--images", "1"]  # fmt: skip
    assert main(["train", "--stage", "0", *common, "--crop", "16"]) == 0
    for stage in ("1", "2", "3"):
        assert main(["train", "--stage", stage, *common, "--crop", "128"]) == 0
    # the decoder stage resizes the TCDecoder; the bundle carries the config, so the pipeline builds that size
    assert main(["train", "--stage", "decoder", *common, "--crop", "16", "--config", "tc_channels=[16,8,8,8]",
                 "--config", "tc_cond_skip=4", "--rescale", "0.5,2"]) == 0  # fmt: skip
    assert main(["train", "--stage", "export", "--out", out]) == 0
    model = build_flashvsr("flashvsr-tiny", weights_dir=out, device="cpu")
    assert not model.random_weights and model.cfg.tc_channels == (16, 8, 8, 8) and model.cfg.tc_cond_skip == 4
    small = tmp_path / "small" / "flashvsr-tiny.safetensors"
    assert main(["train", "--stage", "export", "--out", out, "--half", "--tiny-only", "--export-to", str(small)]) == 0
    assert small.stat().st_size < (Path(out) / "flashvsr-tiny.safetensors").stat().st_size
    assert not build_flashvsr("flashvsr-tiny", weights_dir=small.parent, device="cpu").random_weights
    # whole-clip sampling from the run: the multi-step teacher and the one-step student, frames in -> frames out
    from training.sample import main as sample_main
    from training.sample import shifted_sigmas
    from vsrcore.video.write import read_image_sequence, write_image_sequence

    frames = np.random.default_rng(0).integers(0, 256, (3, 12, 20, 3), dtype=np.uint8)
    write_image_sequence(tmp_path / "lr", frames)
    for stage, steps in (("1", "3"), ("3", "1")):
        dst = tmp_path / f"sr{stage}"
        assert sample_main(["--run", out, "--stage", stage, "--steps", steps, "--device", "cpu",
                            str(tmp_path / "lr"), str(dst)]) == 0  # fmt: skip
        assert read_image_sequence(dst).shape == (3, 48, 80, 3)
    # the teacher decoded by an exported (float16) bundle's TCDecoder: the run's decoder to within rounding
    assert sample_main(["--run", out, "--stage", "1", "--steps", "3", "--device", "cpu", "--decoder", str(small),
                        str(tmp_path / "lr"), str(tmp_path / "srb")]) == 0  # fmt: skip
    diff = read_image_sequence(tmp_path / "srb").astype(int) - read_image_sequence(tmp_path / "sr1").astype(int)
    assert np.abs(diff).max() <= 2
    assert sample_main(["--run", out, "--decoder", str(tmp_path / "none.safetensors"), str(tmp_path / "lr"),
                        str(tmp_path / "srx")]) == 2  # a missing bundle: one line, nothing written  # fmt: skip
    assert not (tmp_path / "srx").exists()
    sig = shifted_sigmas(4)
    assert sig[0] == 1.0 and sig[-1] == 0.0 and all(a > b for a, b in zip(sig, sig[1:], strict=False))


def test_cosine_schedule_warms_up_then_decays_to_zero(tmp_path: Path) -> None:
    from training.trainer import learning_rate

    cfg = TrainConfig(stage="0", data=[], out=str(tmp_path), lr=1.0, steps=100, warmup=10, lr_schedule="cosine")
    lrs = [learning_rate(cfg, k) for k in range(100)]
    assert lrs[0] < lrs[9] and abs(lrs[50] - 0.5) < 1e-9 and lrs[99] < 1e-3


def test_bad_config_override_or_rescale_is_one_line(media_dir: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from vsrcore.cli import main

    common = ["train", "--stage", "0", "--data", str(media_dir), "--out", str(tmp_path / "r"), "--steps", "1"]
    assert main([*common, "--set", "model.no_such_field=1"]) != 0
    assert main([*common, "--set", "model.tc_channels=[1,2"]) != 0
    assert main([*common, "--rescale", "0.5"]) != 0
    assert main([*common, "--rescale", "2,1"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and "no_such_field" in err[0] and "not JSON" in err[1]
    assert "LO,HI" in err[2] and "LO <= HI" in err[3]


def test_missing_prerequisite_says_which(media_dir: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from vsrcore.cli import main

    assert main(["train", "--stage", "1", "--data", str(media_dir), "--out", str(tmp_path)]) == 2
    assert "stage-0 checkpoint" in capsys.readouterr().err


def test_sample_names_a_missing_run_or_frame_folder_in_one_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from training.sample import main as sample_main

    (tmp_path / "lr").mkdir()
    assert sample_main(["--run", str(tmp_path / "norun"), str(tmp_path / "lr"), str(tmp_path / "sr")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(tmp_path / "lr") in err  # empty frame folder, named
    from vsrcore.video.write import write_image_sequence

    write_image_sequence(tmp_path / "lr", np.zeros((1, 8, 8, 3), np.uint8))
    assert sample_main(["--run", str(tmp_path / "norun"), str(tmp_path / "lr"), str(tmp_path / "sr")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "norun" in err and "stage1" in err
