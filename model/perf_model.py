"""Cost model of one FlashVSR streaming step: FLOPs, minimum bytes and resident memory, per component.

A steady-state step turns 8 LR frames into 8 output frames: one 2-latent-frame query chunk through the DiT (keys:
the cached chunks + this one), two 4-frame LQ-projection steps and two TCDecoder calls of one latent frame each
(see `model.flashvsr.stream`). The counts are what the arithmetic needs, independent of any kernel:

- DiT linears, cross-attention and self-attention are counted analytically from the config (self-attention at the
  fraction of (query block, key block) tiles the official top-k rule keeps, which is deterministic: per head and
  query chunk it keeps min(topk, tiles the locality window allows)).
- The LQ projection and the TCDecoder are *run* on the meta device (no memory, no arithmetic) under a dispatch mode
  that records every convolution / matmul with PyTorch's own FLOP formulas, so the counts follow the modules' code.

Bytes are the minimum a kernel must move through device memory: inputs read once, outputs written once, weights read
once per step (bf16, 2 bytes). The floor of a component is max(FLOPs / compute ceiling, bytes / copy bandwidth).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from model.flashvsr.config import FlashVSRConfig


STEP_FRAMES = 8  # output frames per steady-state step
CONTEXT_TOKENS = 512  # the released prompt context (posi_prompt.pth) length
BYTES = 2  # bf16


@dataclass
class Cost:
    """One component of a step: FLOPs, minimum bytes, and which ceiling bounds it (`matmul`, `attention`,
    `conv3d`, `conv2d` or `memory`)."""

    name: str
    flops: float
    bytes: float
    unit: str
    detail: dict[str, Any] = field(default_factory=dict)

    def floor_ms(self, ceilings: dict[str, float]) -> float:
        """max(FLOPs / rate, bytes / bandwidth) in ms; `ceilings` maps a unit to FLOP/s and 'copy' to bytes/s."""
        t_flop = self.flops / ceilings[self.unit] if self.flops else 0.0
        return 1e3 * max(t_flop, self.bytes / ceilings["copy"])


# ----------------------------------------------------------------------------------------------------------------
# geometry and sparsity
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Geometry:
    """Token geometry of an output size (multiples of 128 px): latent grid, blocks, tokens per 2-frame chunk."""

    height: int
    width: int
    tokens_h: int  # tokens per frame row (output px / 16)
    tokens_w: int
    blocks_h: int  # attention blocks per chunk, rows x cols
    blocks_w: int

    @property
    def blocks_per_chunk(self) -> int:
        return self.blocks_h * self.blocks_w

    @property
    def chunk_tokens(self) -> int:
        return 2 * self.tokens_h * self.tokens_w

    @classmethod
    def of(cls, height: int, width: int, cfg: FlashVSRConfig) -> Geometry:
        px = 8 * cfg.patch_size[1]  # VAE stride x patch = output pixels per token
        hp, wp = -(-height // 128) * 128, -(-width // 128) * 128
        th, tw = hp // px, wp // px
        return cls(hp, wp, th, tw, th // cfg.attn_block[1], tw // cfg.attn_block[2])


def steady_key_chunks(kv_ratio: float) -> int:
    """2-frame key chunks a steady-state step attends to: the cache after the official eviction (one chunk dropped
    per call once it holds more than int(kv_ratio); the first call holds 3) plus the current chunk."""
    return max(int(kv_ratio), 2) + 1


def kept_tiles(
    geom: Geometry,
    key_chunks: int,
    *,
    sparse_ratio: float | None,
    local_range: int | None,
    topk_ratio: float | None = None,
    boundary: str = "truncated",
) -> dict[str, float]:
    """Tiles (query block x key block) per head and query chunk: total, allowed by the window, kept by top-k.

    Keeping the entries strictly above the (topk+1)-th largest softmax probability keeps min(topk, allowed) of them
    (entries outside the window have probability 0; ties among positive probabilities aside).
    """
    from model.flashvsr import attention as A

    lb = geom.blocks_per_chunk
    total = lb * lb * key_chunks
    if local_range is None:
        allowed = total
    else:
        win = A.local_window_mask(geom.blocks_h, geom.blocks_w, local_range, boundary)  # type: ignore[arg-type]
        allowed = int(win.sum()) * key_chunks
    ratio = topk_ratio
    if ratio is None and sparse_ratio is not None:
        ratio = A.topk_ratio_for(geom.height, geom.width, sparse_ratio)
    kept = allowed if ratio is None else min(min(A.topk_for(lb, ratio), total - 1), allowed)
    return {"total": total, "allowed": allowed, "kept": kept, "kept_fraction": kept / total}


def topk_ratio_for_fraction(geom: Geometry, key_chunks: int, fraction: float) -> float:
    """The topk_ratio that keeps `fraction` of the steady-state tiles (e.g. the paper's 13.6 %)."""
    lb = geom.blocks_per_chunk
    return (round(fraction * lb * lb * key_chunks) + 1.5) / (lb * lb)


# ----------------------------------------------------------------------------------------------------------------
# DiT (analytic)
# ----------------------------------------------------------------------------------------------------------------
def dit_costs(
    cfg: FlashVSRConfig,
    geom: Geometry,
    *,
    query_chunks: int = 1,
    key_chunks: int = 4,
    kept_fraction: float = 1.0,
    context_tokens: int = CONTEXT_TOKENS,
) -> list[Cost]:
    """DiT costs of one call on `query_chunks` 2-frame chunks attending to `key_chunks` chunks."""
    d, f, layers, heads = cfg.dim, cfg.ffn_dim, cfg.num_layers, cfg.num_heads
    n = geom.chunk_tokens * query_chunks
    nk = geom.chunk_tokens * key_chunks
    patch = math.prod(cfg.patch_size)
    # per token: self q,k,v,o + cross q,o (cross k,v come from the fixed context, once) + FFN
    block_params = 6 * d * d + 2 * d * f
    lin_flops = 2 * n * (block_params * layers + cfg.in_dim * patch * d + d * cfg.out_dim * patch)
    lin_flops += 2 * (cfg.freq_dim * d + d * d + 6 * d * d)  # timestep embedding (one token)
    weights = (block_params * layers + (cfg.in_dim + cfg.out_dim) * patch * d) * BYTES
    # activations through the linears: each reads its input, writes its output
    act = n * BYTES * layers * (3 * (d + d) + (d + d) + 2 * (d + d) + (d + f) + (f + d))
    linears = Cost("dit linears", lin_flops, weights + act, "matmul", {"tokens": n, "params": block_params * layers})
    dense_attn = 4 * n * nk * d * layers  # QK^T and PV over every head
    attn_bytes = layers * BYTES * (2 * n * d + 2 * nk * d)  # q in, out, k and v read once
    self_attn = Cost(
        "self-attention",
        dense_attn * kept_fraction,
        attn_bytes,
        "attention",
        {"dense_flops": dense_attn, "kept_fraction": kept_fraction, "key_tokens": nk, "heads": heads},
    )
    cross = Cost(
        "cross-attention",
        4 * n * context_tokens * d * layers,
        layers * BYTES * (2 * n * d + 2 * context_tokens * d),
        "attention",
    )
    # norms, RMSNorm/RoPE on q and k, modulation, gates, residuals: fused, about 12 passes over a (n, d) tensor per
    # layer (x in/out of norm1+modulate, q/k in/out of norm+RoPE, gate+residual twice, norm2/norm3, cache append)
    other = Cost("dit norms/RoPE/modulation", 0.0, layers * 12 * n * d * BYTES, "memory")
    return [linears, self_attn, cross, other]


# ----------------------------------------------------------------------------------------------------------------
# LQ projection and TCDecoder (counted by running them on the meta device)
# ----------------------------------------------------------------------------------------------------------------
def _count_ops(fn: Callable[[], object]) -> dict[str, dict[str, float]]:
    """Run `fn` (on meta tensors) and sum FLOPs and minimum bytes (inputs + weights + output, 2 bytes each) of its
    convolutions ('conv') and matrix products ('matmul')."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten
    from torch.utils.flop_counter import flop_registry

    kinds = {
        torch.ops.aten.convolution: "conv",
        torch.ops.aten.mm: "matmul",
        torch.ops.aten.addmm: "matmul",
        torch.ops.aten.bmm: "matmul",
    }
    totals: dict[str, dict[str, float]] = {}

    class Counter(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            kind = kinds.get(func.overloadpacket)
            if kind is not None:
                flops = flop_registry[func.overloadpacket](*args, **kwargs, out_val=out)
                ins = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
                nbytes = (sum(t.numel() for t in ins) + out.numel()) * BYTES
                slot = totals.setdefault(kind, {"flops": 0.0, "bytes": 0.0, "calls": 0})
                slot["flops"] += flops
                slot["bytes"] += nbytes
                slot["calls"] += 1
            return out

    with Counter():
        fn()
    return totals


def lq_proj_cost(cfg: FlashVSRConfig, geom: Geometry) -> Cost:
    """LQ projection of one steady step (8 frames at output size -> 2 latent frames of tokens)."""
    import torch

    from model.flashvsr.lq_proj import LQProjection

    with torch.device("meta"):
        lq = LQProjection.from_config(cfg).eval()
        lq.step(torch.zeros(1, cfg.lq_in_dim, 1, geom.height, geom.width))  # first call: fills the caches
        clip = torch.zeros(1, cfg.lq_in_dim, STEP_FRAMES, geom.height, geom.width)
        c = _count_ops(lambda: lq.step(clip))
    conv, mm = c.get("conv", {}), c.get("matmul", {})
    return Cost("LQ projection", conv["flops"] + mm.get("flops", 0.0), conv["bytes"] + mm.get("bytes", 0.0), "conv3d",
                {"conv_flops": conv["flops"], "linear_flops": mm.get("flops", 0.0)})  # fmt: skip


def tc_decoder_cost(cfg: FlashVSRConfig, geom: Geometry) -> Cost:
    """TCDecoder of one steady step: two calls of one latent frame + 4 LR conditioning frames each."""
    import torch

    from model.flashvsr.tc_decoder import TCDecoder

    lh, lw = geom.height // 8, geom.width // 8
    with torch.device("meta"):
        dec = TCDecoder.from_config(cfg).eval()
        lat = torch.zeros(1, 1, cfg.in_dim, lh, lw)
        dec.decode(lat, torch.zeros(1, cfg.lq_in_dim, 1, geom.height, geom.width))  # first call
        cond = torch.zeros(1, cfg.lq_in_dim, 4, geom.height, geom.width)
        c = _count_ops(lambda: [dec.decode(lat, cond) for _ in range(STEP_FRAMES // 4)])
    conv = c["conv"]
    return Cost("TCDecoder", conv["flops"], conv["bytes"], "conv2d", {"convs": conv["calls"]})


# ----------------------------------------------------------------------------------------------------------------
# a whole step, memory
# ----------------------------------------------------------------------------------------------------------------
def step_costs(
    cfg: FlashVSRConfig,
    height: int,
    width: int,
    *,
    sparse_ratio: float | None = 2.0,
    kv_ratio: float = 3.0,
    local_range: int | None = 11,
    topk_ratio: float | None = None,
) -> tuple[list[Cost], dict[str, float]]:
    """Costs of one steady-state step (8 output frames) at output size height x width, and the tile counts."""
    geom = Geometry.of(height, width, cfg)
    kc = steady_key_chunks(kv_ratio)
    tiles = kept_tiles(geom, kc, sparse_ratio=sparse_ratio, local_range=local_range, topk_ratio=topk_ratio)
    costs = dit_costs(cfg, geom, key_chunks=kc, kept_fraction=tiles["kept_fraction"])
    costs += [lq_proj_cost(cfg, geom), tc_decoder_cost(cfg, geom)]
    # colour fix (AdaIN, fp32 statistics) + uint8 output: read decoded frames and the upsampled LR, write uint8
    px = STEP_FRAMES * 3 * geom.height * geom.width
    costs.append(Cost("colour fix + uint8", 0.0, px * (BYTES + 4 + 1), "memory"))
    return costs, tiles


def param_count(cfg: FlashVSRConfig) -> dict[str, int]:
    """Parameters of the DiT, the LQ projection and the TCDecoder (built on the meta device)."""
    import torch

    from model.flashvsr.lq_proj import LQProjection
    from model.flashvsr.tc_decoder import TCDecoder
    from model.flashvsr.transformer import WanDiT

    with torch.device("meta"):
        mods = {"dit": WanDiT(cfg), "lq_proj": LQProjection.from_config(cfg), "tcdecoder": TCDecoder.from_config(cfg)}
    return {k: sum(p.numel() for p in m.parameters()) for k, m in mods.items()}


def memory_estimate(cfg: FlashVSRConfig, height: int, width: int, *, kv_ratio: float = 3.0) -> dict[str, float]:
    """Resident GPU memory in GB (bf16 weights and KV cache; the first step's activations, the largest) - the
    estimate printed before a benchmark run."""
    geom = Geometry.of(height, width, cfg)
    n_chunk = geom.chunk_tokens
    params = param_count(cfg)
    weights = sum(params.values()) * BYTES
    # KV cache: every layer holds the cached chunks plus the current one while it runs (k and v)
    kv = cfg.num_layers * 2 * steady_key_chunks(kv_ratio) * n_chunk * cfg.dim * BYTES
    context = cfg.num_layers * 2 * CONTEXT_TOKENS * cfg.dim * BYTES
    # first step: 3 query chunks; live: residual stream, FFN hidden, q/k/v, attention output
    n0 = 3 * n_chunk
    dit_act = n0 * BYTES * (cfg.ffn_dim + 6 * cfg.dim)
    # decoder: one latent frame -> 4 full-size frames at 128 channels, ~3 live tensors; colour fix on 21 frames fp32
    px = geom.height * geom.width
    dec_act = 4 * px * cfg.tc_channels[-1] * BYTES * 3
    colour = 21 * 3 * px * 4 * 4
    gb = {
        "weights": weights,
        "kv_cache": kv,
        "context_kv": context,
        "activations": max(dit_act, dec_act) + colour,
    }
    out = {k: v / 1e9 for k, v in gb.items()}
    out["total"] = sum(out.values())
    return out


def floor_table(costs: list[Cost], ceilings: dict[str, float]) -> list[dict[str, Any]]:
    """Rows (name, GFLOP, MB, floor ms) and a total."""
    rows = [
        {"component": c.name, "gflop": c.flops / 1e9, "mbytes": c.bytes / 1e6, "floor_ms": c.floor_ms(ceilings)}
        for c in costs
    ]
    rows.append({"component": "total", "gflop": sum(r["gflop"] for r in rows),
                 "mbytes": sum(r["mbytes"] for r in rows), "floor_ms": sum(r["floor_ms"] for r in rows)})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the per-step cost table (`python -m model.perf_model --height 768 --width 1408`)."""
    import argparse
    import json

    ap = argparse.ArgumentParser(description="FLOPs / bytes / floor per 8-frame step of official-size FlashVSR")
    ap.add_argument("--height", type=int, default=768)
    ap.add_argument("--width", type=int, default=1408)
    ap.add_argument("--sparse-ratio", type=float, default=2.0)
    ap.add_argument("--kept", type=float, default=None, help="target kept fraction instead (e.g. 0.136)")
    ap.add_argument("--kv-ratio", type=float, default=3.0)
    ap.add_argument("--local-range", type=int, default=11)
    ap.add_argument("--ceilings", default=None, help="JSON {unit: FLOP/s, copy: B/s} (default: H100 measured)")
    args = ap.parse_args(argv)
    cfg = FlashVSRConfig.from_name("official")
    topk_ratio = None
    if args.kept is not None:
        geom = Geometry.of(args.height, args.width, cfg)
        topk_ratio = topk_ratio_for_fraction(geom, steady_key_chunks(args.kv_ratio), args.kept)
    costs, tiles = step_costs(cfg, args.height, args.width, sparse_ratio=args.sparse_ratio, kv_ratio=args.kv_ratio,
                              local_range=args.local_range, topk_ratio=topk_ratio)  # fmt: skip
    ceilings = json.loads(args.ceilings) if args.ceilings else dict(H100_CEILINGS)
    print(json.dumps({"tiles": tiles, "ceilings": ceilings}))
    print(f"{'component':28s} {'GFLOP':>10s} {'MB':>10s} {'floor ms':>9s}")
    for r in floor_table(costs, ceilings):
        print(f"{r['component']:28s} {r['gflop']:10.1f} {r['mbytes']:10.1f} {r['floor_ms']:9.2f}")
    print(json.dumps({"memory_gb": memory_estimate(cfg, args.height, args.width, kv_ratio=args.kv_ratio)}))
    return 0


# Provisional ceilings (the H100 figures) until `model.bench --ceilings` measures them; FLOP/s, bytes/s.
H100_CEILINGS: dict[str, float] = {
    "matmul": 745e12,
    "attention": 600e12,
    "conv3d": 370e12,
    "conv2d": 500e12,
    "memory": 3.0e12,
    "copy": 3.0e12,
}


if __name__ == "__main__":
    raise SystemExit(main())
