"""The layout's one rule: a folder imports only from folders below it (README, "Layout").

app.py -> pipeline/ -> stages/ -> policies/, config/ -> services/, cloud_assembly/; rehearsal/,
bench/ and scripts/ sit beside the app and may import anything. Imports inside functions count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.synth import ROOT

# What each source folder may import from the project (besides itself).
ALLOWED = {
    "cloud_assembly": set(),
    "services": set(),
    "config": {"services"},
    "policies": {"services", "cloud_assembly"},
    "stages": {"config", "services"},
    "pipeline": {"stages", "config", "services", "policies", "cloud_assembly"},
}
PROJECT = {*ALLOWED, "app", "rehearsal", "bench", "scripts", "tests"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & PROJECT


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_a_folder_imports_only_from_folders_below_it(folder: str) -> None:
    upward = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for name in _imports(path) - ALLOWED[folder] - {folder}
    }
    assert upward == set()
