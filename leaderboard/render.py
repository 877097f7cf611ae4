"""Boards -> Markdown and a static HTML page (sortable, filterable; works from file:// with no network)."""

from __future__ import annotations

import html
import json
import math

from leaderboard.board import Section


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


def to_markdown(sections: list[Section], title: str = "Leaderboard") -> str:
    """The leaderboard as Markdown: one table per (dataset, LQ source); missing cells are footnoted."""
    out = [f"# {md_escape(title)}", ""]
    out.append("↑ higher is better, ↓ lower is better; **bold** is the best value among re-run rows ")
    out.append("(and, separately, among reported rows). Reported rows are transcribed from papers ")
    out.append("under their own, partly unstated protocols: compare them with re-run rows only loosely.")
    out.append("")
    for s in sections:
        out += [f"## {md_escape(s.title)}", ""]
        for p in s.protocols:
            out.append(f"- protocol: {md_escape(p)}")
        if s.protocols:
            out.append("")
        head = ["#", "Method"] + [f"{md_escape(c.label)} {_arrow(c.higher_is_better)}" for c in s.columns]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---:", "---"] + ["---:"] * len(s.columns)) + "|")
        notes: dict[str, int] = {}
        citations: dict[str, int] = {}
        shown_reported_header = False
        for r in s.rows:
            if r.reported and not shown_reported_header:
                if any(not x.reported for x in s.rows):
                    out.append("| | *reported in papers* |" + " |" * len(s.columns))
                shown_reported_header = True
            name = md_escape(r.method)
            if r.reported:
                n = citations.setdefault(r.citation, len(citations) + 1)
                name += f" (reported)<sup>c{n}</sup>"
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
            pos = "" if r.position is None else str(r.position)
            out.append("| " + " | ".join([pos, name] + cells) + " |")
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


def _scatter(s: Section) -> str:
    """Inline SVG: FPS (log x) against the first quality column, when the section has both."""
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
    w, h, m = 480, 300, 40
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs) - 0.1, max(xs) + 0.1
    y0, y1 = min(ys), max(ys)
    y0, y1 = (y0 - 1, y1 + 1) if y0 == y1 else (y0 - 0.05 * (y1 - y0), y1 + 0.05 * (y1 - y0))

    def px(x: float) -> float:
        return m + (x - x0) / (x1 - x0) * (w - 2 * m)

    def py(y: float) -> float:
        return h - m - (y - y0) / (y1 - y0) * (h - 2 * m)

    dots = "".join(
        f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4"><title>{html.escape(n)}</title></circle>'
        f'<text x="{px(x) + 6:.1f}" y="{py(y) - 6:.1f}" font-size="10">{html.escape(n)}</text>'
        for x, y, n in pts
    )
    axes = (
        f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="#888"/>'
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="#888"/>'
        f'<text x="{w / 2}" y="{h - 8}" font-size="11" text-anchor="middle">FPS (log scale)</text>'
        f'<text x="12" y="{h / 2}" font-size="11" transform="rotate(-90 12 {h / 2})" text-anchor="middle">'
        f"{html.escape(qual.label)}</text>"
    )
    return f'<svg class="scatter" width="{w}" height="{h}" role="img">{axes}{dots}</svg>'


def to_html(sections: list[Section], title: str = "Leaderboard") -> str:
    """A self-contained HTML page (inline CSS/JS/SVG; no external resources)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_CSS}</style><script>{_JS}</script></head><body>",
        f"<h1>{e(title)}</h1>",
        '<p><input id="filter" type="search" placeholder="filter methods"></p>',
        "<p>↑ higher is better, ↓ lower is better; bold is best among re-run rows (and among reported rows). "
        "Click a column header to sort. Reported rows are transcribed from papers and use their own protocols.</p>",
    ]
    for s in sections:
        parts.append(f'<section data-dataset="{e(s.dataset)}"><h2>{e(s.title)}</h2>')
        if s.protocols:
            parts.append("<ul>" + "".join(f"<li>protocol: {e(p)}</li>" for p in s.protocols) + "</ul>")
        parts.append(_scatter(s))
        head = '<th data-sort="n">#</th><th data-sort="s">Method</th>' + "".join(
            f'<th data-sort="n" title="{e(c.key)} ({e(c.scale)})">{e(c.label)} {_arrow(c.higher_is_better)}</th>'
            for c in s.columns
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
        for r in s.rows:
            cls = "reported" if r.reported else "measured"
            label = e(r.method) + (" (reported)" if r.reported else "")
            details = {"protocol": r.protocol, "provenance": r.provenance}
            if r.citation:
                details["citation"] = r.citation
            info = e(json.dumps(details, indent=1, sort_keys=True, default=str))
            pos = "" if r.position is None else str(r.position)
            cells = [
                f'<td data-v="{pos}">{pos}</td>',
                f'<td class="m" data-v="{e(r.method)}">{label}<details><summary>details</summary>'
                f"<pre>{info}</pre></details></td>",
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
            parts.append(f'<tr class="{cls}" data-method="{e(r.method)}">{"".join(cells)}</tr>')
        parts.append("</tbody></table></section>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"
