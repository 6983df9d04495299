"""Merge look-alike report items: constructs whose paths differ in one segment (a provider's name)
and whose rows are the same once that segment is written `{name}` are shown once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

PLACEHOLDER = "{name}"


@dataclass
class Alike:
    """Items merged into one: the path with `{name}`, the names it stands for, the shared rows."""

    path: str
    names: list[str]
    rows: list[list[str]]

    def label(self) -> str:
        if not self.names:
            return f"`{self.path}`"
        return f"`{self.path}` ({PLACEHOLDER} = {', '.join(self.names)})"


def _normalized(rows: list[list[str]], name: str) -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(cell.replace(name, PLACEHOLDER).replace(name.lower(), PLACEHOLDER) for cell in row)
        for row in rows
    )


Key = tuple[str, int, tuple[tuple[str, ...], ...]]


def _keys(path: str, rows: list[list[str]]) -> list[Key]:
    segments = path.split("/")
    keys: list[Key] = []
    for index, name in enumerate(segments):
        if len(name) < 3 or not name[0].isupper():  # only a name-like segment may vary
            continue
        shape = "/".join([*segments[:index], PLACEHOLDER, *segments[index + 1 :]])
        keys.append((shape, index, _normalized(rows, name)))
    return keys


def merge(items: list[tuple[str, list[list[str]]]]) -> list[Alike]:
    """Items (path, rows) in their order, each merged with the others it matches in one segment."""
    counts = Counter(key for path, rows in items for key in set(_keys(path, rows)))
    merged: dict[str | Key, Alike] = {}
    for path, rows in items:
        best = max(_keys(path, rows), key=lambda k: counts[k], default=None)
        if best is None or counts[best] < 2:
            merged[path] = Alike(path, [], rows)
            continue
        shape, index, normalized = best
        name = path.split("/")[index]
        if best not in merged:
            merged[best] = Alike(shape, [], [list(row) for row in normalized])
        merged[best].names.append(name)
    return list(merged.values())
