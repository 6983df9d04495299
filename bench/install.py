"""Benchmark: a fresh clone made ready, `make synth` with its installs, against issue 17's 90 s.

A local `git clone` of this repository's HEAD into a temporary directory, then `make synth`
there: .venv, node_modules and .venv-scanners from the pins, the synth, the gate, the scanners
and the reports. uv's, pip's and npm's caches are the machine's own (warm after the first
install), as on a developer's second clone or a CI runner with a cache. There is no floor that
would make a ratio mean something (the installs are the pinned package set itself), so the
target is absolute; printed beside it, measured in the same run from the same warm cache: uv
installing requirements.txt alone into an empty venv, the least any install of this project does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 90.0


def _clean_env() -> dict[str, str]:
    """The caller's environment without this checkout's venv and node_modules on PATH."""
    ours = {str(ROOT / ".venv" / "bin"), str(ROOT / "node_modules" / ".bin")}
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p not in ours]
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL")
    }
    return {**env, "PATH": os.pathsep.join(path)}


def fresh_clone_synth(tmp: Path) -> float:
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    start = time.perf_counter()
    done = subprocess.run(
        ["make", "--no-print-directory", "synth"],
        cwd=clone,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    installs = [line for line in done.stdout.splitlines() if line.rstrip().endswith(" s")]
    for line in installs[:8]:
        print(f"    {line}")
    if done.returncode != 0:
        raise SystemExit(
            f"make synth failed in the fresh clone:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return seconds


def floor(tmp: Path) -> float:
    """uv (the pinned one, from the clone's .venv) installing requirements.txt into a new venv."""
    uv = tmp / "clone" / ".venv" / "bin" / "uv"
    venv = tmp / "floor"
    start = time.perf_counter()
    subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [
            str(uv),
            "pip",
            "install",
            "-q",
            "--compile-bytecode",
            "--python",
            str(venv / "bin" / "python"),
            "-r",
            str(ROOT / "requirements.txt"),
            "-c",
            str(ROOT / "constraints.txt"),
        ],
        check=True,
    )
    return time.perf_counter() - start


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        print("fresh clone `make synth`, installs included (uv, pip and npm caches warm)")
        seconds = fresh_clone_synth(Path(tmp))
        bare = floor(Path(tmp))
    print(f"  fresh clone make synth:                     {seconds:6.1f} s")
    print(f"  uv installing requirements.txt alone (floor): {bare:6.1f} s ({seconds / bare:.1f}x)")
    verdict = "ok" if seconds <= TARGET_SECONDS else "OVER TARGET"
    print(f"  target <= {TARGET_SECONDS:.0f} s: {verdict}")
    return 0 if seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
