"""The secret gate: a new secret fails the build, an audited one in the baseline does not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from scripts import check_secrets

LEAK = 'aws_access_key_id = "AKIAZZZZZZZZZZZZZZZZ"\n'  # pragma: allowlist secret


def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "settings.py").write_text(LEAK)
    subprocess.run(["git", "-C", str(tmp_path), "add", "settings.py"], check=True)
    (tmp_path / ".secrets.baseline").write_text(json.dumps({"results": {}}))
    return tmp_path


def test_a_new_secret_fails_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repo(tmp_path)
    assert check_secrets.main(["--root", str(root)]) == 1
    assert "secret: settings.py:1: AWS Access Key" in capsys.readouterr().out


def test_an_audited_secret_in_the_baseline_passes(tmp_path: Path) -> None:
    root = repo(tmp_path)
    scan = check_secrets.scan(root)
    (root / ".secrets.baseline").write_text(json.dumps({"results": scan}))
    (root / "settings.py").write_text("# moved down a line\n" + LEAK)
    assert check_secrets.main(["--root", str(root)]) == 0


def test_a_tree_without_git_is_scanned_file_by_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """CodePipeline's source artifact has no .git: `detect-secrets scan` alone lists git-tracked
    files and would scan nothing there, so the gate walks the tree (less installs)."""
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "settings.py").write_text(LEAK)
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "vendored.py").write_text(LEAK)
    (tmp_path / ".secrets.baseline").write_text(json.dumps({"results": {}}))
    assert check_secrets.main(["--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "secret: services/settings.py:1: AWS Access Key" in out
    assert "node_modules" not in out
