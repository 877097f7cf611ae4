"""`flashvsr info`: package versions, compute devices, codecs, sample media and weights status."""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata


STACK = (
    "flashvsr",
    "torch",
    "torchvision",
    "numpy",
    "pandas",
    "pyarrow",
    "av",
    "decord",
    "scenedetect",
    "ray",
    "pyiqa",
    "lpips",
    "open-clip-torch",
    "imageio-ffmpeg",
    "safetensors",
    "scikit-video",
    "scikit-image",
)


def versions() -> dict[str, str | None]:
    """Installed version of each stack package (None when absent), read without importing them."""
    out: dict[str, str | None] = {}
    for dist in STACK:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def devices() -> list[str]:
    """Compute devices torch can use ("cpu" always; CUDA devices with name and memory)."""
    found = ["cpu"]
    try:
        import torch
    except ImportError:
        return found
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            prop = torch.cuda.get_device_properties(i)
            found.append(f"cuda:{i} {prop.name} ({prop.total_memory / 2**30:.0f} GiB)")
    return found


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the info arguments."""
    parser.add_argument("--weights-dir", help="folder searched first for weights (also $FLASHVSR_WEIGHTS)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the report."""
    from vsrcore.samples import list_samples
    from vsrcore.weights import WEIGHTS, search_dirs, weight_status

    print(f"python      {sys.version.split()[0]} ({platform.platform()})")
    for dist, ver in versions().items():
        print(f"{dist:16s}{ver or 'not installed'}")
    try:
        import av

        encoders = [
            c for c in ("libx264", "libx265", "ffv1", "libx264rgb", "mpeg4", "libsvtav1") if c in av.codecs_available
        ]
        print(f"ffmpeg (PyAV)   {av.ffmpeg_version_info}; encoders: {', '.join(encoders)}")
    except ImportError:
        print("ffmpeg (PyAV)   not installed")
    print("devices         " + "; ".join(devices()))
    samples = list_samples()
    have = [s.name for s in samples if s.available()]
    print(
        f"sample media    {len(have)}/{len(samples)} available"
        + (
            f" (missing: {', '.join(s.name for s in samples if s.name not in have)})"
            if len(have) < len(samples)
            else ""
        )
    )
    print("weights         searched: " + ", ".join(str(d) for d in search_dirs(args.weights_dir)))
    for name in WEIGHTS:
        _, missing = weight_status(name, args.weights_dir)
        print(f"  {name:16s}{'present' if not missing else 'MISSING: ' + ', '.join(missing)}")
    return 0
