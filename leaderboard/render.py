"""Boards -> Markdown and a static HTML page (sortable, filterable; works from file:// with no network)."""

from __future__ import annotations

import html
import json
import math

from leaderboard.board import Row, Section


MISSING = "—"


def fmt(v: float) -> str:
    """A value with 2 (>= 10), 3 (>= 1) or 4 decimals (inf as ∞)."""
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if abs(v) >= 10:
        return f"{v:.2f}"
    if abs(v) >= 1:
        return f"{v:.3f}"
    return f"{v:.4f}"


def md_escape(text: str) -> str:
    """Text safe inside a Markdown table cell: HTML-escaped, pipes and emphasis characters escaped."""
    t = html.escape(str(text), quote=False).replace("|", "\\|")
    for ch in "*_`[]":
        t = t.replace(ch, "\\" + ch)
    return t.replace("\n", " ")


def _arrow(higher: bool) -> str:
    return "↑" if higher else "↓"


def fmt_delta(v: float) -> str:
    """A signed difference with the precision of `fmt`."""
    return ("+" if v > 0 else "") + fmt(v) if v != 0 else "0"


def _source_text(r: Row, citation: int | None = None) -> str:
    if not r.reported:
        return "measured"
    text = "published" + (f"<sup>c{citation}</sup>" if citation is not None else "")
    return text + (f", Δ vs {md_escape(r.compared_to)}" if r.compared_to else "")


def to_markdown(sections: list[Section], title: str = "Leaderboard") -> str:
    """The leaderboard as Markdown: one table per dataset (and measured LQ source), measured and published rows
    side by side (the Source column says which), a Δ column after each metric where a method has both (measured -
    published, on the published row); missing cells are footnoted."""
    out = [f"# {md_escape(title)}", ""]
    out.append("↑ higher is better, ↓ lower is better; **bold** is the best value among measured rows ")
    out.append("(and, separately, among published rows). Published rows are transcribed from papers ")
    out.append("under their own, partly unstated protocols (docs/benchmark.md); Δ = measured − published ")
    out.append("for a method that has both.")
    out.append("")
    for s in sections:
        out += [f"## {md_escape(s.title)}", ""]
        for p in s.protocols:
            out.append(f"- protocol: {md_escape(p)}")
        if s.protocols:
            out.append("")
        head = ["#", "Method", "Source"]
        align = ["---:", "---", "---"]
        for c in s.columns:
            head.append(f"{md_escape(c.label)} {_arrow(c.higher_is_better)}")
            align.append("---:")
            if s.has_delta(c):
                head.append(f"Δ {md_escape(c.label)}")
                align.append("---:")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(align) + "|")
        notes: dict[str, int] = {}
        citations: dict[str, int] = {}
        for r in s.rows:
            n_cit = citations.setdefault(r.citation, len(citations) + 1) if r.reported else None
            cells = []
            for c in s.columns:
                cell = r.cells.get(c.key)
                if cell is None:
                    cells.append("")
                elif cell.value is None:
                    n = notes.setdefault(cell.reason, len(notes) + 1)
                    cells.append(f"{MISSING}<sup>{n}</sup>")
                else:
                    v = fmt(cell.value)
                    cells.append(f"**{v}**" if cell.best else v)
                if s.has_delta(c):
                    cells.append(fmt_delta(r.delta[c.key]) if c.key in r.delta else "")
            pos = "" if r.position is None else str(r.position)
            out.append("| " + " | ".join([pos, md_escape(r.method), _source_text(r, n_cit)] + cells) + " |")
        out.append("")
        for reason, n in notes.items():
            out.append(f"<sup>{n}</sup> {md_escape(reason)}  ")
        for cit, n in citations.items():
            out.append(f"<sup>c{n}</sup> {md_escape(cit)}  ")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{cursor:pointer;background:#f3f3f3}
td.m{text-align:left}
tr.reported td{background:#fafaf0;font-style:italic}
td.best{font-weight:bold}
.missing{color:#999}
details{font-size:90%}
input#filter{width:30em;padding:4px}
"""

_JS = """
function sortTable(th){
  const table=th.closest('table'), idx=[...th.parentNode.children].indexOf(th);
  const body=table.tBodies[0], rows=[...body.rows];
  const asc=th.dataset.dir!=='asc'; th.dataset.dir=asc?'asc':'desc';
  const key=r=>{const c=r.cells[idx]; const v=c?c.dataset.v:undefined;
    return (v===undefined||v==='')?null:(isNaN(+v)?v:+v);};
  rows.sort((a,b)=>{const x=key(a),y=key(b);
    if(x===null&&y===null)return 0; if(x===null)return 1; if(y===null)return -1;
    return (x<y?-1:x>y?1:0)*(asc?1:-1);});
  rows.forEach(r=>body.appendChild(r));
}
function filterRows(q){
  q=q.toLowerCase();
  document.querySelectorAll('tbody tr').forEach(r=>{
    r.style.display=r.dataset.method.toLowerCase().includes(q)?'':'none';});
}
document.addEventListener('DOMContentLoaded',()=>{
  document.querySelectorAll('th[data-sort]').forEach(th=>th.addEventListener('click',()=>sortTable(th)));
  const f=document.getElementById('filter'); f.addEventListener('input',()=>filterRows(f.value));
  // shareable views: #sort=TABLE:COLUMN[:desc] sorts on load, #filter=TEXT filters
  const h=new URLSearchParams(location.hash.slice(1));
  if(h.get('sort')){const [t,c,d]=h.get('sort').split(':');
    const th=document.querySelectorAll('table')[+t].tHead.rows[0].cells[+c];
    sortTable(th); if(d==='desc')sortTable(th);}
  if(h.get('filter')!==null){f.value=h.get('filter'); filterRows(f.value);}
});
"""


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 x 10^k apart) covering [lo, hi], about `target` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(target - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10)), key=lambda st: abs(math.log(st / raw)))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + 1e-9 * step:
        ticks.append(round(v, 12))
        v += step
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values for a log10 axis spanning 10^lo .. 10^hi: 1, 2, 5 x 10^k (only decades when it spans > 3)."""
    mults = (1,) if hi - lo > 3 else (1, 2, 5)
    out = []
    for k in range(math.floor(lo), math.ceil(hi) + 1):
        for m in mults:
            v = m * 10.0**k
            if lo - 1e-9 <= math.log10(v) <= hi + 1e-9:
                out.append(v)
    return out or [10**lo]


def _tick_text(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"


def _scatter(s: Section) -> str:
    """Inline SVG: FPS (log x) against the first quality column, when the section has both; both axes carry
    numbered ticks."""
    fps = next((c for c in s.columns if c.key.split("@")[0] == "fps"), None)
    qual = next((c for c in s.columns if c.key.split("@")[0] not in ("fps", "peak_mem_gb")), None)
    if fps is None or qual is None:
        return ""
    pts = []
    for r in s.rows:
        a, b = r.cells.get(fps.key), r.cells.get(qual.key)
        if a and b and a.value and b.value is not None and a.value > 0 and math.isfinite(b.value):
            pts.append((math.log10(a.value), b.value, r.method))
    if len(pts) < 1:
        return ""
    w, h, left, m = 520, 320, 64, 40
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs) - 0.1, max(xs) + 0.1
    y0, y1 = min(ys), max(ys)
    y0, y1 = (y0 - 1, y1 + 1) if y0 == y1 else (y0 - 0.05 * (y1 - y0), y1 + 0.05 * (y1 - y0))

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (w - left - m)

    def py(y: float) -> float:
        return h - m - (y - y0) / (y1 - y0) * (h - 2 * m)

    dots = "".join(
        f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4"><title>{html.escape(n)}</title></circle>'
        f'<text x="{px(x) + 6:.1f}" y="{py(y) - 6:.1f}" font-size="10">{html.escape(n)}</text>'
        for x, y, n in pts
    )
    ticks = "".join(
        f'<line class="xtick" x1="{px(math.log10(v)):.1f}" y1="{h - m}" x2="{px(math.log10(v)):.1f}" '
        f'y2="{h - m + 4}" stroke="#888"/><text class="xtick" x="{px(math.log10(v)):.1f}" y="{h - m + 15}" '
        f'font-size="10" text-anchor="middle">{_tick_text(v)}</text>'
        for v in log_ticks(x0, x1)
    ) + "".join(
        f'<line class="ytick" x1="{left - 4}" y1="{py(v):.1f}" x2="{left}" y2="{py(v):.1f}" stroke="#888"/>'
        f'<text class="ytick" x="{left - 6}" y="{py(v) + 3:.1f}" font-size="10" text-anchor="end">'
        f"{_tick_text(v)}</text>"
        for v in nice_ticks(y0, y1)
    )
    axes = (
        f'<line x1="{left}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="#888"/>'
        f'<line x1="{left}" y1="{m}" x2="{left}" y2="{h - m}" stroke="#888"/>'
        f'<text x="{(left + w - m) / 2}" y="{h - 6}" font-size="11" text-anchor="middle">FPS (log scale)</text>'
        f'<text x="12" y="{h / 2}" font-size="11" transform="rotate(-90 12 {h / 2})" text-anchor="middle">'
        f"{html.escape(qual.label)}</text>"
    )
    return f'<svg class="scatter" width="{w}" height="{h}" role="img">{axes}{ticks}{dots}</svg>'


def to_html(sections: list[Section], title: str = "Leaderboard") -> str:
    """A self-contained HTML page (inline CSS/JS/SVG; no external resources)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_CSS}</style><script>{_JS}</script></head><body>",
        f"<h1>{e(title)}</h1>",
        '<p><input id="filter" type="search" placeholder="filter methods"></p>',
        "<p>↑ higher is better, ↓ lower is better; bold is best among measured rows (and among published rows). "
        "Click a column header to sort. Published rows are transcribed from papers and use their own protocols; "
        "Δ = measured − published for a method that has both.</p>",
    ]
    for s in sections:
        parts.append(f'<section data-dataset="{e(s.dataset)}"><h2>{e(s.title)}</h2>')
        if s.protocols:
            parts.append("<ul>" + "".join(f"<li>protocol: {e(p)}</li>" for p in s.protocols) + "</ul>")
        parts.append(_scatter(s))
        head = '<th data-sort="n">#</th><th data-sort="s">Method</th><th data-sort="s">Source</th>'
        for c in s.columns:
            head += (
                f'<th data-sort="n" title="{e(c.key)} ({e(c.scale)})">{e(c.label)} {_arrow(c.higher_is_better)}</th>'
            )
            if s.has_delta(c):
                head += f'<th data-sort="n" title="measured - published">Δ {e(c.label)}</th>'

        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
        for r in s.rows:
            cls = "reported" if r.reported else "measured"
            label = e(r.method)
            source = r.source + (f", Δ vs {r.compared_to}" if r.compared_to else "")
            details = {"protocol": r.protocol, "provenance": r.provenance}
            if r.citation:
                details["citation"] = r.citation
            info = e(json.dumps(details, indent=1, sort_keys=True, default=str))
            pos = "" if r.position is None else str(r.position)
            cells = [
                f'<td data-v="{pos}">{pos}</td>',
                f'<td class="m" data-v="{e(r.method)}">{label}<details><summary>details</summary>'
                f"<pre>{info}</pre></details></td>",
                f'<td class="m" data-v="{e(r.source)}">{e(source)}</td>',
            ]
            for c in s.columns:
                cell = r.cells.get(c.key)
                if cell is None:
                    cells.append('<td data-v=""></td>')
                elif cell.value is None:
                    cells.append(f'<td data-v="" class="missing" title="{e(cell.reason)}">{MISSING}</td>')
                else:
                    best = ' class="best"' if cell.best else ""
                    cells.append(f'<td data-v="{cell.value!r}"{best}>{e(fmt(cell.value))}</td>')
                if s.has_delta(c):
                    d = r.delta.get(c.key)
                    cells.append('<td data-v=""></td>' if d is None else f'<td data-v="{d!r}">{e(fmt_delta(d))}</td>')
            parts.append(f'<tr class="{cls}" data-method="{e(r.method)}">{"".join(cells)}</tr>')
        parts.append("</tbody></table></section>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"
