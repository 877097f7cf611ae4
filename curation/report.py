"""Curation report: tables, counts per rule and stage, score histograms, summary, all rebuilt from markers.

Writes into the shard directory:
    segments.parquet    every segment/photo with its scores, decision and reason
    quarantine.parquet  every input that failed, with the stage and the reason
    report/summary.md   counts per stage and rule, kept clips, frames and hours, score ranges
    report/hist_<score>.png  histograms of each score, kept vs rejected
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from curation.config import CurationConfig
from vsrcore.atomic import atomic_path, finished_files


def _rows(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    decided, quarantined = [], []
    for path in finished_files(out / "state" / "sources", ".json"):
        for row in json.loads(path.read_text())["rows"]:
            decided.append(row)
    for path in finished_files(out / "state" / "quarantine", ".json"):
        for row in json.loads(path.read_text())["rows"]:
            quarantined.append(row)
    return decided, quarantined


def _rule(reason: str) -> str:
    return reason.split(" ")[0] if reason else ""


def write_report(
    out: Path,
    config: CurationConfig,
    *,
    timings: dict[str, float] | None = None,
    skipped_scorers: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Rebuild the tables, plots and summary; returns the counts."""
    decided, quarantined = _rows(out)
    seg_table = _write_tables(out, decided, quarantined)
    counts = _counts(out, decided, quarantined, seg_table)
    report = out / "report"
    report.mkdir(exist_ok=True)
    score_names = sorted({k for r in decided for k in r.get("scores", {})})
    _write_histograms(report, config, decided, score_names)
    lines = _summary(config, counts, decided, quarantined, score_names, skipped_scorers, timings)
    with atomic_path(report / "summary.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return counts


def _write_tables(out: Path, decided: list[dict[str, Any]], quarantined: list[dict[str, Any]]) -> Any:
    """segments.parquet (every decided row) and quarantine.parquet; returns the segments table."""
    import pandas as pd

    seg_table = pd.DataFrame(
        [
            {
                "source_id": r["source_id"],
                "path": r["path"],
                "kind": r.get("kind"),
                "segment_id": r.get("segment_id"),
                "start": r.get("start"),
                "end": r.get("end"),
                "status": r.get("status"),
                "stage": r.get("stage", ""),
                "kept": bool(r.get("kept", False)),
                "reason": r.get("reason", ""),
                "scores": json.dumps(r.get("scores", {})),
            }
            for r in decided
        ]
    )
    q_table = pd.DataFrame(
        [
            {
                "source_id": r["source_id"],
                "path": r["path"],
                "stage": r.get("stage", ""),
                "reason": r.get("reason", ""),
            }
            for r in quarantined
        ]
    )
    for name, table in (("segments.parquet", seg_table), ("quarantine.parquet", q_table)):
        with atomic_path(out / name) as tmp:
            table.to_parquet(tmp, index=False)
    return seg_table


def _counts(
    out: Path, decided: list[dict[str, Any]], quarantined: list[dict[str, Any]], seg_table: Any
) -> dict[str, Any]:
    """Sources, quarantined sources, segments (kept), and from the manifest clips, photos, frames and hours."""
    import pandas as pd

    manifest = pd.read_parquet(out / "manifest.parquet") if (out / "manifest.parquet").exists() else pd.DataFrame()
    clips = manifest[manifest["kind"] == "clip"] if len(manifest) else manifest
    photos = manifest[manifest["kind"] == "image"] if len(manifest) else manifest
    frames = int(clips["frame_count"].sum()) if len(clips) else 0
    hours = float((clips["frame_count"] / clips["fps"]).sum() / 3600) if len(clips) else 0.0
    return {
        "sources": len({r["source_id"] for r in decided} | {r["source_id"] for r in quarantined}),
        "quarantined": len({r["source_id"] for r in quarantined}),
        "segments": int((seg_table["kind"] == "segment").sum()) if len(seg_table) else 0,
        "segments_kept": int(((seg_table["kind"] == "segment") & seg_table["kept"]).sum()) if len(seg_table) else 0,
        "clips": len(clips),
        "photos": len(photos),
        "frames": frames,
        "hours": hours,
    }


def _write_histograms(report: Path, config: CurationConfig, decided: list[dict[str, Any]], names: list[str]) -> None:
    """report/hist_<score>.png: kept and rejected items stacked, the thresholds dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name in names:
        kept = [r["scores"][name] for r in decided if name in r.get("scores", {}) and r.get("kept")]
        dropped = [r["scores"][name] for r in decided if name in r.get("scores", {}) and not r.get("kept")]
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.hist([kept, dropped], bins=20, stacked=True, label=["kept", "rejected"])
        lo, hi = config.thresholds.get(name, (None, None))
        for edge in (lo, hi):
            if edge is not None:
                ax.axvline(edge, color="k", linestyle="--")
        ax.set_title(name)
        ax.legend()
        fig.tight_layout()
        with atomic_path(report / f"hist_{name}.png") as tmp:
            fig.savefig(tmp, format="png", dpi=80)
        plt.close(fig)


def _summary(
    config: CurationConfig,
    counts: dict[str, Any],
    decided: list[dict[str, Any]],
    quarantined: list[dict[str, Any]],
    score_names: list[str],
    skipped_scorers: dict[str, list[str]] | None,
    timings: dict[str, float] | None,
) -> list[str]:
    """The lines of report/summary.md: counts, rejections by stage and rule, quarantine, skipped scorers, score
    ranges against their thresholds, time per phase."""
    by_stage = Counter(
        f"{r.get('stage', '')}: {_rule(r.get('reason', ''))}"
        for r in decided
        if r.get("status") == "rejected" or r.get("kept") is False
    )
    lines = [f"# Curation report ({config.name})", "", "| count | value |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in counts.items()]
    lines += ["", "## Rejections by stage and rule", "", "| stage: rule | items |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(by_stage.items())]
    if quarantined:
        lines += ["", "## Quarantine", "", "| input | stage | reason |", "|---|---|---|"]
        lines += [f"| {Path(r['path']).name} | {r.get('stage', '')} | {r.get('reason', '')} |" for r in quarantined]
    if skipped_scorers:
        lines += ["", "## Scorers skipped (weights missing)", ""]
        lines += [f"- {k}: {', '.join(v)}" for k, v in skipped_scorers.items()]
    lines += ["", "## Scores", "", "| score | min | median | max | threshold |", "|---|---|---|---|---|"]
    for name in score_names:
        vals = sorted(r["scores"][name] for r in decided if name in r.get("scores", {}))
        lo, hi = config.thresholds.get(name, (None, None))
        lines.append(
            f"| {name} | {vals[0]:.3g} | {vals[len(vals) // 2]:.3g} | {vals[-1]:.3g} | "
            f"{'' if lo is None else '>= ' + format(lo, 'g')}{'' if hi is None else ' <= ' + format(hi, 'g')} |"
        )
    if timings:
        lines += ["", "## Time per phase (this run)", "", "| phase | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
    return lines
