"""mypy follows exactly the aws_cdk submodules the source imports (pyproject.toml): one it does
not follow is typed Any, so a new import missing from the list would go unchecked."""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from pathlib import Path
from typing import Any

from tests.support.synth import ROOT


def _mypy() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    return config


def _source_files() -> list[Path]:
    files = []
    for entry in _mypy()["files"]:
        path = ROOT / entry
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def _aws_cdk_submodules() -> set[str]:
    """The submodules of the installed aws_cdk (found on disk: importing it would start jsii)."""
    spec = importlib.util.find_spec("aws_cdk")
    assert spec is not None
    assert spec.submodule_search_locations
    (package,) = spec.submodule_search_locations
    return {p.name for p in Path(package).iterdir() if (p / "__init__.py").is_file()}


def imported_aws_cdk_modules(files: list[Path], submodules: set[str]) -> set[str]:
    """aws_cdk and each submodule the files import (`from aws_cdk import aws_x`, `import
    aws_cdk.aws_x`, `from aws_cdk.aws_x import ...`), inside functions too."""
    found = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
                if node.module == "aws_cdk":
                    names += [f"aws_cdk.{a.name}" for a in node.names if a.name in submodules]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "aws_cdk":
                    found.add(".".join(parts[:2]))
    return found


def _followed() -> set[str]:
    (entry,) = [o for o in _mypy()["overrides"] if o.get("follow_imports") == "normal"]
    return set(entry["module"])


def test_mypy_follows_exactly_the_aws_cdk_modules_the_source_imports() -> None:
    submodules = _aws_cdk_submodules()
    assert {"aws_lambda", "aws_medialive", "pipelines"} <= submodules
    imported = imported_aws_cdk_modules(_source_files(), submodules)
    assert {"aws_cdk", "aws_cdk.aws_lambda", "aws_cdk.pipelines"} <= imported
    assert _followed() == imported


def test_the_rest_of_aws_cdk_is_skipped() -> None:
    skipped = [o for o in _mypy()["overrides"] if o.get("follow_imports") == "skip"]
    assert [o["module"] for o in skipped] == [["aws_cdk.*"]]


def test_every_import_form_counts(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "import aws_cdk.aws_sqs\n"
        "from aws_cdk.aws_sns import Topic\n"
        "from aws_cdk import Duration, aws_kms as kms\n"
        "def f():\n    from aws_cdk import aws_s3\n"
    )
    found = imported_aws_cdk_modules([source], {"aws_kms", "aws_s3", "aws_sqs", "aws_sns"})
    assert found == {
        "aws_cdk",
        "aws_cdk.aws_sqs",
        "aws_cdk.aws_sns",
        "aws_cdk.aws_kms",
        "aws_cdk.aws_s3",
    }
