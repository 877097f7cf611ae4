"""Derive `official_manifest.json` (state-dict key -> shape) from the official FlashVSR module definitions.

How the committed manifest was made (re-run to check or refresh it):

    git clone https://github.com/OpenImagingLab/FlashVSR upstream   # or a fork carrying its history
    git -C upstream checkout b527c6f285fb30df530f5febc8b45764a789c961
    .venv/bin/python tests/model/golden/make_manifest.py --upstream upstream \
        --commit b527c6f285fb30df530f5febc8b45764a789c961 --out tests/model/golden/official_manifest.json

The script imports the three upstream source files *from that checkout* (nothing of this project is imported,
so the manifest is an independent witness of the official layout), builds each module on the `meta` device
with the constructor arguments the released v1.1 inference scripts use, and writes `{key: shape}` per module:

- `dit`:       `diffsynth/models/wan_video_dit.py:WanModel` with the Wan2.1-T2V-1.3B config that DiffSynth's
               ModelManager picks for `diffusion_pytorch_model_streaming_dmd.safetensors`.
- `lq_proj`:   `examples/WanVSR/utils/utils.py:Causal_LQ4x_Proj(in_dim=3, out_dim=1536, layer_num=1)`
               (`Buffer_LQ4x_Proj`, used by v1, is checked to have the same keys and shapes).
- `tcdecoder`: `examples/WanVSR/utils/TCDecoder.py:TAEHV(checkpoint_path=None, channels=[512, 256, 128, 128],
               latent_channels=16 + 768)`, which is what `build_tcdecoder(new_latent_channels=16+768)` builds.
- `vae_decoder`: `diffsynth/models/wan_video_vae.py:VideoVAE_(z_dim=16, dim=96)` (what `WanVideoVAE()` wraps as
               `.model`, the layout of `Wan2.1_VAE.pth`), keeping only the decoder side (`conv2.*`, `decoder.*`):
               the Full pipeline sets the encoder and `conv1` to None after loading.

Imports the upstream files need but that are irrelevant to module structure (the Block-Sparse-Attention CUDA
kernel, DiffSynth's key-hash helper, `einops`, which only the VAE's forward uses) are replaced by stubs while the
files load.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import subprocess
import sys
import types
from pathlib import Path


DIT_CONFIG = {
    "dim": 1536,
    "in_dim": 16,
    "ffn_dim": 8960,
    "out_dim": 16,
    "text_dim": 4096,
    "freq_dim": 256,
    "eps": 1e-6,
    "patch_size": [1, 2, 2],
    "num_heads": 12,
    "num_layers": 30,
}
FILES = {
    "dit": "diffsynth/models/wan_video_dit.py",
    "lq_proj": "examples/WanVSR/utils/utils.py",
    "tcdecoder": "examples/WanVSR/utils/TCDecoder.py",
    "vae_decoder": "diffsynth/models/wan_video_vae.py",
}
VAE_DECODER_PREFIXES = ("conv2.", "decoder.")


def _load(name: str, path: Path, package: str | None = None) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if package:
        module.__package__ = package
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _stub_upstream_imports() -> None:
    bsa = types.ModuleType("block_sparse_attn")
    bsa.block_sparse_attn_func = None  # type: ignore[attr-defined]
    sys.modules.setdefault("block_sparse_attn", bsa)
    pkg = types.ModuleType("upstream_models")
    pkg.__path__ = []  # type: ignore[attr-defined]
    sys.modules["upstream_models"] = pkg
    utils = types.ModuleType("upstream_models.utils")
    utils.hash_state_dict_keys = lambda *a, **k: ""  # type: ignore[attr-defined]
    sys.modules["upstream_models.utils"] = utils
    try:
        import einops  # noqa: F401
    except ImportError:
        stub = types.ModuleType("einops")
        stub.rearrange = stub.repeat = None  # type: ignore[attr-defined]
        sys.modules["einops"] = stub


def _shapes(module) -> dict[str, list[int]]:  # noqa: ANN001
    return {k: list(v.shape) for k, v in module.state_dict().items()}


def derive(upstream: Path) -> dict[str, dict[str, list[int]]]:
    """Build the official modules on `meta` from the upstream sources and return {module: {key: shape}}."""
    import torch

    _stub_upstream_imports()
    dit_mod = _load("upstream_models.wan_video_dit", upstream / FILES["dit"], package="upstream_models")
    lq_mod = _load("upstream_lq_utils", upstream / FILES["lq_proj"])
    tc_mod = _load("upstream_tcdecoder", upstream / FILES["tcdecoder"])
    vae_mod = _load("upstream_models.wan_video_vae", upstream / FILES["vae_decoder"], package="upstream_models")
    with torch.device("meta"):
        dit = dit_mod.WanModel(**DIT_CONFIG)
        lq = lq_mod.Causal_LQ4x_Proj(in_dim=3, out_dim=1536, layer_num=1)
        lq_v1 = lq_mod.Buffer_LQ4x_Proj(in_dim=3, out_dim=1536, layer_num=1)
        tc = tc_mod.TAEHV(checkpoint_path=None, channels=[512, 256, 128, 128], latent_channels=16 + 768)
        vae = vae_mod.VideoVAE_(z_dim=16, dim=96)
    assert _shapes(lq) == _shapes(lq_v1), "v1 and v1.1 LQ projections differ in layout"
    vae_dec = {k: v for k, v in _shapes(vae).items() if k.startswith(VAE_DECODER_PREFIXES)}
    return {"dit": _shapes(dit), "lq_proj": _shapes(lq), "tcdecoder": _shapes(tc), "vae_decoder": vae_dec}


def _dump(header: dict, modules: dict[str, dict[str, list[int]]]) -> str:
    """JSON with one tensor per line, so that a diff of the manifest reads key by key."""
    lines = ["{", f' "header": {json.dumps(header, indent=1).replace(chr(10), chr(10) + " ")},', ' "modules": {']
    for i, (name, keys) in enumerate(modules.items()):
        lines.append(f"  {json.dumps(name)}: {{")
        rows = [f"   {json.dumps(k)}: {json.dumps(v)}" for k, v in keys.items()]
        lines.append(",\n".join(rows))
        lines.append("  }" + ("," if i < len(modules) - 1 else ""))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", type=Path, required=True, help="checkout of OpenImagingLab/FlashVSR")
    ap.add_argument("--commit", default=None, help="commit of that checkout (read with git if omitted)")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("official_manifest.json"))
    args = ap.parse_args(argv)
    commit = args.commit or subprocess.check_output(["git", "-C", str(args.upstream), "rev-parse", "HEAD"], text=True)
    modules = derive(args.upstream)
    header = {
        "source": "https://github.com/OpenImagingLab/FlashVSR",
        "commit": commit.strip(),
        "note": (
            "Code files unchanged since the v1.1 commit 914dcd4 (later commits touch README.md only); read from the "
            "public fork hamuzhan/FlashVSR, which carries upstream history up to b527c6f."
        ),
        "files": {k: FILES[k] for k in modules},
        "constructors": {
            "dit": f"WanModel(**{json.dumps(DIT_CONFIG)})",
            "lq_proj": "Causal_LQ4x_Proj(in_dim=3, out_dim=1536, layer_num=1); Buffer_LQ4x_Proj (v1) identical",
            "tcdecoder": "TAEHV(checkpoint_path=None, channels=[512, 256, 128, 128], latent_channels=784)",
            "vae_decoder": "VideoVAE_(z_dim=16, dim=96), keys starting with conv2. or decoder.",
        },
        "made_by": "tests/model/golden/make_manifest.py",
        "num_tensors": {k: len(v) for k, v in modules.items()},
        "num_params": {k: sum(math.prod(s) for s in v.values()) for k, v in modules.items()},
    }
    args.out.write_text(_dump(header, modules))
    print(f"wrote {args.out}: {header['num_tensors']} tensors, {header['num_params']} parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
