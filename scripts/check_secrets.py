"""Fail on any secret detect-secrets finds in the source tree that the committed baseline lacks.

In a git checkout the tracked files are scanned; without `.git` (a CodePipeline source artifact)
the files on disk are, less installs and build outputs, so the gate never scans nothing.
Baseline entries are matched by file and secret hash, not line number. Writes the scan.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

# Binary or generated files whose high-entropy strings are not credentials.
EXCLUDE = r"^(package-lock\.json|docs/.*\.(png|svg)|\.secrets\.baseline)$"


def known(baseline: Path) -> set[tuple[str, str]]:
    data = json.loads(baseline.read_text())
    return {(f, s["hashed_secret"]) for f, found in data["results"].items() for s in found}


# Not source: installs, build and test outputs, caches (what .gitignore lists).
SKIP_DIRS = {
    ".git", ".venv", ".venv-scanners", "node_modules", "cdk.out", "reports", ".bench",
    "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
}  # fmt: skip


def files_on_disk(root: Path) -> list[str]:
    """Every file under `root` (relative, sorted) except SKIP_DIRS and EXCLUDE."""
    found = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in files:
            relative = (Path(here) / name).relative_to(root).as_posix()
            if not re.match(EXCLUDE, relative):
                found.append(relative)
    return sorted(found)


def scan(root: Path) -> dict[str, list[dict[str, object]]]:
    paths = [] if (root / ".git").exists() else files_on_disk(root)
    if not (root / ".git").exists() and not paths:
        raise SystemExit(f"secrets: {root} has no files to scan")
    completed = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "--exclude-files", EXCLUDE, *paths],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    results: dict[str, list[dict[str, object]]] = json.loads(completed.stdout)["results"]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--baseline", type=Path, default=Path(".secrets.baseline"))
    parser.add_argument("--out", type=Path, help="write the scan results here (JSON)")
    args = parser.parse_args(argv)
    results = scan(args.root)
    allowed = known(args.root / args.baseline)
    new = [
        (file, item)
        for file, found in sorted(results.items())
        for item in found
        if (file, item["hashed_secret"]) not in allowed
    ]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"results": results, "new": len(new)}, indent=1) + "\n")
    for file, item in new:
        print(f"secret: {file}:{item['line_number']}: {item['type']} (not in the baseline)")
    if new:
        print(
            "secrets: remove them, or audit a false positive into .secrets.baseline "
            "(detect-secrets scan --baseline .secrets.baseline; detect-secrets audit)",
            file=sys.stderr,
        )
        return 1
    print(f"secrets: none new ({sum(len(v) for v in results.values())} audited in the baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
