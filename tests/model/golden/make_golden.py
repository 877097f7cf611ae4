"""Run the OFFICIAL FlashVSR code on seeded tiny weights and write `official_golden.json` (numbers only).

How the committed fixture was made (re-run to check or refresh it):

    git clone https://github.com/OpenImagingLab/FlashVSR upstream   # or the fork hamuzhan/FlashVSR
    git -C upstream checkout b527c6f285fb30df530f5febc8b45764a789c961
    PYTHONPATH=. .venv/bin/python tests/model/golden/make_golden.py --upstream upstream

Nothing of this project's model code is imported: the script loads the upstream files from the checkout (the
modified Wan DiT, the v1.1 `Causal_LQ4x_Proj`, the TCDecoder, `FlashVSRTinyPipeline` and the v1.1 tiny inference
script's input preparation and output conversion) and runs them in fp32 on the CPU, the way
`examples/WanVSR/infer_flashvsr_v1.1_tiny.py` does: `prepare_input_tensor` on a folder of LR PNG frames (PIL
bicubic x4, centre crop to multiples of 128, 4 repeated last frames, 8n+1 frames), the pipeline call with the
script's arguments (seed 0, kv_ratio 3, `topk_ratio = sparse_ratio * 768 * 1280 / (H * W)`, colour fix on), and
`tensor2video`. Sizes are the `tiny` preset's (tests/model/golden/seeded.py); the LQ projection's hidden widths,
hard-coded to 2048/3072 upstream, are set to the preset's 32/48 by building the same layers with the upstream
classes. Weights and context come from `seeded.seeded_state`, which the tests apply to this project's modules.

Stand-ins, irrelevant to the numbers except where said:
- `block_sparse_attn.block_sparse_attn_func` (a CUDA kernel) is replaced by its definition on the CPU: per head,
  softmax(q k^T / sqrt(D)) v over the (query block, key block) tiles its `base_blockmask` selects, a query row
  that selects no tile giving zeros (as the kernel's empty-row result);
- DiffSynth's `ModelManager` and state-dict hashing, and the script's model loading, are not used.

Recorded (per geometry of seeded.GEOMETRIES): the prepared LQ video, the noise, the LQ projection's outputs and the
DiT's x0 per streaming step, the attention masks' empty query-block rows, the TCDecoder output, the colour-fixed
frames in [-1, 1], and the uint8 frames of `tensor2video`; plus a low-contrast AdaIN pair (colour-fix domain).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn


sys.path.insert(0, str(Path(__file__).parent))
import seeded  # noqa: E402
from make_manifest import _load as load_file  # noqa: E402


FILES = {
    "dit": "diffsynth/models/wan_video_dit.py",
    "vae": "diffsynth/models/wan_video_vae.py",
    "flow": "diffsynth/schedulers/flow_match.py",
    "base": "diffsynth/pipelines/base.py",
    "tiny": "diffsynth/pipelines/flashvsr_tiny.py",
    "lq": "examples/WanVSR/utils/utils.py",
    "tc": "examples/WanVSR/utils/TCDecoder.py",
    "script": "examples/WanVSR/infer_flashvsr_v1.1_tiny.py",
}


def block_sparse_attn_func(q, k, v, cu_seqlens_q, cu_seqlens_k, head_mask_type, streaming_info, base_blockmask,  # noqa: ANN001, ANN201
                           max_seqlen_q, max_seqlen_k, p_dropout, deterministic=False, softmax_scale=None,  # noqa: ANN001
                           is_causal=False, exact_streaming=False, return_attn_probs=False):  # noqa: ANN001  # fmt: skip
    """Block-sparse attention on the CPU: q (Sq, H, D), k, v (Sk, H, D), base_blockmask (1, H, Sq/128, Sk/128)."""
    assert base_blockmask.shape[0] == 1 and not is_causal and p_dropout == 0.0
    bm = base_blockmask[0].bool()
    mask = bm.repeat_interleave(128, 1).repeat_interleave(128, 2)  # (H, Sq, Sk)
    scale = softmax_scale if softmax_scale is not None else q.shape[-1] ** -0.5
    scores = torch.einsum("qhd,khd->hqk", q.float(), k.float()) * scale
    scores = scores.masked_fill(~mask, float("-inf"))
    p = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # a row with no selected tile -> zeros
    return torch.einsum("hqk,khd->qhd", p, v.float()).to(q.dtype)


def _module(name: str, **attrs: Any) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__path__ = []  # type: ignore[attr-defined]
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m


def _load(name: str, path: Path) -> types.ModuleType:
    """An upstream file as module `name`, its relative imports resolved in name's parent package."""
    return load_file(name, path, package=name.rpartition(".")[0] or None)


def load_upstream(up: Path) -> dict[str, types.ModuleType]:
    """The upstream modules, loaded from the checkout under a private package name ("up")."""
    _module("block_sparse_attn", block_sparse_attn_func=block_sparse_attn_func)
    for pkg in ("up", "up.models", "up.schedulers", "up.pipelines"):
        _module(pkg)
    _module("up.models.utils", hash_state_dict_keys=lambda *a, **k: "")
    mods = {"dit": _load("up.models.wan_video_dit", up / FILES["dit"])}
    mods["vae"] = _load("up.models.wan_video_vae", up / FILES["vae"])
    sys.modules["up.models"].ModelManager = object  # type: ignore[attr-defined]  # not used
    mods["flow"] = _load("up.schedulers.flow_match", up / FILES["flow"])
    mods["base"] = _load("up.pipelines.base", up / FILES["base"])
    mods["tiny"] = _load("up.pipelines.flashvsr_tiny", up / FILES["tiny"])
    mods["lq"] = _load("up_lq_utils", up / FILES["lq"])
    mods["tc"] = _load("up_tcdecoder", up / FILES["tc"])
    _module("diffsynth", ModelManager=object, FlashVSRTinyPipeline=mods["tiny"].FlashVSRTinyPipeline)
    _module("utils")
    sys.modules["utils.utils"] = mods["lq"]
    sys.modules["utils.TCDecoder"] = mods["tc"]
    mods["script"] = _load("up_infer_v11_tiny", up / FILES["script"])
    return mods


def _seed_module(module: nn.Module) -> dict[str, list[int]]:
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    module.load_state_dict(seeded.seeded_state(shapes), strict=True)
    return {k: list(s) for k, s in shapes.items()}


def build_pipeline(mods: dict[str, types.ModuleType]) -> tuple[Any, dict[str, dict[str, list[int]]]]:
    """The official tiny pipeline on the CPU in fp32 with seeded tiny weights; returns it and the key layouts."""
    lqm = mods["lq"]
    pipe = mods["tiny"].FlashVSRTinyPipeline(device="cpu", torch_dtype=torch.float32)
    pipe.dit = mods["dit"].WanModel(**seeded.DIT).float()
    with torch.device("meta"):
        lq = lqm.Causal_LQ4x_Proj(in_dim=3, out_dim=seeded.DIT["dim"], layer_num=1)
    h1, h2 = seeded.LQ_HIDDEN
    lq.hidden_dim1, lq.hidden_dim2 = h1, h2
    lq.conv1 = lqm.CausalConv3d(3 * lq.ff * lq.hh * lq.ww, h1, (4, 3, 3), stride=(2, 1, 1), padding=(1, 1, 1))
    lq.norm1 = lqm.RMS_norm(h1, images=False)
    lq.conv2 = lqm.CausalConv3d(h1, h2, (4, 3, 3), stride=(2, 1, 1), padding=(1, 1, 1))
    lq.norm2 = lqm.RMS_norm(h2, images=False)
    lq.linear_layers = nn.ModuleList([nn.Linear(h2, seeded.DIT["dim"])])
    tc = mods["tc"].TAEHV(checkpoint_path=None, channels=seeded.TC_CHANNELS, latent_channels=seeded.TC_LATENT_CHANNELS)
    layouts = {"dit": _seed_module(pipe.dit), "lq_proj": _seed_module(lq), "tcdecoder": _seed_module(tc)}
    tc.clean_mem()
    pipe.dit.LQ_proj_in = lq
    pipe.TCDecoder = tc
    pipe.init_cross_kv(context_tensor=seeded.seeded_context())
    return pipe, layouts


def run_geometry(mods: dict[str, types.ModuleType], pipe: Any, key: str) -> dict[str, Any]:
    """Run the official script's path on geometry `key`; returns the stage summaries."""
    h, w, n, sparse_ratio = seeded.GEOMETRIES[key]
    script, tiny, dit_mod = mods["script"], mods["tiny"], mods["dit"]
    rec: dict[str, Any] = {"lq": [], "lq_pending": [], "x0": [], "noise_in": [], "empty_rows": [], "mask_rows": []}
    lq_stream = pipe.dit.LQ_proj_in.stream_forward

    def lq_forward(clip: torch.Tensor) -> Any:
        out = lq_stream(clip)
        if out is not None:
            rec["lq_pending"].append(out[0].clone())
        return out

    model_fn = tiny.model_fn_wan_video

    def model_fn_rec(dit: Any, x: torch.Tensor, **kw: Any) -> Any:
        rec["lq"].append(torch.cat(rec["lq_pending"], dim=1))  # this streaming step's LQ tokens
        rec["lq_pending"] = []
        pred, kc, vc = model_fn(dit, x=x, **kw)
        rec["noise_in"].append(x.clone())
        rec["x0"].append((x - pred).clone())
        return pred, kc, vc

    draft = dit_mod.generate_draft_block_mask

    def draft_rec(*a: Any, **kw: Any) -> torch.Tensor:
        m = draft(*a, **kw)
        rec["empty_rows"].append(int((~m.any(dim=-1)).sum()))
        rec["mask_rows"].append(int(m.shape[1] * m.shape[2]))
        return m

    decode = pipe.TCDecoder.decode_video

    def decode_rec(*a: Any, **kw: Any) -> torch.Tensor:
        y = decode(*a, **kw)
        rec["decoded"] = y.clone()
        return y

    pipe.dit.LQ_proj_in.stream_forward = lq_forward
    tiny.model_fn_wan_video = model_fn_rec
    dit_mod.generate_draft_block_mask = draft_rec
    pipe.TCDecoder.decode_video = decode_rec
    try:
        with tempfile.TemporaryDirectory() as tmp:
            from PIL import Image

            for i, frame in enumerate(seeded.lr_frames(h, w, n)):
                Image.fromarray(frame).save(Path(tmp) / f"{i:04d}.png")
            lq_video, th, tw, f, _ = script.prepare_input_tensor(tmp, scale=4, dtype=torch.float32, device="cpu")
        video = pipe(
            prompt="", negative_prompt="", cfg_scale=1.0, num_inference_steps=1, seed=0, LQ_video=lq_video,
            num_frames=f, height=th, width=tw, is_full_block=False, if_buffer=True,
            topk_ratio=sparse_ratio * 768 * 1280 / (th * tw), kv_ratio=seeded.KV_RATIO,
            local_range=seeded.LOCAL_RANGE[key], color_fix=True,
        )  # fmt: skip
        frames_u8 = np.stack([np.asarray(im) for im in script.tensor2video(video)])
    finally:
        pipe.dit.LQ_proj_in.stream_forward = lq_stream
        tiny.model_fn_wan_video = model_fn
        dit_mod.generate_draft_block_mask = draft
        pipe.TCDecoder.decode_video = decode
        pipe.TCDecoder.clean_mem()
    # the pipeline swallows colour-fix errors (`except: pass`): prove it ran by redoing it here
    fixed = tiny.TorchColorCorrectorWavelet(levels=5)(
        rec["decoded"].transpose(1, 2).mul(2).sub(1), lq_video[:, :, : rec["decoded"].shape[1]],
        clip_range=(-1, 1), chunk_size=16, method="adain",
    )[0]  # fmt: skip
    assert torch.equal(fixed, video), "the official colour fix did not run"
    noise = torch.cat([rec["noise_in"][0]] + [x for x in rec["noise_in"][1:]], dim=2)
    return {
        "geometry": {"lr": [h, w], "frames": n, "sparse_ratio": sparse_ratio, "local_range": seeded.LOCAL_RANGE[key],
                     "kv_ratio": seeded.KV_RATIO, "target": [th, tw], "padded_frames": f, "output_frames": f - 4},
        "input": seeded.summarize(lq_video),
        "noise": seeded.summarize(noise),
        "lq_proj": [seeded.summarize(x) for x in rec["lq"]],
        "dit_x0": [seeded.summarize(x) for x in rec["x0"]],
        "mask_empty_rows": rec["empty_rows"],
        "mask_rows": rec["mask_rows"],
        "tcdecoder": seeded.summarize(rec["decoded"]),
        "output": seeded.summarize(video),
        "output_uint8": seeded.summarize(frames_u8),
    }  # fmt: skip


def low_contrast_adain(mods: dict[str, types.ModuleType]) -> dict[str, Any]:
    """The official AdaIN colour fix (in [-1, 1], clamped) on a low-contrast pair from `seeded.low_contrast_pair`."""
    content, ref = seeded.low_contrast_pair()
    out = mods["tiny"].TorchColorCorrectorWavelet(levels=5)(
        (content * 2 - 1).transpose(0, 1)[None], (ref * 2 - 1).transpose(0, 1)[None], clip_range=(-1, 1),
        method="adain",
    )  # fmt: skip
    return seeded.summarize((out[0].transpose(0, 1) + 1) / 2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", type=Path, required=True, help="checkout of OpenImagingLab/FlashVSR")
    ap.add_argument("--commit", default=None, help="commit of that checkout (read with git if omitted)")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("official_golden.json"))
    args = ap.parse_args(argv)
    commit = args.commit or subprocess.check_output(["git", "-C", str(args.upstream), "rev-parse", "HEAD"], text=True)
    commit = commit.strip()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    mods = load_upstream(args.upstream)
    pipe, layouts = build_pipeline(mods)
    doc = {
        "header": {
            "source": "https://github.com/OpenImagingLab/FlashVSR",
            "commit": commit,
            "made_by": "tests/model/golden/make_golden.py (fp32, CPU)",
            "torch": torch.__version__,
            "files": FILES,
            "num_params": {k: sum(math.prod(s) for s in v.values()) for k, v in layouts.items()},
        },
        "layouts": {k: {"tensors": len(v), "sha256": seeded.layout_digest(v)} for k, v in layouts.items()},
        "adain_low_contrast": low_contrast_adain(mods),
        "geometries": {key: run_geometry(mods, pipe, key) for key in seeded.GEOMETRIES},
    }
    args.out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    g = doc["geometries"]
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes); empty mask rows: "
          f"{ {k: v['mask_empty_rows'] for k, v in g.items()} }")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
