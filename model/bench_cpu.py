"""CPU benchmark of the bundled FlashVSR: peak RSS and frames/s per input size, and default vs `--compat official`.

    python -m model.bench_cpu --sizes 320x240,640x360 --frames 29 [--max-memory 8G] [--backend reference]
    python -m model.bench_cpu --compat-diff carphone --frames 30
    python -m model.bench_cpu --decoder-ab --sizes 320x240 [--repeats 3]
    python -m model.bench_cpu --decoder-gate city --frames 21

Each size runs in its own process (`--one`), so its peak RSS (ru_maxrss) is its own; the table prints the memory
estimate (`model/flashvsr/memory.py`) beside it. 29 frames = the first two streaming steps, every output frame
computed once. `--backend reference --no-plan` reproduces the earlier CPU path (dense masked attention, untiled)
for a same-machine baseline. `--compat-diff` upscales the first frames of a real sample both ways and reports each
difference on the region both outputs cover. `cpu_seconds` (user + system CPU time of the run) is printed beside
the wall time: on a shared machine the ratio of CPU times is the fairer comparison.

`--decoder-ab` times the TCDecoder alone in one process: the module code, the CPU path in float32 and in bfloat16
(`model/flashvsr/cpu_decoder.py`) decode the same steady-state step (1 latent frame -> 4 output frames) in turn,
`--repeats` rounds after one warm-up each, and it prints each path's time and its speed-up over the module code,
so the ratios hold on a busy machine. `--decoder-gate` upscales the first frames of a real sample with the
decoder in float32 and in bfloat16 and reports the PSNR between the two outputs (the gate for bfloat16).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any


def _one(
    height: int, width: int, frames: int, backend: str | None, max_memory: str | None, plan: bool, decoder: str
) -> dict:
    import torch

    from model.flashvsr.cpu_decoder import bf16_supported
    from model.flashvsr.memory import parse_bytes
    from model.flashvsr.pipeline import build_flashvsr

    budget = parse_bytes(max_memory) if max_memory else (1 << 62 if not plan else None)
    m = build_flashvsr("flashvsr-tiny", device="cpu", backend=backend, max_memory=budget)
    if decoder == "cpu-bf16" and not bf16_supported():
        decoder = "cpu-fp32"  # emulated bfloat16 is slower than float32
    _set_decoder(m.decoder, decoder)
    est = m.memory_plan(height, width)
    x = torch.rand(frames, 3, height, width, generator=torch.Generator().manual_seed(0))
    m.timings = {}
    t0, c0 = time.perf_counter(), time.process_time()
    n = sum(c.shape[0] for c in m.stream([x]))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "size": f"{width}x{height}", "frames": n, "seconds": round(dt, 1), "fps": round(n / dt, 4),
        "cpu_seconds": round(cpu, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "estimate_gb": round(est.estimate / 2**30, 2), "tile": est.tile, "backend": backend or "default",
        "seconds_per_part": {k: round(v, 1) for k, v in m.timings.items()}, "threads": torch.get_num_threads(),
        "decoder": decoder,
    }  # fmt: skip


def _compat_diff(sample: str, frames: int) -> dict[str, Any]:
    import numpy as np
    import torch.nn.functional as F

    from model.flashvsr.official import official_geometry, pil_upscale_crop
    from model.flashvsr.pipeline import build_flashvsr
    from vsrcore.samples import sample_path
    from vsrcore.tensors import float_to_uint8, uint8_to_float
    from vsrcore.video.decode import read_frames

    lr = uint8_to_float(read_frames(sample_path(sample))[:frames])
    h, w = lr.shape[-2:]
    g = official_geometry(h, w, 4)
    crop = (slice(None), slice(None), slice(g.top, g.top + g.height), slice(g.left, g.left + g.width))
    resize = (F.interpolate(lr, scale_factor=4, mode="bicubic").clamp(0, 1)[crop] - pil_upscale_crop(lr, g)) * 255
    default = build_flashvsr("flashvsr-tiny", device="cpu").upscale(lr)
    official = build_flashvsr("flashvsr-tiny", device="cpu", compat="official").upscale(lr)
    n = official.shape[0]
    d_u8 = float_to_uint8(default[:n][crop]).astype(np.int16) - float_to_uint8(official, "truncate").astype(np.int16)
    rounding = float_to_uint8(official).astype(np.int16) - float_to_uint8(official, "truncate").astype(np.int16)
    return {
        "sample": sample, "lr": f"{w}x{h}", "frames_in": frames, "frames_default": default.shape[0],
        "frames_official": n, "official_crop": f"{g.width}x{g.height} of {g.scaled_w}x{g.scaled_h}",
        "resize_torch_vs_pil_levels": {"mean_abs": round(float(resize.abs().mean()), 3),
                                       "max_abs": round(float(resize.abs().max()), 2)},
        "rounding_vs_truncation_levels": {"mean": round(float(rounding.mean()), 3)},
        "default_vs_official_uint8_levels": {"mean_abs": round(float(np.abs(d_u8).mean()), 3),
                                             "max_abs": int(np.abs(d_u8).max())},
    }  # fmt: skip


DECODER_PATHS = {"module": (False, "float32"), "cpu-fp32": (True, "float32"), "cpu-bf16": (True, "bfloat16")}


def _set_decoder(dec: Any, path: str) -> None:
    import torch

    fast, dtype = DECODER_PATHS[path]
    dec.cpu_fast, dec.cpu_dtype = fast, getattr(torch, dtype)


def _decoder_ab(height: int, width: int, repeats: int) -> dict[str, Any]:
    import torch

    from model.flashvsr.cpu_decoder import bf16_supported
    from model.flashvsr.pipeline import build_flashvsr

    m = build_flashvsr("flashvsr-tiny", device="cpu")
    hp, wp = m._canvas(height, width)  # the padded output canvas the decoder works on
    dec = m.decoder
    g = torch.Generator().manual_seed(0)
    lat = torch.randn(1, 2, m.cfg.in_dim, hp // 8, wp // 8, generator=g)
    cond = torch.rand(1, 3, 5, hp, wp, generator=g) * 2 - 1
    paths = [p for p in DECODER_PATHS if p != "cpu-bf16" or bf16_supported()]
    wall: dict[str, list[float]] = {p: [] for p in paths}
    cpu: dict[str, list[float]] = {p: [] for p in paths}
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for r in range(repeats + 1):  # round 0 warms each path up (oneDNN builds its kernels per shape)
            for p in paths:
                _set_decoder(dec, p)
                dec.reset()
                dec.decode(lat[:, :1], cond[:, :, :1])
                t0, c0 = time.perf_counter(), time.process_time()
                out[p] = dec.decode(lat[:, 1:], cond[:, :, 1:])
                if r:
                    wall[p].append(time.perf_counter() - t0)
                    cpu[p].append(time.process_time() - c0)
    ref = out["module"]
    return {
        "size": f"{width}x{height}", "decoded": f"4 frames of {wp}x{hp}", "threads": torch.get_num_threads(),
        "bf16_native": bf16_supported(),
        "wall_s": {p: [round(t, 2) for t in v] for p, v in wall.items()},
        "speedup_wall": {p: round(sum(wall["module"]) / sum(v), 2) for p, v in wall.items()},
        "speedup_cpu": {p: round(sum(cpu["module"]) / sum(v), 2) for p, v in cpu.items()},
        "max_abs_diff_vs_module": {p: float((o - ref).abs().max()) for p, o in out.items()},
    }  # fmt: skip


def _decoder_gate(sample: str, frames: int) -> dict[str, Any]:
    import math

    from model.flashvsr.pipeline import build_flashvsr
    from vsrcore.samples import sample_path
    from vsrcore.tensors import uint8_to_float
    from vsrcore.video.decode import read_frames

    lr = uint8_to_float(read_frames(sample_path(sample))[:frames])
    m = build_flashvsr("flashvsr-tiny", device="cpu")
    outs = {}
    for p in ("cpu-fp32", "cpu-bf16"):
        _set_decoder(m.decoder, p)
        outs[p] = m.upscale(lr).double()
    diff = outs["cpu-bf16"] - outs["cpu-fp32"]
    mse = diff.pow(2).mean(dim=(1, 2, 3))
    psnr = [10 * math.log10(1 / max(float(v), 1e-20)) for v in mse]
    return {
        "sample": sample, "lr": f"{lr.shape[-1]}x{lr.shape[-2]}", "frames": int(diff.shape[0]),
        "psnr_bf16_vs_fp32_db": {"min": round(min(psnr), 2), "mean": round(sum(psnr) / len(psnr), 2),
                                 "whole_clip": round(10 * math.log10(1 / float(mse.mean())), 2)},
        "max_abs_diff_levels": round(float(diff.abs().max()) * 255, 2),
        "mean_abs_diff_levels": round(float(diff.abs().mean()) * 255, 4),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Print one JSON line per measured size (or the compat difference)."""
    ap = argparse.ArgumentParser(prog="python -m model.bench_cpu", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="320x240,640x360", help="LR sizes WxH, comma-separated")
    ap.add_argument("--frames", type=int, default=29)
    ap.add_argument("--backend", help="attention backend (default: gather on CPU; 'reference' = the old path)")
    ap.add_argument("--max-memory", help="budget, e.g. 8G (default: 80%% of available memory)")
    ap.add_argument("--no-plan", action="store_true", help="never tile (the old behaviour)")
    ap.add_argument("--compat-diff", metavar="SAMPLE", help="default vs --compat official on a real sample clip")
    ap.add_argument("--decoder", choices=list(DECODER_PATHS), help="TCDecoder path (default: cpu-bf16 where the "
                    "CPU has native bfloat16, else cpu-fp32; --backend reference: module)")  # fmt: skip
    ap.add_argument("--decoder-ab", action="store_true", help="time the TCDecoder paths in turn (per size)")
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds of --decoder-ab (default 3)")
    ap.add_argument("--decoder-gate", metavar="SAMPLE", help="PSNR of the bfloat16 vs float32 decoder on a sample")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.compat_diff:
        print(json.dumps(_compat_diff(args.compat_diff, args.frames)))
        return 0
    if args.decoder_gate:
        print(json.dumps(_decoder_gate(args.decoder_gate, args.frames)))
        return 0
    if args.decoder_ab:
        for size in args.sizes.split(","):
            w, h = map(int, size.split("x"))
            print(json.dumps(_decoder_ab(h, w, args.repeats)), flush=True)
        return 0
    if args.one:
        w, h = map(int, args.one.split("x"))
        decoder = args.decoder or ("module" if args.backend == "reference" else "cpu-bf16")
        print(json.dumps(_one(h, w, args.frames, args.backend, args.max_memory, not args.no_plan, decoder)))
        return 0
    for size in args.sizes.split(","):
        cmd = [sys.executable, "-m", "model.bench_cpu", "--one", size, "--frames", str(args.frames)]
        cmd += ["--backend", args.backend] if args.backend else []
        cmd += ["--max-memory", args.max_memory] if args.max_memory else []
        cmd += ["--no-plan"] if args.no_plan else []
        cmd += ["--decoder", args.decoder] if args.decoder else []
        r = subprocess.run(cmd, capture_output=True, text=True)
        line = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else None
        print(line or json.dumps({"size": size, "error": f"exit {r.returncode}", "stderr": r.stderr[-300:]}),
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
