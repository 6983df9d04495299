"""Print what `cdk synth` produced: stacks per environment and findings per policy pack."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from cloud_assembly.templates import templates


def main(out: Path) -> int:
    print("\nStacks")
    rows = [
        (
            stack.stage.rsplit("/", 1)[-1] if stack.stage else "toolchain",
            stack.path,
            f"{stack.account}/{stack.region}",
        )
        for stack in templates(out)
    ]
    for where, stack, env in rows:
        print(f"  {where:<20} {stack:<32} {env}")
    report_file = out / "validation-report.json"
    if not report_file.exists():
        print("\nPolicy packs: no validation report (were the packs registered?)")
        return 1
    report = json.loads(report_file.read_text())
    print("\nPolicy packs          open  acknowledged")
    total_open = 0
    for plugin in report["pluginReports"]:
        n_open = sum(len(v["violatingConstructs"]) for v in plugin["violations"])
        n_ack = Counter(s["ruleName"] for s in plugin.get("suppressedViolations", []))
        total_open += n_open
        print(f"  {plugin['pluginName']:<20} {n_open:>4}  {sum(n_ack.values()):>12}")
    print(f"\n{len(rows)} stacks, {total_open} open findings\n")
    return 1 if total_open else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
