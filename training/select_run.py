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
from typing import Any

from vsrcore.cliargs import one_line_main
from vsrcore.errors import UserFacingError


def records(results: str | Path) -> Any:
    """The records of one results folder as a DataFrame; a missing or empty folder is a one-line error."""
    import pandas as pd

    from leaderboard.board import load_records  # the benchmark's results layout, read without torch

    if not Path(results).exists():
        raise UserFacingError(f"{results}: no such results folder")
    df = pd.DataFrame(load_records(results))
    if df.empty:
        raise UserFacingError(f"{results}: no result records")
    return df


def gain_over_bicubic(results: str | Path, method: str = "flashvsr-tiny", metric: str = "psnr") -> float:
    """Mean (method - bicubic) of `metric` over the records both have (same clip and protocol)."""
    df = records(results)
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

    df = pd.concat([records(r) for r in results])
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


SEED_METRICS = ("psnr", "ssim", "niqe", "ewarp_dis")


def seed_table(results: list[str | Path], method: str = "flashvsr-tiny", baselines: tuple[str, ...] = ("bicubic",
               "lanczos"), metrics: tuple[str, ...] = SEED_METRICS) -> str:  # fmt: skip
    """The model card's table for one recipe trained with several seeds: per dataset (LQ variant), each seed's
    mean of every metric over its clips, the mean and spread (max - min) of the seeds, the baselines, and each
    seed's PSNR gain over every baseline on the same clips; "worst seed" is the smallest gain. One results folder
    per seed (its `method` records); baselines from any of the folders."""
    import pandas as pd

    frames = []
    for i, r in enumerate(results):
        df = records(r)
        df.loc[df["method"] == method, "method"] = f"seed {i}"
        frames.append(df)
    df = pd.concat(frames)
    df = df[df["metric"].isin(metrics) & df["value"].notna()]
    df["dataset"] = df["dataset"] + "/" + [p.get("lq", "") for p in df["protocol"]]
    wide = df.pivot_table(index=["dataset", "method", "clip"], columns="metric", values="value", aggfunc="mean")
    shown = [m for m in metrics if m in wide]
    head = shown + [f"PSNR vs {b}" for b in baselines]
    lines = ["| dataset | row | clips | " + " | ".join(head) + " |", "|---|---|---|" + "---|" * len(head)]
    for dataset, by_ds in wide.groupby(level="dataset"):
        lines += _seed_rows(str(dataset), by_ds.droplevel("dataset"), len(results), baselines, shown)
    return "\n".join(lines) + "\n"


def _seed_rows(dataset: str, by_ds: Any, n_seeds: int, baselines: tuple[str, ...], shown: list[str]) -> list[str]:
    """The rows of one dataset of `seed_table`; by_ds: metrics per (method, clip)."""
    import pandas as pd

    have = set(by_ds.index.get_level_values("method"))
    seeds = [f"seed {i}" for i in range(n_seeds) if f"seed {i}" in have]
    means = {m: by_ds.xs(m, level="method").mean() for m in have}
    gains = {(s, b): _psnr_gain(by_ds, s, b) for s in seeds for b in baselines if b in have}

    def row(name: str, values: dict[str, float], clips: object, extra: list[float | None]) -> str:
        cells = [_fmt(values.get(m), m) for m in shown] + ["" if g is None else f"{g:+.2f}" for g in extra]
        return f"| {dataset} | {name} | {clips} | " + " | ".join(cells) + " |"

    none = [None] * len(baselines)
    rows = [row(s, means[s].to_dict(), len(by_ds.xs(s, level="method")), [gains.get((s, b)) for b in baselines])
            for s in seeds]  # fmt: skip
    if len(seeds) > 1:
        stack = pd.DataFrame([means[s] for s in seeds])
        per_base = [[g for s in seeds if (g := gains.get((s, b))) is not None] for b in baselines]
        rows.append(row("mean of seeds", stack.mean().to_dict(), "", [sum(g) / len(g) if g else None
                                                                       for g in per_base]))  # fmt: skip
        rows.append(row("spread (max - min)", (stack.max() - stack.min()).to_dict(), "", none))
        rows.append(row("worst seed", {}, "", [min(g) if g else None for g in per_base]))
    rows += [row(b, means[b].to_dict(), len(by_ds.xs(b, level="method")), none) for b in baselines if b in have]
    return rows


def _psnr_gain(by_ds: Any, method: str, base: str) -> float | None:
    """Mean PSNR of `method` minus `base` over the clips both have."""
    if "psnr" not in by_ds:
        return None
    a, b = by_ds.xs(method, level="method")["psnr"], by_ds.xs(base, level="method")["psnr"]
    both = a.index.intersection(b.index)
    return float((a[both] - b[both]).mean()) if len(both) else None


def _fmt(value: float | None, metric: str) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:.4f}" if metric in ("ssim", "ewarp_dis") else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    """Print each candidate's validation gain and the selected one (or, with --table, a metrics table)."""
    parser = argparse.ArgumentParser(prog="python -m training.select_run", description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--metric", default="psnr")
    parser.add_argument("--table", action="store_true", help="print mean PSNR / SSIM per dataset and method instead")
    parser.add_argument("--seeds", action="store_true", help="print the seeds table (one folder per seed)")
    args = parser.parse_args(argv)
    if args.seeds:
        return one_line_main("select_run", lambda: seed_table(args.results).rstrip("\n"))
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
