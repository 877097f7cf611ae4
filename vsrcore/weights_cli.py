"""`flashvsr weights list`: every known weights set, found or missing, where it comes from, how it is pinned."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    """List weights with status."""
    from vsrcore.pinned_weights import PINNED
    from vsrcore.weights import WEIGHTS, search_dirs, weight_status

    print("searched: " + ", ".join(str(d) for d in search_dirs(args.weights_dir)))
    for name, spec in WEIGHTS.items():
        found, missing = weight_status(name, args.weights_dir)
        state = "present" if not missing else f"missing {', '.join(missing)}"
        pins = sorted({PINNED[f].level if f in PINNED else "none" for f in spec.files})
        print(f"{name:16s} {state}  [{spec.used_by}; from {spec.source}; sha256 pin: {'/'.join(pins)}]")
    return 0
