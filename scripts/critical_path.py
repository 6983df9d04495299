"""Sequential actions and CodeBuild actions on the pipeline's critical path, source to prod done.

CodePipeline runs stages one after another and, inside a stage, actions with the same RunOrder
in parallel. The critical path therefore takes one action per (stage, RunOrder) group; it counts
a CodeBuild action for a group when any action of the group runs on CodeBuild.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_CODEBUILD = 7


@dataclass(frozen=True)
class Step:
    """One (stage, RunOrder) group: what runs, and whether CodeBuild is among it."""

    stage: str
    run_order: int
    actions: tuple[str, ...]
    codebuild: bool


def pipeline_of(template: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    if len(found) != 1:
        raise ValueError(f"expected one AWS::CodePipeline::Pipeline, found {len(found)}")
    return found[0]


def critical_path(pipeline: dict[str, Any], last_stage: str | None = None) -> list[Step]:
    steps: list[Step] = []
    for stage in pipeline["Stages"]:
        groups: dict[int, list[dict[str, Any]]] = {}
        for action in stage["Actions"]:
            groups.setdefault(int(action.get("RunOrder", 1)), []).append(action)
        for order in sorted(groups):
            acts = groups[order]
            steps.append(
                Step(
                    stage=stage["Name"],
                    run_order=order,
                    actions=tuple(a["Name"] for a in acts),
                    codebuild=any(a["ActionTypeId"]["Provider"] == "CodeBuild" for a in acts),
                )
            )
        if stage["Name"] == last_stage:
            break
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "template", type=Path, nargs="?", default=Path("cdk.out/Pipeline.template.json")
    )
    parser.add_argument("--until", help="last stage to count (default: the pipeline's last)")
    args = parser.parse_args(argv)
    if not args.template.is_file():
        print(f"critical path: {args.template} not found: run 'make synth' first", file=sys.stderr)
        return 2
    steps = critical_path(pipeline_of(json.loads(args.template.read_text())), args.until)
    for step in steps:
        marker = "codebuild" if step.codebuild else ""
        print(f"  {step.stage:<16} {step.run_order:>2}  {marker:<10} {', '.join(step.actions)}")
    builds = sum(s.codebuild for s in steps)
    print(
        f"critical path: {len(steps)} sequential actions, {builds} CodeBuild actions "
        f"(target: at most {TARGET_CODEBUILD})"
    )
    return 0 if builds <= TARGET_CODEBUILD else 1


if __name__ == "__main__":
    sys.exit(main())
