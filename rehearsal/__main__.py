"""`python -m rehearsal`: rehearse the dev Stage on a local emulator, print the tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rehearsal.outcome import Outcome
from rehearsal.run import rehearse


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__)
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--stage", default="Dev", help="Stage id in cdk.out (default: Dev)")
    parser.add_argument("--load", type=int, default=1000, help="messages in the load run (0: none)")
    args = parser.parse_args()
    failed = False
    results = rehearse(args.cdk_out, args.stage, load=args.load, suites=("smoke", "acceptance"))
    for title, outcome in results:
        print()
        if isinstance(outcome, Outcome):
            print(outcome.ledger.table(title, outcome.seconds))
            problems = outcome.ledger.violations() + outcome.mismatches
        else:
            print(f"{title}: {outcome.seconds:.1f} s")
            print(outcome.table())
            problems = outcome.problems
        for problem in problems:
            print(f"  ! {problem}")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
