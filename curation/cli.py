"""`flashvsr curate INPUT... --out DIR`: raw footage and photos -> VSR shards (Ray Data, local or a cluster)."""

from __future__ import annotations

import argparse

from vsrcore.limits import add_max_pixels_argument, set_max_pixels


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the curate arguments."""
    from curation import PRESETS

    parser.add_argument("inputs", nargs="+", help="folders, files, globs, or .txt/.parquet lists of paths")
    parser.add_argument("--out", required=True, help="shard directory (re-running on it resumes)")
    parser.add_argument("--preset", default="vsr120k", choices=PRESETS.names())
    parser.add_argument("--address", help="an existing Ray cluster (default: start Ray on this machine)")
    parser.add_argument("--local", action="store_true", help="run in this process without Ray (debugging)")
    parser.add_argument("--num-cpus", type=int, help="CPUs for the local Ray (default: all)")
    parser.add_argument(
        "--require",
        default="",
        help="comma list of scorers that must run (e.g. aesthetic,musiq); "
        "stops before any work if their weights are missing",
    )
    parser.add_argument("--val-sources", default="",
                        help="comma list of file names always put in the val (held-out) split")  # fmt: skip
    parser.add_argument("--weights-dir", help="folder searched first for weights (also $FLASHVSR_WEIGHTS)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    add_max_pixels_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the pipeline and print the summary."""
    from dataclasses import replace

    from curation import PRESETS
    from curation.pipeline import curate

    set_max_pixels(args.max_pixels)
    config = PRESETS.build(args.preset)
    extra = tuple(v.strip() for v in args.val_sources.split(",") if v.strip())
    if extra:
        config = replace(config, val_sources=tuple(sorted({*config.val_sources, *extra})))
    summary = curate(
        args.inputs,
        args.out,
        config,
        backend="local" if args.local else "ray",
        address=args.address,
        require=tuple(r for r in args.require.split(",") if r),
        weights_dir=args.weights_dir,
        progress=not args.quiet,
        num_cpus=args.num_cpus,
    )
    print(
        f"{summary['clips']} clips ({summary['frames']} frames, {summary['hours'] * 3600:.1f} s) and "
        f"{summary['photos']} photos in {args.out}; {summary['quarantined']} inputs quarantined; "
        f"report: {args.out}/report/summary.md"
    )
    return 0
