"""`python -m policies.scanners cdk.out`: run the scanners on a cloud assembly (see runner)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from policies import acknowledgements
from policies.scanners.runner import DEFAULT_VENV, RESULTS, run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m policies.scanners",
        description="Run cfn-lint (+ serverless rules), checkov and parliament on a cloud "
        "assembly, in parallel.",
    )
    parser.add_argument("outdir", type=Path, help="the cloud assembly, e.g. cdk.out")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the scanner venv")
    args = parser.parse_args(argv)
    if not (args.outdir / "manifest.json").is_file():
        print(f"outdir: {args.outdir} has no manifest.json; run 'make synth' first")
        return 2
    if not (args.venv / "bin" / "checkov").is_file():
        print(f"--venv: {args.venv} has no scanners; run 'make scanners' first")
        return 2
    try:
        registry = acknowledgements.load()
    except acknowledgements.RegistryError as error:
        print(error)
        return 2
    results = run(args.outdir, args.venv, entries=registry)
    for line in results.failures:
        print(f"FAIL {line}")
    for summary in results.summary:
        print(
            "{tool} {version}: {checks_run} {unit}, {passed} passed, {failed} failed, "
            "{acknowledged} acknowledged, {info} info ({seconds}s)".format(**summary)
        )
    print(f"scanners: {results.seconds:.1f}s, results in {args.outdir / RESULTS}")
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
