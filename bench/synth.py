"""Benchmark: `cdk synth` of the full app against a floor measured in the same run.

The floor is the same CLI, Python and jsii runtime synthesizing one empty stack, so the ratio
isolates what this project adds (constructs, Stages, policy packs). Runs are interleaved so
machine load affects both sides alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = ["cdk", "--no-version-reporting", "--no-notices", "synth", "--quiet"]
TARGET_RATIO = 2.0


def timed(command: list[str], outdir: Path) -> float:
    shutil.rmtree(outdir, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(
        [*command, "--output", str(outdir)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env_path = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{ROOT / 'node_modules' / '.bin'}"
    os.environ["PATH"] = f"{env_path}{os.pathsep}{os.environ['PATH']}"
    floor_cmd = [*CDK, "--app", f"{sys.executable} bench/floor_app.py"]
    full, floor = [], []
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        timed(CDK, out / "warmup")  # first run pays for cold file caches
        for _ in range(args.runs):
            floor.append(timed(floor_cmd, out / "floor"))
            full.append(timed(CDK, out / "full"))
            loads.append(os.getloadavg()[0])
    m_full, m_floor = statistics.median(full), statistics.median(floor)
    ratio = m_full / m_floor
    print(
        f"cdk synth, {args.runs} runs each (median / min / max, seconds); "
        f"1-minute load average {min(loads):.1f}..{max(loads):.1f} on {os.cpu_count()} CPUs"
    )
    print(f"  floor (one empty stack): {m_floor:6.2f} / {min(floor):6.2f} / {max(floor):6.2f}")
    print(f"  full app:                {m_full:6.2f} / {min(full):6.2f} / {max(full):6.2f}")
    verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"  ratio full/floor: {ratio:.2f}x (target <= {TARGET_RATIO:.1f}x) {verdict}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
