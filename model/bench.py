"""GPU benchmark of official-size FlashVSR (random bf16 weights: the official files are not on the GPU machine;
speed and memory do not depend on weight values; output quality does and is not measured here).

    python -m model.bench [--res 540p,720p,768x1408,1080p,1440p,4k] [--frames 101] [--big-frames 41]
                          [--levers dit,lq,dec] [--baseline] [--kept 0.136] [--ceilings] [--profile FILE]

Prints, per output resolution (x4 from LR frames of a quarter of the size), one table row: FPS end to end (LQ
projection, DiT, decoding of every output frame, colour fix, copy to the host; no file I/O), peak GPU memory, the
model's lookahead, ms per component per 8 output frames, and the PSNR of the fast path against the module path
(`--baseline`: the module code with FlexAttention, run in the same process on the same weights and input).
`--ceilings` measures the card's matmul / attention / convolution / copy rates at FlashVSR's shapes first.
A VRAM estimate (model.perf_model) is printed before each run.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any


RESOLUTIONS = {  # output (height, width)
    "540p": (540, 960),
    "720p": (720, 1280),
    "768x1408": (768, 1408),
    "1080p": (1080, 1920),
    "1440p": (1440, 2560),
    "4k": (2160, 3840),
}
LEVERS = ("dit", "lq", "dec", "u8", "decc", "cudnn", "tma", "kv8")
DEFAULT_LEVERS = LEVERS[:-1]  # kv8 changes the numbers: opt-in until its quality gate is measured
LEVER_HELP = {
    "dit": "fast DiT (compiled blocks, ring KV cache)",
    "lq": "LQ projection as folded channels-last conv2d",
    "dec": "channels-last TCDecoder weights",
    "u8": "uint8 output converted on the GPU, pinned host copy",
    "decc": "TCDecoder layers torch.compile'd",
    "cudnn": "cudnn.benchmark (algorithm search per conv shape)",
    "tma": "FlexAttention USE_TMA kernel option",
    "kv8": "int8 KV cache with per-vector scales (half the cache memory; needs dit)",
}
# --ablate: lever sets timed one after another at the first resolution (each adds one lever)
ABLATION = (("dit", "lq", "dec"), ("u8",), ("decc",), ("cudnn",), ("tma",), ("kv8",))


def parse_resolution(name: str) -> tuple[int, int]:
    """'1080p' or 'HxW' -> output (height, width)."""
    if name.lower() in RESOLUTIONS:
        return RESOLUTIONS[name.lower()]
    try:
        h, w = (int(v) for v in name.lower().split("x"))
    except ValueError:
        raise SystemExit(f"unknown resolution {name!r} (one of {', '.join(RESOLUTIONS)} or HxW)") from None
    return h, w


# ----------------------------------------------------------------------------------------------------------------
# ceilings
# ----------------------------------------------------------------------------------------------------------------
def _bench_ms(fn) -> float:  # noqa: ANN001
    from triton.testing import do_bench

    return float(do_bench(fn, warmup=50, rep=200, return_mode="median"))


def measure_ceilings(out: dict[str, Any]) -> dict[str, float]:
    """Rates on this card at FlashVSR's shapes (random data): FLOP/s per unit, bytes/s for 'copy'."""
    import torch
    import torch.nn.functional as F

    from model.flashvsr import attention as A
    from model.flashvsr import fast_dit
    from model.perf_model import Geometry, topk_ratio_for_fraction

    dev, bf = "cuda", torch.bfloat16
    res: dict[str, float] = {}

    def row(name: str, ms: float, flops: float = 0.0, nbytes: float = 0.0) -> None:
        rec = {"ms": round(ms, 3)}
        if flops:
            rec["tflops"] = round(flops / ms / 1e9, 1)
        if nbytes:
            rec["gbps"] = round(nbytes / ms / 1e6, 1)
        out[name] = rec
        print(json.dumps({"ceiling": name, **rec}), flush=True)

    x = torch.empty(2**29, dtype=torch.uint8, device=dev).random_()  # 512 MiB, ~10x L2
    y = torch.empty_like(x)
    ms = _bench_ms(lambda x=x, y=y: y.copy_(x))
    row("copy 512MiB d2d", ms, nbytes=2 * x.numel())
    res["copy"] = 2 * x.numel() / ms * 1e3
    del x, y
    a, b = (torch.randn(8192, 8192, device=dev, dtype=bf) for _ in range(2))
    ms = _bench_ms(lambda: a @ b)
    row("matmul 8192^3 bf16", ms, 2 * 8192**3)
    res["matmul_peak"] = 2 * 8192**3 / ms * 1e3
    n = 8448  # tokens of one 768x1408 chunk
    for k_, n_ in ((1536, 1536), (1536, 8960), (8960, 1536)):
        a, b = torch.randn(n, k_, device=dev, dtype=bf), torch.randn(n_, k_, device=dev, dtype=bf)
        ms = _bench_ms(lambda a=a, b=b: F.linear(a, b))
        row(f"linear {n}x{k_}->{n_}", ms, 2 * n * k_ * n_)
    res["matmul"] = 2 * n * 1536 * 8960 / ms * 1e3  # the FFN shape: representative of the DiT linears

    # self-attention at the steady-state shape (one query chunk, 4 key chunks), the official selection
    cfg_geom = Geometry(768, 1408, 48, 88, 6, 11)
    q = torch.randn(1, 12, n, 128, device=dev, dtype=bf)
    k, v = (torch.randn(1, 12, 4 * n, 128, device=dev, dtype=bf) for _ in range(2))
    ms = _bench_ms(lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v))
    dense = 4 * n * 4 * n * 1536
    row("sdpa dense (flash) 1x4 chunks", ms, dense)
    res["attention_dense"] = dense / ms * 1e3
    from torch.nn.attention.flex_attention import flex_attention

    flex = torch.compile(flex_attention, dynamic=False)
    grid = (2, 48, 88)
    for label, ratio in (("default", None), ("13.6%", topk_ratio_for_fraction(cfg_geom, 4, 0.136))):
        topk = A.topk_for(66, ratio if ratio is not None else A.topk_ratio_for(768, 1408, 2.0))
        mask = A.flashvsr_block_mask(q, k, grid, topk=topk, local_range=11)
        kept = float(mask.float().mean())
        bm = A.flex_block_mask(mask, element_mask=False)
        for opts in (None, {"BLOCK_M": 128, "BLOCK_N": 128, "num_warps": 8, "num_stages": 2},
                     {"BLOCK_M": 128, "BLOCK_N": 64, "num_warps": 8, "num_stages": 3},
                     {"BLOCK_M": 64, "BLOCK_N": 128, "num_warps": 4, "num_stages": 3},
                     {"USE_TMA": True}):  # fmt: skip
            try:
                ms = _bench_ms(
                    lambda bm=bm, opts=opts, q=q, k=k, v=v: flex(q, k, v, block_mask=bm, kernel_options=opts)
                )
            except Exception as e:  # noqa: BLE001 - an option this Triton/torch rejects is reported, not fatal
                print(json.dumps({"ceiling": f"flex {label} {opts}", "error": str(e)[:200]}), flush=True)
                continue
            row(f"flex {label} kept={kept:.3f} {json.dumps(opts)}", ms, dense * kept)
            if label == "default":
                res.setdefault("attention", 0.0)
                if dense * kept / ms * 1e3 > res["attention"]:
                    res["attention"], res["flex_options"] = dense * kept / ms * 1e3, opts  # type: ignore[assignment]

        def select(topk: int = topk, q: Any = q, k: Any = k) -> Any:
            return A.flex_block_mask(A.flashvsr_block_mask(q, k, grid, topk=topk, local_range=11))

        ms_mask = _bench_ms(select)
        row(f"block selection + BlockMask (eager) {label}", ms_mask)
    del q, k, v

    # LQ projection convs (conv1 of one 4-frame step: 2 cached + 4 frames -> 2 frames; conv2: 4 -> 1)
    from model.flashvsr.fast_convs import causal_conv3d_as_2d
    from model.flashvsr.lq_proj import CausalConv3d

    for cin, cout, t in ((768, 2048, 4), (2048, 3072, 2)):
        conv = CausalConv3d(cin, cout, (4, 3, 3), stride=(2, 1, 1), padding=(1, 1, 1)).to(dev, bf)
        xx = torch.randn(1, cin, t, 48, 88, device=dev, dtype=bf)
        cache = torch.randn(1, cin, 2, 48, 88, device=dev, dtype=bf)
        flops = 2 * ((t + 2 - 4) // 2 + 1) * 48 * 88 * cout * cin * 36
        ms = _bench_ms(lambda conv=conv, xx=xx, cache=cache: conv(xx, cache))
        row(f"LQ conv3d {cin}->{cout} NCDHW", ms, flops)
        conv_cl = conv.to(memory_format=torch.channels_last_3d)
        xcl = xx.contiguous(memory_format=torch.channels_last_3d)
        ms = _bench_ms(lambda conv=conv_cl, xx=xcl, cache=cache: conv(xx, cache))
        row(f"LQ conv3d {cin}->{cout} NDHWC", ms, flops)
        ms = _bench_ms(lambda conv=conv, xx=xx, cache=cache: causal_conv3d_as_2d(conv, xx, cache))
        row(f"LQ conv3d {cin}->{cout} as 2D NHWC", ms, flops)
        res["conv3d"] = flops / ms * 1e3
    # TCDecoder's largest convs: 128->128 3x3 on 4 frames at 768x1408; 512->512 at 96x176
    for cin, cout, nb, hh, ww in ((128, 128, 4, 768, 1408), (512, 512, 1, 96, 176), (256, 256, 1, 192, 352)):
        conv = torch.nn.Conv2d(cin, cout, 3, padding=1).to(dev, bf)
        xx = torch.randn(nb, cin, hh, ww, device=dev, dtype=bf)
        flops = 2 * nb * hh * ww * cout * cin * 9
        ms = _bench_ms(lambda conv=conv, xx=xx: conv(xx))
        row(f"conv2d {cin}->{cout} {nb}x{hh}x{ww} NCHW", ms, flops)
        conv = conv.to(memory_format=torch.channels_last)
        xx = xx.contiguous(memory_format=torch.channels_last)
        ms = _bench_ms(lambda conv=conv, xx=xx: conv(xx))
        row(f"conv2d {cin}->{cout} {nb}x{hh}x{ww} NHWC", ms, flops)
        if cin == 128:
            res["conv2d"] = flops / ms * 1e3
    _ = fast_dit
    return res


# ----------------------------------------------------------------------------------------------------------------
# streaming runs
# ----------------------------------------------------------------------------------------------------------------
def configure(model: Any, levers: set[str]) -> None:
    """Switch the fast paths on (`levers` among LEVERS) or back to the module path (empty set)."""
    import torch

    from model.flashvsr import fast_dit
    from model.flashvsr.fast_convs import channels_last_decoder, compile_decoder

    model.settings.backend = "fast" if "dit" in levers else "flex"
    model.lq_proj.fast_convs = "lq" in levers
    if "dec" in levers:
        channels_last_decoder(model.decoder)
    else:
        model.decoder.to(memory_format=torch.contiguous_format)
    model.output_uint8 = "u8" in levers
    compile_decoder(model.decoder, "decc" in levers)
    torch.backends.cudnn.benchmark = "cudnn" in levers
    fast_dit.FLEX_KERNEL_OPTIONS = {"USE_TMA": True} if "tma" in levers else None
    model.kv_bits = 8 if "kv8" in levers and "dit" in levers else 16


def as_float(frames: Any) -> Any:
    """Output frames as float in [0, 1] (uint8 output divided by 255)."""
    import torch

    return frames.float() / 255 if frames.dtype == torch.uint8 else frames.float()


def stream(model: Any, frames: Any, timed: bool = False, keep: bool = False) -> dict[str, Any]:
    """Upscale `frames` (T, 3, h, w) through model.stream in 8-frame pushes; FPS, peak memory, component ms."""
    import torch

    model.reset()
    model.timings = {} if timed else None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    n, outs = 0, []
    for out in model.stream(frames.split(8)):
        n += out.shape[0]
        if keep:
            outs.append(out)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    rec: dict[str, Any] = {"frames": n, "seconds": round(dt, 3), "fps": round(n / dt, 2),
                           "peak_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2)}  # fmt: skip
    if timed:
        per8 = {k: round(1e3 * v / (n / 8), 1) for k, v in model.timings.items()}
        per8["other"] = round(1e3 * dt / (n / 8) - sum(per8.values()), 1)
        rec["ms_per_8_frames"] = per8
        rec["peak_gb_during"] = {k: round(v / 1e9, 2) for k, v in model.peak_bytes.items()}
        model.timings = None
        model.peak_bytes = {}
    if keep:
        rec["output"] = torch.cat(outs)
    return rec


def psnr(a: Any, b: Any) -> float:
    """PSNR (dB) of frames in [0, 1]."""
    mse = float(((a.float() - b.float()) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; prints JSON lines and, last, the table."""
    import torch

    from model.flashvsr.build import build_flashvsr
    from model.flashvsr.config import FlashVSRConfig
    from model.flashvsr.stream import LOOKAHEAD, STEP
    from model.perf_model import Geometry, memory_estimate, steady_key_chunks, topk_ratio_for_fraction

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", default="540p,720p,768x1408,1080p,1440p,4k")
    ap.add_argument("--frames", type=int, default=101, help="frames per run up to 1080p")
    ap.add_argument("--big-frames", type=int, default=41, help="frames per run above 1080p")
    ap.add_argument("--psnr-frames", type=int, default=37, help="frames compared with the module path")
    ap.add_argument(
        "--levers",
        default=",".join(DEFAULT_LEVERS),
        help="fast paths to use ('' none): " + "; ".join(f"{k}: {v}" for k, v in LEVER_HELP.items()),
    )
    ap.add_argument("--ablate", action="store_true", help="first time each lever added in turn at the first --res")
    ap.add_argument("--baseline", action="store_true", help="also time the module path at each resolution")
    ap.add_argument("--kept", type=float, default=None, help="extra 768x1408 row at this kept fraction (0.136)")
    ap.add_argument("--ceilings", action="store_true", help="measure the card's rates at FlashVSR shapes first")
    ap.add_argument("--mode", default="tiny", choices=["tiny", "full"])
    ap.add_argument("--json", default=None, help="write every record to this file")
    ap.add_argument("--profile", default=None, help="write the top CUDA kernels of the first resolution's run here")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("model.bench needs a CUDA GPU")
        return 2
    levers = {x for x in args.levers.split(",") if x}
    import torch._dynamo.config as dynamo_config

    dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, 64)
    if levers - set(LEVERS):
        raise SystemExit(f"unknown levers {sorted(levers - set(LEVERS))} (known: {', '.join(LEVERS)})")
    records: dict[str, Any] = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                               "weights": "RANDOM bf16 (official files absent): speed/memory only"}  # fmt: skip
    print(json.dumps(records), flush=True)
    if args.ceilings:
        records["ceilings"] = {}
        records["ceiling_rates"] = measure_ceilings(records["ceilings"])
        print(json.dumps({"ceiling_rates": records["ceiling_rates"]}, default=str), flush=True)
    cfg = FlashVSRConfig.from_name("official")
    model = build_flashvsr("flashvsr-v1.1", mode=args.mode, device="cuda", dtype="bf16", allow_random_weights=True,
                           backend="flex")  # fmt: skip
    rows = []
    if args.ablate:
        records["ablation"] = ablate(model, cfg, parse_resolution(args.res.split(",")[0]), args.frames)
    plan = [(r, None) for r in args.res.split(",") if r]
    if args.kept is not None:
        plan.append(("768x1408", args.kept))
    for name, kept in plan:
        h, w = parse_resolution(name)
        geom = Geometry.of(h, w, cfg)
        model.settings.topk_ratio = (
            None if kept is None else topk_ratio_for_fraction(geom, steady_key_chunks(3.0), kept)
        )
        frames = args.frames if h * w <= 1088 * 1920 else args.big_frames
        est = memory_estimate(cfg, h, w)
        free, _ = torch.cuda.mem_get_info()
        print(json.dumps({"res": name, "vram_estimate_gb": {k: round(v, 2) for k, v in est.items()},
                          "free_gb": round(free / 1e9, 1)}), flush=True)  # fmt: skip
        g = torch.Generator().manual_seed(0)
        lr = torch.rand(frames, 3, h // 4, w // 4, generator=g)
        label = f"{name} ({h}x{w})" + ("" if kept is None else f" kept {kept:.1%}")
        row: dict[str, Any] = {"res": label, "frames": frames, "lookahead": LOOKAHEAD,
                               "latency_frames": STEP + LOOKAHEAD - 1}  # fmt: skip
        try:
            configure(model, levers)
            stream(model, lr[: min(frames, 33)])  # warm-up: compiles the first-step and steady-step graphs
            fast = stream(model, lr)
            timed = stream(model, lr, timed=True)
            row.update(
                fps=fast["fps"],
                peak_gb=fast["peak_gb"],
                ms=timed["ms_per_8_frames"],
                peak_gb_during=timed["peak_gb_during"],
            )
            if args.profile and not rows:
                _profile(model, lr, args.profile)
            if args.baseline or name == "768x1408":
                n_cmp = min(args.psnr_frames, frames)
                a = stream(model, lr[:n_cmp], keep=True)["output"]
                configure(model, set())
                b = stream(model, lr[:n_cmp], keep=True)["output"]
                row["psnr_vs_module_db"] = round(psnr(as_float(a), as_float(b)), 2)
                if args.baseline:
                    base = stream(model, lr)
                    row.update(base_fps=base["fps"], base_peak_gb=base["peak_gb"])
        except torch.OutOfMemoryError as e:
            row["error"] = f"out of memory: {str(e)[:120]}"
        torch.cuda.empty_cache()
        print(json.dumps({"row": row}), flush=True)
        rows.append(row)
    records["rows"] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1, default=str)
    _print_table(rows, records["device"], levers)
    return 0


def ablate(model: Any, cfg: Any, hw: tuple[int, int], frames: int) -> list[dict[str, Any]]:
    """Time the lever sets of ABLATION cumulatively at output size hw; one JSON line per set."""
    import torch

    h, w = hw
    lr = torch.rand(frames, 3, h // 4, w // 4, generator=torch.Generator().manual_seed(0))
    model.settings.topk_ratio = None
    out, levers = [], set()
    for added in ABLATION:
        levers |= set(added)
        rec: dict[str, Any] = {"ablation": f"{h}x{w}", "levers": ",".join(sorted(levers))}
        try:
            configure(model, levers)
            stream(model, lr[: min(frames, 33)])  # compiles what this set needs
            fast = stream(model, lr)
            timed = stream(model, lr, timed=True)
            rec.update(fps=fast["fps"], peak_gb=fast["peak_gb"], ms=timed["ms_per_8_frames"],
                       peak_gb_during=timed["peak_gb_during"])  # fmt: skip
        except Exception as e:  # noqa: BLE001 - a lever this torch rejects is reported and left out
            rec["error"] = f"{type(e).__name__}: {str(e)[:300]}"
            levers -= set(added)
        torch.cuda.empty_cache()
        print(json.dumps(rec), flush=True)
        out.append(rec)
    return out


def _profile(model: Any, frames: Any, path: str) -> None:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        stream(model, frames)
    with open(path, "w") as f:
        f.write(prof.key_averages().table(sort_by="cuda_time_total", row_limit=40, max_name_column_width=90))


def _print_table(rows: list[dict[str, Any]], device: str, levers: set[str]) -> None:
    print(f"\n{device}; fast paths: {','.join(sorted(levers)) or 'none (module path)'}")
    head = ["resolution", "frames", "FPS", "peak GB", "lookahead", "LQ ms", "DiT ms", "dec ms", "other ms", "PSNR dB",
            "module FPS"]  # fmt: skip
    print(" | ".join(head))
    for r in rows:
        ms = r.get("ms", {})
        cells = [r["res"], r["frames"], r.get("fps", r.get("error", "-")), r.get("peak_gb", "-"),
                 f"{r['lookahead']} (<= {r['latency_frames']})", ms.get("lq_proj", "-"), ms.get("dit", "-"),
                 ms.get("decoder", "-"), ms.get("other", "-"), r.get("psnr_vs_module_db", "-"),
                 r.get("base_fps", "-")]  # fmt: skip
        print(" | ".join(str(c) for c in cells))


if __name__ == "__main__":
    raise SystemExit(main())
