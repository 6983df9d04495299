"""A tiny document model (sections, paragraphs, tables) rendered to Markdown and to one HTML file.

Both formats come from the same document, so the page a reviewer opens and the Markdown attached
to an approval can never disagree.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field


@dataclass
class Table:
    """A table of a report document: headers, rows, and what to say when it is empty."""

    headers: list[str]
    rows: list[list[str]]
    empty: str = "None."
    caption: str = ""  # a sentence above the table


@dataclass
class Groups:
    """A table whose rows each open (HTML `<details>`) onto a table of their members; Markdown
    shows the rows alone."""

    headers: list[str]
    rows: list[tuple[list[str], Table]]
    empty: str = "None."
    # Markdown has no <details>: True also prints each row's members there, under its first cell.
    markdown_members: bool = False
    widths: tuple[int, ...] = ()  # relative column widths in the HTML page (default: by header)


@dataclass
class Section:
    """A titled part of a report document holding text, tables and sub-sections."""

    title: str
    blocks: list[str | Table | Groups | Section] = field(default_factory=list)
    anchor: str = ""

    def add(self, block: str | Table | Groups | Section) -> Section:
        self.blocks.append(block)
        return self

    def slug(self) -> str:
        return self.anchor or re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(
    headers: list[str], rows: list[list[str]], empty: str, caption: str = ""
) -> list[str]:
    if not rows:
        return [empty, ""]
    out = [caption, ""] if caption else []
    out += ["| " + " | ".join(_md_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def _md_groups(groups: Groups) -> list[str]:
    out = _md_table(groups.headers, [row for row, _ in groups.rows], groups.empty)
    if groups.markdown_members:
        for row, members in groups.rows:
            out += [f"**{row[0]}**", ""]
            out += _md_table(members.headers, members.rows, members.empty, members.caption)
    return out


def markdown(section: Section, level: int = 1) -> str:
    out = [f"{'#' * min(level, 6)} {section.title}", ""]
    for block in section.blocks:
        if isinstance(block, Section):
            out.append(markdown(block, level + 1))
        elif isinstance(block, Table):
            out += _md_table(block.headers, block.rows, block.empty, block.caption)
        elif isinstance(block, Groups):
            out += _md_groups(block)
        else:
            out += [block, ""]
    return "\n".join(out)


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328}
header{background:#232f3e;color:#fff;padding:16px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9d1d9}main{padding:8px 32px 48px;max-width:1400px}
h2{border-bottom:2px solid #d0d7de;padding-bottom:4px;margin-top:32px}h3{margin-top:24px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr:nth-child(even) td{background:#fbfcfd}
td code,p code{font-size:12px;word-break:break-all}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}
.warn{color:#9a6700;font-weight:600}nav{margin:12px 0;font-size:13px}nav a{margin-right:12px}
.verdict{font-size:16px;padding:8px 12px;border-left:4px solid #1a7f37;background:#f0fff4}
.verdict.fail{border-color:#cf222e;background:#fff5f5}.provenance{color:#57606a;font-size:12px}
#filter{position:sticky;top:0;background:#fff;padding:8px 0;z-index:1;font-size:13px}
#filter input{width:360px;padding:4px 8px;font-size:14px}
#filter span{margin-left:12px;color:#57606a}
.groups{border:1px solid #d0d7de;margin:8px 0 16px;font-size:13px}
.groups .row{display:grid;grid-template-columns:var(--cols);gap:0 12px;padding:4px 8px}
.groups .head{background:#f6f8fa;font-weight:600;border-bottom:1px solid #d0d7de}
.groups details{border-top:1px solid #d0d7de}.groups details:first-of-type{border-top:0}
.groups summary{cursor:pointer;list-style:none}.groups summary::-webkit-details-marker{display:none}
.groups summary .row:hover{background:#f6f8fa}
.groups summary .row>span:first-child::before{content:"▸ "}
.groups details[open] summary .row>span:first-child::before{content:"▾ "}
.groups details table{margin:0 0 8px 24px;width:calc(100% - 32px)}
.groups details>p{margin:4px 8px 4px 24px}.groups code{font-size:12px;word-break:break-all}
.hidden{display:none!important}td strong{color:#cf222e}
"""

# Filters every table row and collapsible group of the page as you type (no network, no library).
_SCRIPT = """
(function(){
var box=document.getElementById('filter-box'),out=document.getElementById('filter-count');
var groups=[].slice.call(document.querySelectorAll('main details.group'));
var rows=[].slice.call(document.querySelectorAll('main tbody tr'))
  .filter(function(r){return !r.closest('details.group');});
function has(el,q){return el.textContent.toLowerCase().indexOf(q)>=0;}
box.addEventListener('input',function(){
  var q=box.value.trim().toLowerCase(),n=0;
  rows.forEach(function(r){var hit=!q||has(r,q);r.classList.toggle('hidden',!hit);if(hit)n++;});
  groups.forEach(function(g){
    var whole=!q||has(g.querySelector('summary'),q),any=false;
    [].forEach.call(g.querySelectorAll('tbody tr'),function(r){
      var hit=whole||has(r,q);r.classList.toggle('hidden',!hit);any=any||hit;});
    g.classList.toggle('hidden',!any);g.open=!!q&&any;if(any)n++;});
  out.textContent=q?n+' of '+(rows.length+groups.length)+' rows match':'';});
})();
"""

# Paragraphs that start with these are styled as the page's headline and provenance line.
VERDICT = "Gate: "
PROVENANCE = "Provenance: "
_FILTER = (
    '<div id="filter"><input id="filter-box" type="search" placeholder="Filter rows: rule, '
    'construct, principal, owner..." aria-label="Filter rows"><span id="filter-count"></span></div>'
)

_BADGES = {"yes": "ok", "pass": "ok", "success": "ok", "no": "bad", "FAIL": "bad", "open": "bad"}


def _html_cell(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', escaped)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    badge = _BADGES.get(text)
    return f'<span class="{badge}">{escaped}</span>' if badge else escaped


def _html_table(table: Table) -> str:
    caption = f"<p>{_html_cell(table.caption)}</p>" if table.caption else ""
    if not table.rows:
        return f"{caption}<p>{html.escape(table.empty)}</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    return f"{caption}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_groups(groups: Groups) -> str:
    if not groups.rows:
        return f"<p>{html.escape(groups.empty)}</p>"
    shares = groups.widths or tuple(3 if len(h) > 12 else 1 for h in groups.headers)
    widths = " ".join(f"minmax(0,{share}fr)" for share in shares)
    head = "".join(f"<span>{html.escape(h)}</span>" for h in groups.headers)
    rows = "".join(
        '<details class="group"><summary><div class="row">'
        + "".join(f"<span>{_html_cell(c)}</span>" for c in cells)
        + f"</div></summary>{_html_table(members)}</details>"
        for cells, members in groups.rows
    )
    style = f'class="groups" style="--cols:{widths}"'
    return f'<div {style}><div class="row head">{head}</div>{rows}</div>'


def _html_block(block: str | Table | Groups | Section, level: int) -> str:
    if isinstance(block, Section):
        tag = f"h{min(level, 6)}"
        inner = "".join(_html_block(b, level + 1) for b in block.blocks)
        title = f"<{tag}>{html.escape(block.title)}</{tag}>"
        return f'<section id="{block.slug()}">{title}{inner}</section>'
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Groups):
        return _html_groups(block)
    text = html.escape(block)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    if block.startswith(VERDICT):
        kind = "verdict" if "**pass**" in block.lower() else "verdict fail"
        return f'<p class="{kind}">{text}</p>'
    if block.startswith(PROVENANCE):
        return f'<p class="provenance">{text}</p>'
    return f"<p>{text}</p>"


def page(section: Section, subtitle: str) -> str:
    """One self-contained HTML page: inline CSS and script, no external requests."""
    nav = "".join(
        f'<a href="#{b.slug()}">{html.escape(b.title)}</a>'
        for b in section.blocks
        if isinstance(b, Section)
    )
    # The verdict and provenance (leading paragraphs) come first, then navigation and filter.
    lead = 0
    while lead < len(section.blocks) and isinstance(section.blocks[lead], str):
        lead += 1
    head = "".join(_html_block(b, 2) for b in section.blocks[:lead])
    body = "".join(_html_block(b, 2) for b in section.blocks[lead:])
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(section.title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{html.escape(section.title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<main>{head}<nav>{nav}</nav>{_FILTER}{body}</main><script>{_SCRIPT}</script>"
        "</body></html>\n"
    )
