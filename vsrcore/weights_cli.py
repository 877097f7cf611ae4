"""`flashvsr weights list`: every known weights set, found or missing, and where it comes from."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the weights arguments."""
    parser.add_argument("action", choices=["list"], help="list: show each weights set and its files")
    parser.add_argument("--weights-dir", help="folder searched first (also $FLASHVSR_WEIGHTS)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List weights with status."""
    from vsrcore.weights import WEIGHTS, search_dirs, weight_status

    print("searched: " + ", ".join(str(d) for d in search_dirs(args.weights_dir)))
    for name, spec in WEIGHTS.items():
        found, missing = weight_status(name, args.weights_dir)
        state = "present" if not missing else f"missing {', '.join(missing)}"
        print(f"{name:16s} {state}  [{spec.used_by}; from {spec.source}]")
    return 0
