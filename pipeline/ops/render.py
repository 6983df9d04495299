"""The release's security diff (diff.json) as a short terminal summary: the verdict, then who
outside the account gains access, IAM, resource policies, encryption, acknowledgements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

# Rows shown per table; the rest is counted and left to the full report.
MAX_ROWS = 8

Row = Callable[[Any], list[str]]


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value) or "-"
    return str(value) if value not in (None, "") else "-"


def _permission(item: Any) -> list[str]:
    role, p = item
    return [role, p["effect"], p["action"], p["resource"], p.get("condition") or ""]


def _grant(item: Any) -> list[str]:
    policy, g = item
    return [policy, g["principal"], g["effect"], g["action"], g.get("condition") or ""]


def _finding(item: Any) -> list[str]:
    return [item["rule"], item["path"], item.get("reason") or item.get("description") or ""]


def _changed(item: Any) -> list[str]:
    before, after = item
    return [after["rule"], after["path"], f"{before.get('reason')} -> {after.get('reason')}"]


def _outside(item: Any) -> list[str]:
    return [item["who"], item["principal"], item["actions"], item["resource"]]


def _triple(item: Any) -> list[str]:
    return [_text(v) for v in item]


PERMISSION = ["Role", "Effect", "Action", "Resource", "Condition"]
GRANT = ["Policy", "Principal", "Effect", "Action", "Condition"]
FINDING = ["Rule", "Construct", "Reason"]
OUTSIDE = ["Account", "Principal", "Actions", "Policy"]
# diff.json's keys per unit, in reading order: (key, title, headers, row).
SECTIONS: tuple[tuple[str, str, list[str], Row], ...] = (
    ("outside_added", "Outside access GAINED", OUTSIDE, _outside),
    ("outside_removed", "Outside access lost", OUTSIDE, _outside),
    ("added_permissions", "IAM: added permissions", PERMISSION, _permission),
    ("removed_permissions", "IAM: removed permissions", PERMISSION, _permission),
    ("trust_changes", "IAM: trust changes", ["Role", "Before", "After"], _triple),
    ("added_policy_grants", "Resource policies: added grants", GRANT, _grant),
    ("removed_policy_grants", "Resource policies: removed grants", GRANT, _grant),
    ("encryption_changes", "Encryption", ["Data store", "Key before", "Key after"], _triple),
    ("new_acknowledgements", "Acknowledgements: new", FINDING, _finding),
    ("removed_acknowledgements", "Acknowledgements: removed", FINDING, _finding),
    ("changed_acknowledgements", "Acknowledgements: reason changed", FINDING, _changed),
    ("new_findings", "Open findings: new", FINDING, _finding),
    ("resolved_findings", "Findings resolved", FINDING, _finding),
)
BROADENING = ("outside_added", "added_permissions", "trust_changes", "added_policy_grants")


def _base(base: Any) -> str:
    """The base release as diff.json names it: a label, or its commit and execution."""
    if not isinstance(base, dict):
        return _text(base)
    if base.get("label"):
        return str(base["label"])
    commit = str(base.get("commit", "?"))[:12]
    execution = base.get("execution") or "local build"
    return f"commit {commit} (execution {execution})"


def broadens(diff: dict[str, Any]) -> bool:
    return bool(diff.get("added_units")) or any(
        unit.get(key) for unit in diff.get("units", []) for key in BROADENING
    )


def _table(title: str, headers: list[str], rows: list[list[str]], total: int) -> Table:
    more = f" (first {len(rows)} of {total})" if total > len(rows) else ""
    table = Table(
        title=f"{title}{more}",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
    )
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def unit_view(unit: dict[str, Any]) -> list[RenderableType]:
    """The tables of one unit's changes; keys diff.json gained since are counted, not lost."""
    parts: list[RenderableType] = []
    for key, title, headers, row in SECTIONS:
        items = unit.get(key) or []
        if items:
            rows = [[_text(c) for c in row(item)] for item in items[:MAX_ROWS]]
            parts.append(_table(title, headers, rows, len(items)))
    known = {key for key, *_ in SECTIONS} | {"unit"}
    other = {k: len(v) for k, v in unit.items() if k not in known and isinstance(v, list) and v}
    if other:
        counted = ", ".join(f"{k.replace('_', ' ')}: {n}" for k, n in sorted(other.items()))
        parts.append(Text(f"Also changed (see the full report): {counted}"))
    return parts


def review_view(diff: dict[str, Any] | None) -> Group:
    """The verdict first, then each unit's changes."""
    parts: list[RenderableType] = []
    if diff is None:
        parts.append(Text("First release: no base release to compare with.", style="bold"))
    else:
        if diff.get("base"):
            parts.append(Text(f"Compared with {_base(diff['base'])}"))
        verdict = (
            Text("This release BROADENS permissions: read the changes below.", style="bold red")
            if broadens(diff)
            else Text("This release adds no permission, grant or trust.", style="bold green")
        )
        parts.append(verdict)
        for kind in ("added_units", "removed_units"):
            if diff.get(kind):
                parts.append(Text(f"{kind.replace('_', ' ')}: {', '.join(diff[kind])}"))
        quiet = []
        for unit in diff.get("units", []):
            view = unit_view(unit)
            if not view:
                quiet.append(unit["unit"])
                continue
            parts.append(Text(f"\n{unit['unit']}", style="bold underline"))
            parts += view
        if quiet:
            parts.append(Text(f"No security-relevant change: {', '.join(quiet)}"))
    return Group(*parts)


def show(console: Console, diff: dict[str, Any] | None, link: str) -> None:
    console.print(review_view(diff))
    # On one line however wide: a URL folded or cropped by the renderer is no longer clickable.
    console.print(f"Full report: {link}", soft_wrap=True)
