"""Construct path patterns of the acknowledgements registry: what they may say, and what they match.

A pattern is a construct path whose segments (split on '/') may vary, under these rules:

- `*`, `?` and `[...]` match inside one segment only, never across '/';
- `{name}` (lower case) is a whole segment: it matches exactly one segment, captures it for the
  rule id (`{name}`, `{name:lower}`), and says what varies there (`{stage}`, `{provider}`);
  at most two per pattern, each name once, never two side by side;
- every other segment carries at least one literal character: a segment of wildcards alone
  (`*`, `?*`, `[a-z]*`) is refused, a varying segment is named with a placeholder instead;
- at least three segments; the first (the root construct) and the last two (the construct that
  owns the finding and its resource, e.g. `Processor/Resource`) are never placeholders.

What a valid pattern may still not do is match more than its findings: see acknowledgements.py.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import pairwise

PLACEHOLDER = re.compile(r"^\{([a-z_]+)\}$")
_WILDCARD = re.compile(r"(\*|\?|\[!?[^\]/]+\])")
MAX_PLACEHOLDERS = 2


def problem(pattern: str) -> str | None:
    """Why `pattern` may not be used (one line), or None when it is acceptable."""
    segments = pattern.split("/")
    if any(not s for s in segments):
        return "has an empty segment"
    if len(segments) < 3:
        return "is too broad; name the construct, not a stack or Stage"
    names = [m[1] for s in segments if (m := PLACEHOLDER.match(s))]
    for segment in segments:
        if ("{" in segment or "}" in segment) and not PLACEHOLDER.match(segment):
            return f"segment {segment!r}: a {{placeholder}} must be a whole segment"
        if not PLACEHOLDER.match(segment) and not _WILDCARD.sub("", segment):
            return (
                f"segment {segment!r} is only wildcards; it matches any construct: "
                "name what varies with a placeholder such as {stage}"
            )
    if len(names) != len(set(names)):
        return "uses a placeholder name twice"
    free = [bool(PLACEHOLDER.match(s)) for s in segments]
    if free[0] or free[-1] or free[-2]:
        return (
            "is too broad; the root and the last two segments (the construct and its "
            "resource) must be named"
        )
    if len(names) > MAX_PLACEHOLDERS:
        return f"has {len(names)} placeholders; at most {MAX_PLACEHOLDERS} (name the construct)"
    if any(a and b for a, b in pairwise(free)):
        return "has two placeholders side by side; name the construct between them"
    return None


@cache
def regex(pattern: str) -> re.Pattern[str]:
    """The compiled pattern: wildcards stay inside a segment, {name} captures one segment."""
    return re.compile("/".join(_segment(segment) for segment in pattern.split("/")))


def literal(segment: str) -> bool:
    """True for a segment that names one construct id (no placeholder, no wildcard)."""
    return not PLACEHOLDER.match(segment) and not _WILDCARD.search(segment)


@cache
def segments(pattern: str) -> tuple[re.Pattern[str], ...]:
    """One compiled regex per segment: a path matches `regex(pattern)` exactly when each of its
    '/'-separated segments matches these in turn (no part of a pattern matches a '/')."""
    return tuple(re.compile(_segment(segment)) for segment in pattern.split("/"))


def _segment(segment: str) -> str:
    found = PLACEHOLDER.match(segment)
    if found:
        return f"(?P<{found[1]}>[^/]+)"
    parts = []
    for part in _WILDCARD.split(segment):
        if part == "*":
            parts.append("[^/]*")
        elif part == "?":
            parts.append("[^/]")
        elif _WILDCARD.fullmatch(part):
            body = part[1:-1]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace(r"\-", "-")
            parts.append(f"[^/{body}]" if negate else f"[{body}]")
        else:
            parts.append(re.escape(part))
    return "".join(parts)
