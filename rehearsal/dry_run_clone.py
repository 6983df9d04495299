"""A scratch clone of the repository for the dry run: HEAD plus the uncommitted tracked changes,
sharing the checkout's installed environments (.venv, .venv-scanners, node_modules) by symlink.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SHARED = (".venv", ".venv-scanners", "node_modules")
# Older than any install stamp: make must not see the fresh checkout as newer than .venv.
_OLD = 946684800.0  # 2000-01-01


def _git(*args: str, cwd: Path, stdin: bytes | None = None) -> bytes:
    return subprocess.run(  # noqa: S603 - fixed git argv
        ["git", "-c", "advice.detachedHead=false", *args],  # noqa: S607 - git from PATH
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=True,
    ).stdout


def scratch_clone(repo: Path, into: Path) -> tuple[Path, str]:
    """Clone `repo` into `into`/repo; return the clone and a description of what it holds."""
    clone = into / "repo"
    head = _git("rev-parse", "HEAD", cwd=repo).decode().strip()
    _git("clone", "--quiet", "--no-checkout", str(repo.resolve()), str(clone), cwd=into)
    _git("checkout", "--quiet", head, cwd=clone)
    described = f"clone of {head[:10]}"
    diff = _git("diff", "HEAD", "--binary", cwd=repo)
    if diff.strip():
        _git("apply", "--whitespace=nowarn", "-", cwd=clone, stdin=diff)
        described += " + uncommitted changes (untracked files left out)"
    for folder, _, files in os.walk(clone):
        if "/.git" in folder or folder.endswith(".git"):
            continue
        for name in files:
            os.utime(Path(folder) / name, (_OLD, _OLD), follow_symlinks=False)
    for name in SHARED:
        source = repo / name
        if source.exists():
            (clone / name).symlink_to(source.resolve(), target_is_directory=True)
    return clone, described
