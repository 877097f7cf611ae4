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


def main(argv: list[str] | None = None) -> int:
    """Print each candidate's validation gain and the selected one."""
    parser = argparse.ArgumentParser(prog="python -m training.select_run", description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--metric", default="psnr")
    args = parser.parse_args(argv)
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
