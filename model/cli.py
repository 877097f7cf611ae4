"""`flashvsr upscale IN -o OUT`: stream a video through FlashVSR or a baseline, audio kept."""

from __future__ import annotations

import argparse
import sys

from vsrcore.cliargs import add_output, info
from vsrcore.limits import add_input_limit_arguments, apply_input_limits


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the upscale arguments (no heavy imports here)."""
    from model import MODELS

    parser.add_argument("input", help="input video file")
    add_output(parser, "output video (.mp4/.mkv/.mov); .mkv + --lossless = FFV1", flags=("--output",))
    parser.add_argument("--model", default="flashvsr-v1.1", choices=MODELS.names(), help="default: flashvsr-v1.1")
    mode_help = "decoder: tiny/tiny-long = Tiny Conditional Decoder (both stream), full = Wan2.1 VAE"
    parser.add_argument("--mode", default="tiny", choices=["tiny", "tiny-long", "full"], help=mode_help)
    parser.add_argument("--scale", type=int, default=4, choices=[2, 4], help="upscaling factor (default 4)")
    parser.add_argument("--weights-dir", help="folder searched first for weights (also $FLASHVSR_WEIGHTS)")
    parser.add_argument("--allow-random-weights", action="store_true",
                        help="run a FlashVSR preset with RANDOM weights when its weights are missing (smoke tests "
                             "only: the output is not super-resolution)")  # fmt: skip
    parser.add_argument("--sparse-ratio", type=float, help="top-k budget (official 2.0; 1.5 faster)")
    parser.add_argument("--kv-ratio", type=float, help="cached 2-latent chunks (official 3.0)")
    parser.add_argument("--local-range", type=int, help="locality window in blocks (official 11; 9 sharper)")
    parser.add_argument("--dtype", choices=["auto", "bf16", "fp16", "fp32"], default="auto",
                        help="auto: bf16 on CUDA, fp32 on CPU; bf16 on CPU: the decoder's convolutions in "
                             "bf16 (faster where the CPU has avx512_bf16; see docs/model.md)")  # fmt: skip
    parser.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda if available)")
    parser.add_argument("--tile", type=int, help="spatial tile size in output pixels (multiple of 128) to cap memory")
    parser.add_argument("--tile-overlap", type=int, default=128, help="tile overlap in output pixels (default 128)")
    parser.add_argument("--color-fix", choices=["adain", "wavelet", "none"], default="adain")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--max-memory", help="memory budget such as 8G: picks the tile size (default: 80%% of the "
                        "memory available); the estimate is printed before the run")  # fmt: skip
    parser.add_argument("--compat", choices=["default", "official"], default="default",
                        help="official: the release script's PIL bicubic, centre crop to multiples of 128, 8n-3 "
                             "output frames, whole-clip noise and uint8 truncation (docs/model.md)")  # fmt: skip
    parser.add_argument("--chunk", type=int, default=8, help="frames decoded per read (default 8)")
    parser.add_argument("--lossless", action="store_true", help="lossless output (FFV1 in .mkv, x264rgb qp0 else)")
    parser.add_argument("--crf", type=int, help="x264 CRF for lossy output (default 18)")
    parser.add_argument("--no-audio", action="store_true", help="do not copy the input's audio")
    add_input_limit_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the model, stream the file, print a one-line summary."""
    import warnings

    from model.api import load
    from model.engine import upscale_video
    from model.flashvsr.memory import parse_bytes

    apply_input_limits(args)
    options = {
        "scale": args.scale,
        "device": args.device,
        "dtype": None if args.dtype == "auto" else args.dtype,
        "weights_dir": args.weights_dir,
        "allow_random_weights": args.allow_random_weights or None,
        "mode": args.mode,
        "sparse_ratio": args.sparse_ratio,
        "kv_ratio": args.kv_ratio,
        "local_range": args.local_range,
        "tile": args.tile,
        "tile_overlap": args.tile_overlap,
        "color_fix": args.color_fix,
        "seed": args.seed,
        "compat": None if args.compat == "default" else args.compat,
        "max_memory": parse_bytes(args.max_memory) if args.max_memory else None,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the random-weights warning is printed below, once, plainly
        model = load(args.model, **options)
    if model.random_weights:
        print(f"flashvsr upscale: WARNING: {args.model} runs with RANDOM weights (--allow-random-weights); "
              "the output is not super-resolution", file=sys.stderr)  # fmt: skip
    report = upscale_video(
        args.input, args.out, model, chunk=args.chunk, lossless=args.lossless, crf=args.crf,
        audio=not args.no_audio, progress=not args.quiet,
    )  # fmt: skip
    audio = "audio copied" if report.audio else "no audio"
    notes = "" if report.timestamps == "constant rate" else ", variable frame rate kept"
    if report.max_time_shift_s >= 0.0005:  # repeated or backward source times, moved to keep them increasing
        notes += f" (frame times moved by up to {report.max_time_shift_s * 1000:.0f} ms)"
    if report.frame_count_mismatch:
        notes += f"; the input's header declares {report.declared_frames} frames, {report.input_frames} decoded"
    info(args, f"{report.output}: {report.frames} frames {report.width}x{report.height}, {audio}, "
               f"{report.seconds:.1f} s ({report.fps:.2f} fps){notes}")  # fmt: skip
    return 0
