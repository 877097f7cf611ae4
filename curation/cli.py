"""`flashvsr curate INPUT... -o DIR`: raw footage and photos -> VSR shards (Ray Data, local or a cluster)."""

from __future__ import annotations

import argparse
import sys

from vsrcore.cliargs import add_output, add_set, info, override_fields, parse_set
from vsrcore.errors import EXIT_OK, EXIT_PARTIAL
from vsrcore.limits import add_input_limit_arguments, apply_input_limits


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the curate arguments."""
    from curation import PRESETS

    parser.add_argument("inputs", nargs="+", help="folders, files, globs, or .txt/.parquet lists of paths")
    add_output(parser, "shard directory (re-running on it resumes)")
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
    add_input_limit_arguments(parser)
    add_set(parser, "override a field of the preset's CurationConfig, e.g. --set min_short_side=720 or "
            "--set segments.window_s=4")  # fmt: skip
    parser.set_defaults(func=run)


def check_inputs(inputs: list[str]) -> None:
    """Every input names something: a path that exists or a glob that matches; MediaError naming it otherwise."""
    import glob
    from pathlib import Path

    from vsrcore.errors import MediaError

    for spec in inputs:
        if Path(spec).exists():
            continue
        if any(c in spec for c in "*?[") and glob.glob(spec, recursive=True):
            continue
        raise MediaError(spec, "no such file or folder" if not any(c in spec for c in "*?[") else "matches no file")


def run(args: argparse.Namespace) -> int:
    """Run the pipeline and print the summary; exit 3 when some inputs were quarantined (OUT/report lists them)."""
    from dataclasses import replace

    from curation import PRESETS
    from curation.pipeline import curate

    apply_input_limits(args)
    config = override_fields(PRESETS.build(args.preset), parse_set(args.set), "curation config field")
    check_inputs(args.inputs)
    extra = tuple(v.strip() for v in args.val_sources.split(",") if v.strip())
    if extra:
        config = replace(config, val_sources=tuple(sorted({*config.val_sources, *extra})))
    try:
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
    finally:
        from vsrcore.ray_cluster import shutdown_ray

        shutdown_ray()  # on Ctrl-C too: the local Ray's processes end with the command
    info(
        args,
        f"{summary['clips']} clips ({summary['frames']} frames, {summary['hours'] * 3600:.1f} s) and "
        f"{summary['photos']} photos in {args.out}; {summary['quarantined']} inputs quarantined; "
        f"report: {args.out}/report/summary.md",
    )
    if not summary["quarantined"]:
        return EXIT_OK
    import pandas as pd

    table = f"{args.out}/quarantine.parquet"
    first = pd.read_parquet(table).iloc[0]
    more = f" (and {summary['quarantined'] - 1} more)" if summary["quarantined"] > 1 else ""
    reason = str(first["reason"])
    named = reason if reason.startswith(str(first["path"])) else f"{first['path']}: {reason}"
    print(f"flashvsr curate: {named}{more}; quarantined inputs (file, stage, reason) are listed in {table}",
          file=sys.stderr)  # fmt: skip
    return EXIT_PARTIAL
