"""Export a run directory to the single-file `flashvsr-tiny.safetensors` bundle that `build_flashvsr` loads.

Keys (`model.flashvsr.build.load_bundle`): `dit.*`, `lq_proj.*` (the latest of stage 3, 2, 1), `tcdecoder.*`
(decoder stage), `vae_decoder.*` (stage 0's decoder, for mode "full"), `context`; safetensors metadata
`model_config`: the FlashVSRConfig the weights were trained with, as JSON (`build_flashvsr` builds from it).
A run with no DiT stage whose decoder stage was trained on zero latents (`decoder_latents="zero"`, the decoder-only
ablation) exports a decoder-only bundle: `tcdecoder.*` alone, `model_config.decoder_only` true.
"""

from __future__ import annotations

import json
from pathlib import Path

from training.checkpoint import latest_checkpoint, load_checkpoint, part_state
from vsrcore.errors import UserFacingError


def export_bundle(run_dir: str | Path, out: str | Path | None = None, preset: str = "flashvsr-tiny", *,
                  half: bool = False, tiny_only: bool = False) -> Path:  # fmt: skip
    """Write the bundle (default RUN_DIR/<preset>.safetensors) plus a JSON listing its sources; returns the path.

    `tiny_only` leaves out stage 0's decoder (mode "full" then cannot load the bundle); `half` stores float16."""
    from safetensors.torch import save_file

    from vsrcore.atomic import atomic_path, write_json_atomic

    run = Path(run_dir)
    tensors, sources, model_cfg = {}, {}, None
    for stage in ("stage3", "stage2", "stage1"):
        p = latest_checkpoint(run / stage)
        if p is not None:
            t, meta = load_checkpoint(p)
            model_cfg = meta.get("model_config", model_cfg)
            tensors.update({f"dit.{k}": v for k, v in part_state(t, "dit").items()})
            tensors.update({f"lq_proj.{k}": v for k, v in part_state(t, "lq_proj").items()})
            tensors["context"] = t["context"]
            sources["dit"] = str(p)
            break
    decoders = (("decoder", "tcdecoder", "tcdecoder"), ("stage0", "ae.decoder", "vae_decoder"))
    zero_latents = False
    for stage, src, dst in decoders[:1] if tiny_only else decoders:
        p = latest_checkpoint(run / stage)
        if p is not None:
            t, meta = load_checkpoint(p)
            if dst == "tcdecoder":  # the decoder stage's config is the latest (it may resize the decoder)
                model_cfg = meta.get("model_config", model_cfg)
                zero_latents = meta.get("config", {}).get("options", {}).get("decoder_latents") == "zero"
            tensors.update({f"{dst}.{k}": v for k, v in part_state(t, src).items()})
            sources[dst] = str(p)
    if "dit" not in sources and zero_latents and model_cfg is not None:  # the decoder-only ablation's run
        model_cfg = {**model_cfg, "decoder_only": True}
        tensors = {k: v for k, v in tensors.items() if k.startswith("tcdecoder.")}
        sources = {"tcdecoder": sources["tcdecoder"]}
    elif "dit" not in sources or not ({"tcdecoder", "vae_decoder"} & set(sources)):
        raise UserFacingError(f"{run}: export needs a DiT stage (1-3) and a decoder (decoder stage or stage 0), "
                              "or a decoder stage trained on zero latents (decoder-only)")  # fmt: skip
    if tiny_only and "tcdecoder" not in sources:
        raise UserFacingError(f"{run}: a tiny-mode bundle needs the decoder stage's TCDecoder")
    path = Path(out) if out else run / f"{preset}.safetensors"
    dtype = "float16" if half else "float32"
    metadata = {"preset": preset, "dtype": dtype}
    if model_cfg is not None:
        metadata["model_config"] = json.dumps(model_cfg)
    with atomic_path(path) as tmp:
        save_file({k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in tensors.items()},
                  str(tmp), metadata=metadata)  # fmt: skip
    write_json_atomic(path.with_suffix(".json"), {"preset": preset, "dtype": dtype, "sources": sources,
                                                  "model_config": model_cfg})  # fmt: skip
    return path
