"""GPU benchmark of the official-size FlashVSR path (random bf16 weights: the official files are not on the GPU
machine; speed and memory do not depend on weight values, output quality does and is not measured).

    python -m model.bench [--frames 101] [--height 768 --width 1408] [--ref-frames 41] [--mode tiny]

Prints, for output size HxW at x4 (LR H/4 x W/4): FPS, peak GPU memory and per-component seconds (LQ projection,
DiT, decoder) with the FlexAttention block-sparse backend, the same for the dense masked reference backend (on
`--ref-frames` frames), whether the two backends agree on the first step, and streaming memory flatness (peak
memory for N vs 2N frames).
"""

from __future__ import annotations

import argparse
import json
import time


def _run(model, frames, torch):  # noqa: ANN001, ANN202
    model.reset()
    model.timings = {}
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    n = 0
    for out in model.stream(frames.split(8)):
        n += out.shape[0]
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"frames": n, "seconds": round(dt, 3), "fps": round(n / dt, 3),
            "peak_gb": round(torch.cuda.max_memory_allocated() / 1e9, 3),
            "components_s": {k: round(v, 3) for k, v in model.timings.items()}}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; prints one JSON object per measurement."""
    import torch

    from model.flashvsr.pipeline import build_flashvsr

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=101)
    ap.add_argument("--ref-frames", type=int, default=41)
    ap.add_argument("--height", type=int, default=768)
    ap.add_argument("--width", type=int, default=1408)
    ap.add_argument("--mode", default="tiny", choices=["tiny", "full"])
    ap.add_argument("--skip-reference", action="store_true")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("model.bench needs a CUDA GPU")
        return 2
    print(json.dumps({"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                      "weights": "RANDOM bf16 (official files absent): speed/memory only"}))  # fmt: skip
    g = torch.Generator().manual_seed(0)
    lr = torch.rand(2 * args.frames, 3, args.height // 4, args.width // 4, generator=g)
    model = build_flashvsr("flashvsr-v1.1", mode=args.mode, device="cuda", dtype="bf16", allow_random_weights=True,
                           backend="flex")  # fmt: skip
    _run(model, lr[:41], torch)  # warm-up: compiles FlexAttention
    res = _run(model, lr[: args.frames], torch)
    print(json.dumps({"run": f"flex {args.mode} {args.height}x{args.width}", **res}))
    res2 = _run(model, lr, torch)
    print(json.dumps({"run": f"flex {args.mode} flatness: {args.frames} vs {2 * args.frames} frames",
                      "peak_gb_N": res["peak_gb"], "peak_gb_2N": res2["peak_gb"], "fps_2N": res2["fps"]}))  # fmt: skip
    # agreement of the backends on the first step (21 frames)
    model.reset()
    a = torch.cat(list(model.stream([lr[:21]])))
    model.settings.backend = "reference"
    b = torch.cat(list(model.stream([lr[:21]])))
    print(json.dumps({"run": "flex vs reference, first step (21 frames, bf16, uint8-scale diff)",
                      "max_abs_255": round(float((a - b).abs().max()) * 255, 3),
                      "mean_abs_255": round(float((a - b).abs().mean()) * 255, 4)}))  # fmt: skip
    if not args.skip_reference:
        res = _run(model, lr[: args.ref_frames], torch)
        print(json.dumps({"run": f"reference (dense masked SDPA) {args.mode} {args.height}x{args.width}", **res}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
