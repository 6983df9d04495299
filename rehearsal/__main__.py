"""`python -m rehearsal`: rehearse the dev Stage on a local emulator, print the tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.verify.verdict import Verdict
from rehearsal.outcome import Outcome
from rehearsal.run import SUITES, rehearse


def headline(title: str, verdict: Verdict) -> str:
    """The title and time; for a rehearsal's own runs, the rate and whether all is accounted."""
    if not isinstance(verdict, Outcome):
        return f"{title}: {verdict.seconds:.1f} s"
    sent = verdict.total().sent
    rate = sent / verdict.seconds if verdict.seconds else 0.0
    accounted = "invariant holds" if verdict.ok else "INVARIANT BROKEN"
    return (
        f"{title}: {sent} messages in {verdict.seconds:.1f} s, {rate:.0f} messages/s, {accounted}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__)
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--stage", default="Dev", help="Stage id in cdk.out (default: Dev)")
    parser.add_argument("--load", type=int, default=1000, help="messages in the load run (0: none)")
    args = parser.parse_args()
    failed = False
    results = rehearse(args.cdk_out, args.stage, load=args.load, suites=SUITES)
    for title, verdict in results:
        print()
        print(headline(title, verdict))
        print(verdict.table())
        for problem in verdict.problems:
            print(f"  ! {problem}")
        failed |= not verdict.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
