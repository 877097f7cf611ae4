"""Pick the released run on validation results only: `python -m training.select_run RESULTS...`.

Each RESULTS folder is one `flashvsr bench` run of one candidate on the validation split (`--dataset
validation=DIR`). The score of a candidate is its mean PSNR gain over bicubic across clips and LQ variants
(records of method `flashvsr-tiny` minus `bicubic`, matched by clip and protocol); the best folder is printed last
as `selected: FOLDER`. The test split is never read here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vsrcore.errors import UserFacingError


def gain_over_bicubic(results: str | Path, method: str = "flashvsr-tiny", metric: str = "psnr") -> float:
    """Mean (method - bicubic) of `metric` over the records both have (same clip and protocol)."""
    import pandas as pd

    from leaderboard.board import load_records  # the benchmark's results layout, read without torch

    df = pd.DataFrame(load_records(results))
    if df.empty:
        raise UserFacingError(f"{results}: no result records")
    df = df[(df["metric"] == metric) & df["value"].notna()]
    key = ["dataset", "clip", "protocol_key"]
    ours = df[df["method"] == method].set_index(key)["value"]
    base = df[df["method"] == "bicubic"].set_index(key)["value"]
    both = ours.index.intersection(base.index)
    if both.empty:
        raise UserFacingError(f"{results}: no {metric} records of both {method} and bicubic")
    return float((ours[both] - base[both]).mean())


def summary_table(results: list[str | Path], metrics: tuple[str, ...] = ("psnr", "ssim")) -> str:
    """A Markdown table of the mean of each metric per dataset and method over the folders' records, with the
    PSNR gain over bicubic on the same clips and the number of clips; records without a value are left out."""
    import pandas as pd

    from leaderboard.board import load_records

    df = pd.DataFrame([rec for r in results for rec in load_records(r)])
    if df.empty:
        raise UserFacingError(f"{', '.join(map(str, results))}: no result records")
    df = df[df["metric"].isin(metrics) & df["value"].notna()]
    wide = df.pivot_table(index=["dataset", "clip", "method"], columns="metric", values="value", aggfunc="mean")
    lines = ["| dataset | method | clips | " + " | ".join(metrics) + " | PSNR vs bicubic |",
             "|---|---|---|" + "---|" * len(metrics) + "---|"]  # fmt: skip
    for dataset, by_ds in wide.groupby(level="dataset"):
        by_ds = by_ds.droplevel("dataset")
        methods = by_ds.index.get_level_values("method")
        base = by_ds.xs("bicubic", level="method")["psnr"] if "bicubic" in methods and "psnr" in by_ds else None
        for method, rows in by_ds.groupby(level="method"):
            rows = rows.droplevel("method")
            cells = [f"{rows[m].mean():.{4 if m == 'ssim' else 2}f}" if m in rows else "–" for m in metrics]
            both = rows.index.intersection(base.index) if base is not None and "psnr" in rows else []
            gain = f"{(rows.loc[both, 'psnr'] - base[both]).mean():+.2f}" if len(both) else ""
            lines.append(f"| {dataset} | {method} | {len(rows)} | " + " | ".join(cells) + f" | {gain} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print each candidate's validation gain and the selected one (or, with --table, a metrics table)."""
    parser = argparse.ArgumentParser(prog="python -m training.select_run", description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--metric", default="psnr")
    parser.add_argument("--table", action="store_true", help="print mean PSNR / SSIM per dataset and method instead")
    args = parser.parse_args(argv)
    if args.table:
        try:
            print(summary_table(args.results), end="")
        except UserFacingError as e:
            print(f"select_run: {e}", file=sys.stderr)
            return 2
        return 0
    try:
        scores = {r: gain_over_bicubic(r, metric=args.metric) for r in args.results}
    except UserFacingError as e:
        print(f"select_run: {e}", file=sys.stderr)
        return 2
    for r, s in scores.items():
        print(f"{r}\t{args.metric} gain over bicubic {s:+.3f}")
    print(f"selected: {max(scores, key=scores.__getitem__)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
