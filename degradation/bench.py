"""Degradation speed: frames/s per preset on 720p clips, reference (CPU) path vs torch path.

    python -m degradation.bench [--frames 10] [--device cuda] [--repeats 2]

The input is real footage (the `vtest` sample, bicubic-upscaled to 1280x720). For each preset it times the
reference path (numpy/OpenCV/PyAV, one process) and the torch path on `--device` (codec steps on the CPU
in both), on the same clip and plan, and prints frames/s and their ratio. GPU figures: say which card.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from degradation import PRESETS
from degradation.pipeline import apply_ops, plan_clip
from vsrcore.device import default_device
from vsrcore.resample import resize_frames
from vsrcore.samples import sample_path
from vsrcore.video.decode import read_frames


def clip_720p(frames: int) -> np.ndarray:
    """uint8 (T, 720, 1280, 3) real footage."""
    src = read_frames(sample_path("vtest"), end=frames).astype(np.float32) / 255
    return np.clip(np.round(resize_frames(src, 720, 1280, "bicubic") * 255), 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    """Time every preset and print a table (and JSON with --out)."""
    import torch

    from degradation.torch_ops import apply_ops_torch

    parser = argparse.ArgumentParser(description="degradation frames/s, reference vs torch path")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--device", default=default_device())
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--presets", default=",".join(PRESETS.names()))
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args(argv)
    hq = clip_720p(args.frames)
    device = torch.device(args.device)
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"720p clip of {args.frames} frames; torch path on {args.device} ({card}); best of {args.repeats}")
    rows = []
    for preset in args.presets.split(","):
        plan, _ = plan_clip(hq.shape[:3], preset, seed=0, clip_id="bench", fps=25.0)
        ops = (*plan.gt_ops, *plan.lq_ops)
        ref_s, torch_s = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            apply_ops(hq.astype(np.float32) / 255, ops)
            ref_s.append(time.perf_counter() - t0)
            x = torch.from_numpy(hq).to(device)
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            frames = x.permute(0, 3, 1, 2).float() / 255
            out = apply_ops_torch(frames, ops)
            out.cpu()
            torch_s.append(time.perf_counter() - t0)
        row = {
            "preset": preset,
            "reference_fps": args.frames / min(ref_s),
            "torch_fps": args.frames / min(torch_s),
            "codec_ops": sum(op.name in ("jpeg", "video_compression") for op in ops),
        }
        row["ratio"] = row["torch_fps"] / row["reference_fps"]
        rows.append(row)
        print(
            f"{preset:14s} reference {row['reference_fps']:7.2f} fps   torch/{args.device} "
            f"{row['torch_fps']:7.2f} fps   ratio {row['ratio']:5.2f}x   (codec steps on CPU: {row['codec_ops']})"
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps({"device": args.device, "card": card, "frames": args.frames, "rows": rows}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
