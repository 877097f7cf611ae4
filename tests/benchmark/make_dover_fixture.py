"""Run the official DOVER code with seeded random weights on synthetic clips; write its numbers as a fixture.

How the committed fixture was made (re-run to check or refresh it):

    git clone https://github.com/VQAssessment/DOVER upstream
    git -C upstream checkout f1ddc96215bc7fbcf8f315c65d47905f339c3419
    PYTHONPATH=$PWD .venv/bin/python tests/benchmark/make_dover_fixture.py --upstream upstream \\
        --out tests/benchmark/data/dover_official.json

The script imports the upstream package `dover` and the two evaluation scripts *from that checkout* (no project
code; only the input recipes in `dover_inputs.py`) and does what `evaluate_one_video.py` does:

1. builds `DOVER(**dover.yml model.args)` and loads, strictly, the seeded random state dict of `dover_inputs`;
2. writes each synthetic clip as a lossless FFV1 (bgr0) file (checked to decode back bit-exactly with decord) and
   runs upstream's `spatial_temporal_view_decomposition` on it with the `UnifiedFrameSampler`s built from the
   `val-l1080p` sample types, with numpy's and torch's global generators seeded;
3. normalises and reshapes the views with `evaluate_one_video.mean/std` as its main block does, runs the model,
   and fuses with `evaluate_one_video.fuse_results` (overall) and `evaluate_a_set_of_videos.fuse_results`
   (technical, aesthetic and overall x100, which that script writes to its CSV).

It records the random draws (frame indices from the samplers, fragment offsets from `torch.randint`, captured as
upstream makes them), digests of the uint8 views, statistics of the normalised views, the head maps' means, and
the fused scores. The test feeds the recorded draws to our implementation.

One replacement while building the model: `convnext_3d_tiny(pretrained=True)` would download ImageNet ConvNeXt
weights to initialise the aesthetic branch; it is built with `pretrained=False` instead, since every weight is
then replaced by the seeded state dict. Nothing else is stubbed (timm, einops, decord, cv2, scikit-video are
installed).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch


sys.path.insert(0, str(Path(__file__).resolve().parent))
from dover_inputs import CLIPS, WEIGHTS_SEED, layout_digest, seeded_state_dict, synthetic_clip, tensor_digest  # noqa: E402


def write_lossless(frames: np.ndarray, path: Path) -> None:
    """uint8 (T, H, W, 3) -> FFV1 bgr0 in Matroska, verified to decode back identically with decord."""
    import av
    import decord

    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "bgr0"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    vr = decord.VideoReader(str(path))
    batch = vr.get_batch(list(range(len(vr))))  # upstream switches decord to its torch bridge on import
    back = batch.numpy() if isinstance(batch, torch.Tensor) else batch.asnumpy()
    if not np.array_equal(back, frames):
        raise SystemExit(f"{path}: decord does not decode the lossless file back exactly")


@contextlib.contextmanager
def recording_randint() -> Iterator[list[torch.Tensor]]:
    """Capture every `torch.randint` result drawn inside the block (upstream's fragment offsets)."""
    draws: list[torch.Tensor] = []
    original = torch.randint

    def recorder(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        out = original(*args, **kwargs)
        draws.append(out.clone())
        return out

    torch.randint = recorder
    try:
        yield draws
    finally:
        torch.randint = original


def build_upstream(upstream: Path):  # noqa: ANN201
    """(dover package modules, evaluate_one_video, evaluate_a_set_of_videos, dover.yml options, model)."""
    import yaml

    sys.path.insert(0, str(upstream))
    evaluator = importlib.import_module("dover.models.evaluator")
    datasets = importlib.import_module("dover.datasets")
    one = importlib.import_module("evaluate_one_video")
    many = importlib.import_module("evaluate_a_set_of_videos")
    imagenet_init = evaluator.convnext_3d_tiny
    evaluator.convnext_3d_tiny = lambda pretrained=False, **kw: imagenet_init(pretrained=False, **kw)
    opt = yaml.safe_load((upstream / "dover.yml").read_text())
    model = evaluator.DOVER(**opt["model"]["args"])
    model.load_state_dict(seeded_state_dict(model.state_dict()), strict=True)
    return datasets, one, many, opt, model


def run_case(name: str, datasets, one, many, opt, model, tmp: Path) -> dict:  # noqa: ANN001
    frames, height, width, seed = CLIPS[name]
    clip = synthetic_clip(frames, height, width, seed)
    path = tmp / f"{name}.mkv"
    write_lossless(clip, path)
    dopt = opt["data"]["val-l1080p"]["args"]
    samplers = {}
    for stype, sopt in dopt["sample_types"].items():  # as in evaluate_one_video.py
        if "t_frag" not in sopt:
            samplers[stype] = datasets.UnifiedFrameSampler(sopt["clip_len"], sopt["num_clips"], sopt["frame_interval"])
        else:
            samplers[stype] = datasets.UnifiedFrameSampler(
                sopt["clip_len"] // sopt["t_frag"], sopt["t_frag"], sopt["frame_interval"], sopt["num_clips"]
            )
    np.random.seed(seed)
    torch.manual_seed(seed)
    with recording_randint() as draws:
        views, frame_inds = datasets.spatial_temporal_view_decomposition(str(path), dopt["sample_types"], samplers)
    tech = dopt["sample_types"]["technical"]
    chunks = len(frame_inds["technical"]) // tech["aligned"]
    offsets = []
    for res, frag, fsize in (
        (height, tech["fragments_h"], tech["fsize_h"]),
        (width, tech["fragments_w"], tech["fsize_w"]),
    ):
        # get_spatial_fragments draws rows then columns, each only when the grid cell is wider than a fragment
        offsets.append(draws.pop(0) if res // frag > fsize else torch.zeros((frag, frag, chunks), dtype=torch.int64))
    assert not draws, f"unexpected torch.randint draws: {len(draws)}"

    case = {
        "clip": {"frames": frames, "height": height, "width": width, "seed": seed},
        "sample": {
            "technical_frames": [int(i) for i in frame_inds["technical"]],
            "aesthetic_frames": [int(i) for i in frame_inds["aesthetic"]],
            "offsets_shape": list(offsets[0].shape),
            "offsets_h": offsets[0].reshape(-1).tolist(),
            "offsets_w": offsets[1].reshape(-1).tolist(),
        },
        "views_uint8": {},
        "views_normalised": {},
    }
    for k, v in views.items():
        assert torch.equal(v.float().round(), v.float()), f"{k} view is not integer-valued"
        case["views_uint8"][k] = {"shape": list(v.shape), "sha256": tensor_digest(v.to(torch.uint8))}
    for k, v in views.items():  # the main block of evaluate_one_video.py
        num_clips = dopt["sample_types"][k].get("num_clips", 1)
        views[k] = (
            ((v.permute(1, 2, 3, 0) - one.mean) / one.std)
            .permute(3, 0, 1, 2)
            .reshape(v.shape[0], num_clips, -1, *v.shape[2:])
            .transpose(0, 1)
        )
        x = views[k].double()
        case["views_normalised"][k] = {"shape": list(views[k].shape), "mean": x.mean().item(), "std": x.std().item()}
    maps = model(views)
    results = [r.mean().item() for r in maps]
    case["heads"] = {
        k: {
            "shape": list(m.shape),
            "mean": m.mean().item(),
            "clip_means": m.mean((1, 2, 3, 4)).tolist(),
            "time_means": m.mean((0, 1, 3, 4)).tolist(),
        }
        for k, m in zip(views, maps, strict=True)
    }
    csv = many.fuse_results([results[1], results[0]])  # that script orders (aesthetic, technical)
    case["fused"] = {
        "overall": float(one.fuse_results(results)),
        "technical_x100": float(csv["technical"] * 100),
        "aesthetic_x100": float(csv["aesthetic"] * 100),
        "overall_x100": float(csv["overall"] * 100),
    }
    return case


def _dump(data: dict) -> str:
    """Indented JSON with every list of numbers on one line."""
    text = json.dumps(data, indent=1)
    return re.sub(r"\[\s+([-+0-9.eE,\s]+?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", type=Path, required=True, help="checkout of VQAssessment/DOVER")
    ap.add_argument("--commit", default=None, help="commit of that checkout (read with git if omitted)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "dover_official.json")
    args = ap.parse_args(argv)
    commit = args.commit or subprocess.check_output(["git", "-C", str(args.upstream), "rev-parse", "HEAD"], text=True)
    torch.set_grad_enabled(False)
    datasets, one, many, opt, model = build_upstream(args.upstream)
    state = model.state_dict()
    index = torch.cat([v.reshape(-1) for k, v in sorted(state.items()) if k.endswith("relative_position_index")])
    import torchvision

    out = {
        "header": {
            "source": "https://github.com/VQAssessment/DOVER",
            "commit": commit.strip(),
            "made_by": "tests/benchmark/make_dover_fixture.py",
            "config": "dover.yml: model.args, data.val-l1080p.args.sample_types (as evaluate_one_video.py)",
            "weights": f"dover_inputs.seeded_state_dict(seed={WEIGHTS_SEED})",
            "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__},
        },
        "state_dict": {
            "num_tensors": len(state),
            "layout_sha256": layout_digest(state),
            "relative_position_index_sha256": tensor_digest(index),
        },
        "cases": {},
    }
    with tempfile.TemporaryDirectory(prefix="dover-fixture-") as tmp:
        for name in CLIPS:
            out["cases"][name] = run_case(name, datasets, one, many, opt, model, Path(tmp))
            print(name, out["cases"][name]["fused"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(_dump(out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
