"""A scratch copy of the working tree for the dry run (a git clone of HEAD plus uncommitted and
untracked files; a plain copy where there is no .git, as in CodeBuild's source artifact),
sharing the checkout's installed environments (.venv, .venv-scanners, node_modules) by symlink.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SHARED = (".venv", ".venv-scanners", "node_modules")
# Never copied: build outputs, caches and the shared environments (symlinked instead).
_IGNORED = (
    *SHARED,
    ".git",
    "cdk.out",
    "reports",
    ".bench",
    ".*_cache",
    ".hypothesis",
    "__pycache__",
)
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


def _git_clone(repo: Path, clone: Path) -> str:
    head = _git("rev-parse", "HEAD", cwd=repo).decode().strip()
    _git("clone", "--quiet", "--no-checkout", str(repo), str(clone), cwd=clone.parent)
    _git("checkout", "--quiet", head, cwd=clone)
    described = f"git clone of {head[:10]}"
    diff = _git("diff", "HEAD", "--binary", cwd=repo)
    if diff.strip():
        _git("apply", "--whitespace=nowarn", "-", cwd=clone, stdin=diff)
        described += " + uncommitted changes"
    untracked = _git("ls-files", "--others", "--exclude-standard", "-z", cwd=repo).split(b"\0")
    copied = 0
    for name in filter(None, untracked):
        relative = Path(os.fsdecode(name))
        if relative.parts[0] in SHARED or not (repo / relative).is_file():
            continue
        (clone / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / relative, clone / relative)
        copied += 1
    return described + (f" + {copied} untracked files" if copied else "")


def scratch_clone(repo: Path, into: Path) -> tuple[Path, str]:
    """Copy `repo`'s working tree to `into`/repo; return the copy and what it holds."""
    repo = repo.resolve()
    clone = into / "repo"
    if (repo / ".git").exists() and shutil.which("git"):
        described = _git_clone(repo, clone)
    else:
        shutil.copytree(repo, clone, symlinks=True, ignore=shutil.ignore_patterns(*_IGNORED))
        described = "copy of the working tree (no .git)"
    for folder, folders, files in os.walk(clone):
        folders[:] = [f for f in folders if f != ".git"]
        for name in files:
            os.utime(Path(folder) / name, (_OLD, _OLD), follow_symlinks=False)
    for name in SHARED:
        source = repo / name
        if source.exists() and not (clone / name).exists():
            (clone / name).symlink_to(source.resolve(), target_is_directory=True)
    return clone, described
