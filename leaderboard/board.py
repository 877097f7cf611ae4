"""Result records -> ranked boards (pure Python: no torch, no sibling packages).

Records are dicts with the schema of `benchmark.records.Record` (protocol/provenance as dicts or JSON text),
read from a results file or a results folder (the benchmark's layout: results.parquet + records/part-N.parquet).
A board is one section per dataset (and, for measured rows, per LQ source): rows are methods, measured rows
first, then the rows published for that dataset (`reported=True`, in every measured section of the dataset, or in
a section of their own when nothing was measured there); columns are metrics; a cell is the mean over the clips of
'ok' values, or missing (None) with the reason when any clip of that method/metric is not 'ok' (never a partial
average). Rows are ranked by their mean per-column rank, using each metric's `higher_is_better`; measured and
published rows are ranked separately. A published row whose method was also measured (`measured_as` names the
measured method; else the same name, case-insensitively) carries `delta`: measured - published, per metric.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


METRIC_ORDER = (
    "psnr", "psnr_y", "pyiqa_psnr", "pyiqa_psnry", "ssim", "ssim_y", "pyiqa_ssim", "pyiqa_ssimc", "ms_ssim",
    "pyiqa_ms_ssim", "lpips", "lpips_vgg", "dists", "vmaf", "niqe", "brisque", "musiq", "clipiqa", "dover_overall",
    "dover_technical", "dover_aesthetic", "ewarp", "ewarp_dis", "tof", "tlp", "fps", "peak_mem_gb",
)  # fmt: skip


def _json(x: Any) -> dict[str, Any]:
    if isinstance(x, dict):
        return x
    if isinstance(x, str) and x:
        return json.loads(x)
    return {}


RECORD_KEY = ("method", "dataset", "clip", "metric", "protocol_key")


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Records from a results file (.parquet via pyarrow, .jsonl, .json (a list) or .csv) or a results folder (its
    `results.parquet` and then `records/part-N.parquet` in order, the latest row per record key kept)."""
    p = Path(path)
    if p.is_dir():
        return _load_folder(p)
    if not p.exists():
        raise FileNotFoundError(f"{p}: results file not found")
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(p).to_pylist()
    elif p.suffix in (".jsonl", ".json"):
        try:
            text = p.read_text()
            rows = json.loads(text) if p.suffix == ".json" else [json.loads(x) for x in text.splitlines() if x.strip()]
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError(f"{p}: not valid JSON ({e})") from None
    elif p.suffix == ".csv":
        import csv

        with open(p, newline="") as f:
            rows = list(csv.DictReader(f))
    else:
        raise ValueError(f"{p}: unknown results format (parquet, jsonl, json, csv)")
    return _normalise_all(p, rows)


def _normalise_all(path: Path, rows: Any) -> list[dict[str, Any]]:
    """`normalise` every row; a file whose content is not a list of records is one ValueError naming it."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{path}: not a list of result records")
    for r in rows:
        missing = [k for k in ("dataset", "method", "metric") if k not in r]
        if missing:
            raise ValueError(f"{path}: a record without {', '.join(missing)} (columns: {', '.join(map(str, r))})")
    try:
        return [normalise(r) for r in rows]
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: not a result record ({type(e).__name__}: {e})") from None


def _load_folder(folder: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    parts_dir = folder / "records"
    parts = sorted(parts_dir.glob("part-*.parquet"), key=lambda q: int(q.stem.split("-", 1)[1]))
    files = ([folder / "results.parquet"] if (folder / "results.parquet").is_file() else []) + parts
    if not files:
        raise FileNotFoundError(f"{folder}: no results.parquet or records/part-*.parquet in this folder")
    latest: dict[tuple[str, ...], dict[str, Any]] = {}
    for f in files:
        for r in pq.read_table(f).to_pylist():
            key = tuple(str(r.get(k, "")) for k in RECORD_KEY)
            latest.pop(key, None)  # re-inserted last: the table keeps write order
            latest[key] = r
    return _normalise_all(folder, list(latest.values()))


def _bool(x: Any) -> bool:
    return x if isinstance(x, bool) else str(x).strip().lower() in ("1", "true", "yes")


def normalise(r: dict[str, Any]) -> dict[str, Any]:
    """A record with parsed protocol/provenance, float-or-None value and boolean flags."""
    r = dict(r)
    r["protocol"] = _json(r.get("protocol"))
    r["provenance"] = _json(r.get("provenance"))
    v = r.get("value")
    r["value"] = None if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else float(v)
    r["reported"] = _bool(r.get("reported", False))
    r["higher_is_better"] = _bool(r.get("higher_is_better", True))
    r["status"] = r.get("status") or "ok"
    r["clip"] = str(r.get("clip", ""))
    return r


@dataclass
class Cell:
    value: float | None
    n_clips: int = 0
    reason: str = ""
    best: bool = False


@dataclass
class Row:
    """One method's cells. A published row (`reported`) may carry `delta` (column key -> measured - published)
    against the measured row `compared_to`."""

    method: str
    reported: bool
    cells: dict[str, Cell] = field(default_factory=dict)
    rank: float | None = None
    position: int | None = None
    citation: str = ""
    protocol: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    measured_as: tuple[str, ...] = ()
    compared_to: str = ""
    delta: dict[str, float] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """'published' or 'measured'."""
        return "published" if self.reported else "measured"


@dataclass
class Column:
    key: str
    label: str
    higher_is_better: bool
    scale: str = ""


@dataclass
class Section:
    dataset: str
    lq_source: str
    columns: list[Column]
    rows: list[Row]
    protocols: list[str]

    @property
    def title(self) -> str:
        return f"{self.dataset} (LQ: {self.lq_source})" if self.lq_source else self.dataset

    def has_delta(self, column: Column) -> bool:
        """Whether any row has a measured - published difference in `column`."""
        return any(column.key in r.delta for r in self.rows)


def _column_key(r: dict[str, Any], multi: bool) -> str:
    if r["reported"]:  # a published number has no protocol key: it joins the metric's column when there is one
        return f"{r['metric']}@published" if multi else r["metric"]
    return f"{r['metric']}@{r.get('protocol_key', '')}" if multi else r["metric"]


def _protocol_text(p: dict[str, Any]) -> str:
    keys = ("scale", "space", "crop_border", "frames", "lq_source", "notes")
    parts = [f"{k}={p[k]}" for k in keys if k in p and p[k] not in (None, "")]
    return ", ".join(parts)


def _measured_as(r: dict[str, Any]) -> tuple[str, ...]:
    names = r.get("measured_as") or ()
    if isinstance(names, str):
        names = json.loads(names) if names.startswith("[") else [names]
    return tuple(names) or (str(r["method"]).lower(),)


def build_board(records: list[dict[str, Any]]) -> list[Section]:
    """Sections (sorted by dataset, LQ source) of ranked rows, published rows beside the measured ones."""
    records = [normalise(r) for r in records]
    measured: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    published: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r["reported"]:
            published[str(r["dataset"])].append(r)
        else:
            measured[(str(r["dataset"]), str(r["protocol"].get("lq_source", "")))].append(r)
    groups = {key: recs + published.get(key[0], []) for key, recs in measured.items()}
    measured_sets = {d for d, _ in measured}
    for dataset, recs in published.items():
        if dataset not in measured_sets:
            groups[(dataset, str(recs[0]["protocol"].get("lq_source", "")))] = recs
    return [_section(dataset, lq, recs) for (dataset, lq), recs in sorted(groups.items())]


def _section(dataset: str, lq: str, recs: list[dict[str, Any]]) -> Section:
    keys_per_metric: dict[str, set[str]] = defaultdict(set)
    for r in recs:
        if not r["reported"]:
            keys_per_metric[r["metric"]].add(str(r.get("protocol_key", "")))
    cols: dict[str, Column] = {}
    cells: dict[tuple[str, bool, str], list[dict[str, Any]]] = defaultdict(list)
    for r in recs:  # measured records first: a shared column takes the measured metric's label
        ck = _column_key(r, len(keys_per_metric[r["metric"]]) > 1)
        if ck not in cols:
            label = r.get("metric_label") or r["metric"]
            if ck != r["metric"]:
                label = f"{label} [{ck.split('@', 1)[1][:9]}]"
            cols[ck] = Column(ck, label, r["higher_is_better"], r.get("metric_scale", ""))
        cells[(r["method"], r["reported"], ck)].append(r)
    order = {m: i for i, m in enumerate(METRIC_ORDER)}
    columns = sorted(cols.values(), key=lambda c: (order.get(c.key.split("@")[0], len(order)), c.key))
    rows: dict[tuple[str, bool], Row] = {}
    for (method, reported, ck), rs in cells.items():
        row = rows.setdefault((method, reported), Row(method, reported))
        row.citation = row.citation or rs[0].get("citation", "") or ""
        row.protocol = row.protocol or rs[0]["protocol"]
        row.provenance = row.provenance or rs[0]["provenance"]
        if reported:
            row.measured_as = _measured_as(rs[0])
        # records that do not apply (a temporal metric on a photo, a reference metric without GT) do not count,
        # unless no record of the cell applies
        rs = [x for x in rs if x["status"] != "not-applicable"] or rs
        bad = [x for x in rs if x["status"] != "ok" or x["value"] is None]
        if bad:
            reason = bad[0].get("reason") or bad[0]["status"]
            row.cells[ck] = Cell(None, len(rs), f"{bad[0]['status']}: {reason}")
        else:
            row.cells[ck] = Cell(sum(x["value"] for x in rs) / len(rs), len(rs))
    _deltas(rows)
    ranked = _rank([r for r in rows.values() if not r.reported], columns) + _rank(
        [r for r in rows.values() if r.reported], columns
    )
    protocols = sorted({_protocol_text(r["protocol"]) for r in recs if not r["reported"]} - {""})
    protocols += sorted({_protocol_text(r["protocol"]) for r in recs if r["reported"]} - {""} - set(protocols))
    return Section(dataset, lq, columns, ranked, protocols)


def _deltas(rows: dict[tuple[str, bool], Row]) -> None:
    """For each published row whose method was measured here: measured - published in every column both have."""
    by_name = {method.lower(): row for (method, reported), row in rows.items() if not reported}
    for (_, reported), row in rows.items():
        if not reported:
            continue
        match = next((by_name[m.lower()] for m in row.measured_as if m.lower() in by_name), None)
        if match is None:
            continue
        row.compared_to = match.method
        for key, cell in row.cells.items():
            mine = match.cells.get(key)
            if cell.value is not None and mine is not None and mine.value is not None:
                row.delta[key] = mine.value - cell.value


def _rank(rows: list[Row], columns: list[Column]) -> list[Row]:
    for col in columns:
        vals = [(r.cells[col.key].value, r) for r in rows if col.key in r.cells and r.cells[col.key].value is not None]
        finite = [v for v, _ in vals if not math.isnan(v)]
        if not finite:
            continue
        best = max(finite) if col.higher_is_better else min(finite)
        for v, r in vals:
            r.cells[col.key].best = v == best
    for r in rows:
        ranks = []
        for col in columns:
            c = r.cells.get(col.key)
            if c is None or c.value is None:
                continue
            others = [
                o.cells[col.key].value for o in rows if col.key in o.cells and o.cells[col.key].value is not None
            ]
            better = sum(1 for o in others if (o > c.value if col.higher_is_better else o < c.value))
            ranks.append(1 + better)
        r.rank = sum(ranks) / len(ranks) if ranks else None
    rows.sort(key=lambda r: (r.rank is None, r.rank if r.rank is not None else 0.0, r.method))
    for i, r in enumerate(rows, 1):
        r.position = i if r.rank is not None else None
    return rows
