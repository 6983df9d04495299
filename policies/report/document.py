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


@dataclass
class Section:
    """A titled part of a report document holding text, tables and sub-sections."""

    title: str
    blocks: list[str | Table | Section] = field(default_factory=list)
    anchor: str = ""

    def add(self, block: str | Table | Section) -> Section:
        self.blocks.append(block)
        return self

    def slug(self) -> str:
        return self.anchor or re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(section: Section, level: int = 1) -> str:
    out = [f"{'#' * min(level, 6)} {section.title}", ""]
    for block in section.blocks:
        if isinstance(block, Section):
            out.append(markdown(block, level + 1))
        elif isinstance(block, Table):
            if not block.rows:
                out += [block.empty, ""]
                continue
            out.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            out.append("|" + "---|" * len(block.headers))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            out.append("")
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
"""

_BADGES = {"yes": "ok", "pass": "ok", "success": "ok", "no": "bad", "FAIL": "bad", "open": "bad"}


def _html_cell(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', escaped)
    badge = _BADGES.get(text)
    return f'<span class="{badge}">{escaped}</span>' if badge else escaped


def _html_block(block: str | Table | Section, level: int) -> str:
    if isinstance(block, Section):
        tag = f"h{min(level, 6)}"
        inner = "".join(_html_block(b, level + 1) for b in block.blocks)
        title = f"<{tag}>{html.escape(block.title)}</{tag}>"
        return f'<section id="{block.slug()}">{title}{inner}</section>'
    if isinstance(block, Table):
        if not block.rows:
            return f"<p>{html.escape(block.empty)}</p>"
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in row) + "</tr>"
            for row in block.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    text = html.escape(block)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return f"<p>{text}</p>"


def page(section: Section, subtitle: str) -> str:
    """One self-contained HTML page: inline CSS, no scripts, no external requests."""
    nav = "".join(
        f'<a href="#{b.slug()}">{html.escape(b.title)}</a>'
        for b in section.blocks
        if isinstance(b, Section)
    )
    body = "".join(_html_block(b, 2) for b in section.blocks)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(section.title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{html.escape(section.title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<main><nav>{nav}</nav>{body}</main></body></html>\n"
    )
