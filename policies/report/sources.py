"""Where in the repository a construct is defined: its construct path to a source file and line.

Construct ids are written as string literals where the construct is created (`Queue(self,
"DeadLetter", ...)`), so the deepest segment of a path found as such a literal, searched first in
the service package its first segment names, is the line that creates it. Segments CDK generates
(`Resource`, `DefaultPolicy`) or that come from data (a provider's name) are never literals and
are skipped. Used for SARIF locations, which code scanning wants in files of the repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Folders whose modules create constructs (Lambda code, CLIs and tests do not).
_SKIP = ("runtime", "providers", "ops", "verify", "bootstrap", "__pycache__")


@dataclass(frozen=True)
class SourceLocation:
    """A file relative to the repository root and a 1-based line in it."""

    path: str
    line: int


@cache
def _modules(root: Path, folder: str) -> tuple[Path, ...]:
    base = root / folder
    if not base.is_dir():
        return ()
    return tuple(
        sorted(p for p in base.rglob("*.py") if not set(p.relative_to(root).parts) & set(_SKIP))
    )


# A construct id argument: a string (or f-string) literal alone on its line, right after the
# scope argument (`(self, "Id"` or `self, "Id"`) or first in a call (`self._topic("Id", ...)`),
# followed by `,` or `)`.
_ID = re.compile(
    r'(?:^\s*|^\s*\w+\s*,\s*|\(\s*\w+\s*,\s*|\(\s*)(f?)"([^"{}]*(?:\{[^"}]*\}[^"{}]*)*)"\s*[,)]'
)
# An f-string id needs this many literal characters to name anything (f"{name}" names nothing).
_MIN_LITERAL = 3


@cache
def _ids(path: Path) -> tuple[tuple[int, re.Pattern[str]], ...]:
    """(line, pattern of the construct id) of every construct id literal in a module."""
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for match in _ID.finditer(line):
            if line[: match.start()].rstrip().endswith("find_child"):
                continue  # a lookup of an existing child (node.find_child("Id")), not a creation
            is_f, text = match.groups()
            if not is_f:
                found.append((number, re.compile(re.escape(text))))
                continue
            parts = re.split(r"\{[^}]*\}", text)
            if sum(len(part) for part in parts) >= _MIN_LITERAL:
                found.append((number, re.compile("[^/]+".join(re.escape(p) for p in parts))))
    return tuple(found)


def _scope(root: Path, stack_path: str, first: str) -> list[Path]:
    """Where a construct of the stack can be created: the toolchain's modules, or the service
    package the path's first segment names, and the shared service code."""
    files: list[Path] = []
    if "/" not in stack_path:  # the toolchain stack
        files += _modules(root, "pipeline")
    elif (root / "services" / first.lower()).is_dir():
        files += _modules(root, f"services/{first.lower()}")
    return files + list(_modules(root, "services/common"))


def _find(segment: str, files: list[Path], root: Path) -> SourceLocation | None:
    for path in files:
        for number, pattern in _ids(path):
            if pattern.fullmatch(segment):
                return SourceLocation(path.relative_to(root).as_posix(), number)
    return None


def locate(construct_path: str, stack_path: str, root: Path = ROOT) -> SourceLocation | None:
    """The source file and line that create the construct (its deepest id written in the code),
    else where the stack composes its first segment; None outside a repository."""
    segments = [s for s in construct_path.removeprefix(stack_path).split("/") if s]
    if not segments:
        return None
    scope = _scope(root, stack_path, segments[0])
    for segment in reversed(segments):
        found = _find(segment, scope, root)
        if found is not None:
            return found
    wiring = list(_modules(root, "stages")) + list(_modules(root, "pipeline"))
    return _find(segments[0], wiring, root) or _stack_class(root, stack_path)


def _stack_class(root: Path, stack_path: str) -> SourceLocation | None:
    """Last resort: the class of the stack itself (toolchain or Stage stack)."""
    module = root / (
        "pipeline/pipeline_stack.py" if "/" not in stack_path else "stages/messaging_stack.py"
    )
    if not module.is_file():
        return None
    lines = module.read_text().splitlines()
    line = next(
        (n for n, text in enumerate(lines, start=1) if re.match(r"class \w+Stack\b", text)), 1
    )
    return SourceLocation(module.relative_to(root).as_posix(), line)
