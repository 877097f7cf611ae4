"""`flashvsr train`: one stage of the FlashVSR recipe into a run directory (see training.trainer).

flashvsr train --stage 0 --data SHARDS --preset flashvsr-tiny -o RUN_DIR [--resume] [--set KEY=VALUE ...]
flashvsr train --stage export -o RUN_DIR             # -> RUN_DIR/flashvsr-tiny.safetensors
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from vsrcore.cliargs import add_output, add_set, info, parse_set


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the train subcommand's arguments (no torch import here)."""
    from training import STAGES

    parser.add_argument("--stage", required=True, choices=[*STAGES, "export"], help="stage to train (or export)")
    parser.add_argument("--data", nargs="+", default=[], help="VSR shard directories and/or folders of media")
    parser.add_argument("--preset", default="flashvsr-tiny", help="model preset (flashvsr-tiny)")
    add_output(parser, "run directory (one sub-folder per stage)")
    parser.add_argument("--resume", action="store_true", help="continue from the stage's latest checkpoint")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--lr-schedule", default="constant", choices=["constant", "cosine"])
    parser.add_argument("--videos", type=int, default=1, help="clips per step (per GPU)")
    parser.add_argument("--images", type=int, default=2, help="photos per step (stages 0, 1, decoder)")
    parser.add_argument("--latents", type=int, default=4, help="latent frames per clip (clips of 4T+1 frames)")
    parser.add_argument("--crop", type=int, default=128, help="HR crop size (multiple of 128 for the DiT)")
    parser.add_argument("--rescale", default="1,1", metavar="LO,HI",
                        help="rescale each source by a factor log-uniform in [LO, HI] before the crop (<1: denser "
                             "detail, >1: soft footage); 1,1 = off")  # fmt: skip
    parser.add_argument(
        "--degradation",
        default="realbasicvsr",
        help="degradation preset, or a comma list drawn per sample (see: flashvsr list presets)",
    )
    parser.add_argument("--target", default="preset", choices=["preset", "source"],
                        help="target: the preset GT (RealBasicVSR: USM-sharpened) or the clean crop")  # fmt: skip
    parser.add_argument("--pairs", help="a folder of stored degraded pairs (python -m training.make_pairs) of --data")
    parser.add_argument("--pair-share", type=float, default=0.0, metavar="P",
                        help="fraction of samples taken from --pairs, not degraded on the fly")  # fmt: skip
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="train", help="manifest split to train on ('all' for every row)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers")
    parser.add_argument("--device", default=None)
    parser.add_argument("--amp", default="auto", choices=["auto", "bf16", "off"])
    parser.add_argument("--grad-ckpt", default="auto", choices=["auto", "on", "off"])
    parser.add_argument("--ckpt-every", type=int, default=500)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--lpips", default="auto", choices=["auto", "off"])
    parser.add_argument("--init", action="append", default=[], metavar="STAGE=CKPT",
                        help="use this checkpoint for a prerequisite stage instead of RUN_DIR's; --init decoder=CKPT "
                             "fine-tunes a decoder; with an official preset, 3=official and decoder=official take "
                             "the released student / TCDecoder")  # fmt: skip
    parser.add_argument("--weights-dir", help="where the released weights are (--init STAGE=official; also "
                                              "$FLASHVSR_WEIGHTS)")  # fmt: skip
    parser.add_argument("--half", action="store_true", help="export: store float16 weights")
    parser.add_argument("--tiny-only", action="store_true", help="export: leave out stage 0's (full-mode) decoder")
    parser.add_argument("--export-to", help="export: bundle path (default RUN_DIR/<preset>.safetensors); official "
                                            "presets: a folder (default RUN_DIR) that gets <preset>/ in the release "
                                            "layout")  # fmt: skip
    add_set(parser, "a StageOptions field (e.g. pixel_latents=2) or, prefixed with 'model.', a model config field "
            "(e.g. model.tc_channels=[128,64,32,32], kept in the checkpoints and the exported bundle); JSON values",
            flags={"--option": "", "--config": "model."})  # fmt: skip
    parser.set_defaults(func=run)


def split_set(items: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`--set` items -> (StageOptions overrides, model config overrides); keys are checked with "did you mean"."""
    from dataclasses import fields

    from model.flashvsr.config import FlashVSRConfig
    from training.stages import StageOptions
    from vsrcore.registry import check_known

    values = parse_set(items)
    stage_fields = [f.name for f in fields(StageOptions) if f.name not in ("scale", "lpips")]  # own flags
    model_fields = ["model." + f.name for f in fields(FlashVSRConfig) if f.name != "name"]
    check_known("train option", values, stage_fields + model_fields)
    options = {k: v for k, v in values.items() if not k.startswith("model.")}
    return options, {k.removeprefix("model."): v for k, v in values.items() if k.startswith("model.")}


def run(args: argparse.Namespace) -> int:
    """Train one stage (or export the run); prints the summary as JSON unless --quiet."""
    from degradation import PRESETS as DEGRADATIONS
    from vsrcore.errors import UserFacingError

    if args.stage == "export":
        from model.flashvsr.config import OFFICIAL_PRESETS
        from training.export import export_bundle
        from training.official import export_official

        if args.preset in OFFICIAL_PRESETS:
            folder = export_official(args.out, args.export_to or args.out, args.preset, args.weights_dir)
            info(args, f"wrote {folder} (use: flashvsr upscale --model {args.preset} --weights-dir {folder.parent})")
            return 0
        path = export_bundle(args.out, args.export_to, preset=args.preset, half=args.half, tiny_only=args.tiny_only)
        info(args, f"wrote {path}")
        return 0
    if not args.data:
        raise UserFacingError("--data is required for training")
    DEGRADATIONS.check(p.strip() for p in args.degradation.split(",") if p.strip())
    from model.flashvsr.config import MODEL_PRESETS
    from training.trainer import TrainConfig, train
    from vsrcore.registry import check_known

    check_known("model preset", [args.preset], MODEL_PRESETS)

    def pairs(items: list[str], what: str) -> dict[str, str]:
        out = {}
        for item in items:
            key, sep, value = item.partition("=")
            if not sep:
                raise UserFacingError(f"{what} expects KEY=VALUE, got '{item}'")
            out[key] = value
        return out

    def rescale_range(text: str) -> tuple[float, float]:
        try:
            lo, hi = (float(v) for v in text.split(","))
        except ValueError:
            raise UserFacingError(f"--rescale expects LO,HI (two numbers), got '{text}'") from None
        return lo, hi

    options, model_overrides = split_set(args.set)
    cfg = TrainConfig(
        stage=args.stage, data=list(args.data), out=args.out, preset=args.preset, steps=args.steps, lr=args.lr,
        warmup=args.warmup, lr_schedule=args.lr_schedule, videos=args.videos, images=args.images,
        latents=args.latents, crop=args.crop, rescale=rescale_range(args.rescale),
        degradation=args.degradation, target=args.target, pairs=args.pairs, pair_share=args.pair_share,
        scale=args.scale, seed=args.seed,
        split=None if args.split == "all" else args.split, workers=args.workers, device=args.device, amp=args.amp,
        grad_ckpt=args.grad_ckpt, ckpt_every=args.ckpt_every, log_every=args.log_every, lpips=args.lpips,
        resume=args.resume, init=pairs(args.init, "--init"), options=options,
        model_overrides=model_overrides, weights_dir=args.weights_dir,
    )  # fmt: skip
    summary = train(cfg, log=lambda text: info(args, text))
    info(args, json.dumps(summary))
    return 0
