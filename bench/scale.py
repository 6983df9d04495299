"""Benchmark: what a provider costs. Synthesizes the whole app (pipeline, three Stages, policy
packs and acknowledgements, as `cdk synth` does) with 4, 16 and 50 providers, the real ones
plus generated ones discovered like real modules (tests/support/providers.py), and prints per
stack (nested stacks included) resources, template bytes, outputs and parameters against
CloudFormation's limits, synth seconds, and the cost of one more provider.

Targets, checked in the same run: every stack at 50 providers within 80 % of every limit, and
linear growth (a provider costs each stack no more between 16 and 50 than between 4 and 16).
Template bytes are the file CDK writes, which the pipeline's deploy action hands CloudFormation.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COUNTS = (4, 16, 50)
# CloudFormation quotas (CloudFormation user guide, "Understand CloudFormation quotas"): per
# stack 500 resources, 200 outputs, 200 parameters, and 1 MB for a template body in S3.
LIMITS = {"resources": 500, "bytes": 1_000_000, "outputs": 200, "parameters": 200}
HEADROOM = 0.8
LINEAR_SLACK = 1.10  # per-provider cost 16 -> 50 may exceed 4 -> 16 by 10 % (names grow)


@dataclass(frozen=True)
class StackSize:
    """One template's size against the limits."""

    name: str
    resources: int
    bytes: int
    outputs: int
    parameters: int

    def used(self) -> dict[str, float]:
        return {k: getattr(self, k) / limit for k, limit in LIMITS.items()}


def template_sizes(path: Path, name: str) -> list[StackSize]:
    """This template and, depth first, every nested stack template it deploys."""
    body: dict[str, Any] = json.loads(path.read_text())
    resources = body.get("Resources", {})
    sizes = [
        StackSize(
            name,
            len(resources),
            path.stat().st_size,
            len(body.get("Outputs", {})),
            len(body.get("Parameters", {})),
        )
    ]
    for logical_id, resource in sorted(resources.items()):
        nested = resource.get("Metadata", {}).get("aws:asset:path")
        if resource["Type"] == "AWS::CloudFormation::Stack" and nested:
            sizes += template_sizes(path.parent / nested, f"{name}/{logical_id}")
    return sizes


def assembly_sizes(outdir: Path) -> list[StackSize]:
    """Every stack of the app: the pipeline's and each Stage's, with their nested stacks."""
    sizes = template_sizes(outdir / "Pipeline.template.json", "Pipeline")
    for stage in sorted(outdir.glob("assembly-Pipeline-*")):
        for template in sorted(stage.glob("*.template.json")):
            if not template.name.endswith(".nested.template.json"):
                sizes += template_sizes(template, f"{stage.name.removeprefix('assembly-')}")
    return sizes


def child(total: int, outdir: Path) -> int:
    """In a fresh interpreter: synthesize the app with `total` providers; print the seconds."""
    from tests.support.providers import generated_providers
    from tests.support.synth import synthesize, use_venv_node

    use_venv_node()
    import aws_cdk  # noqa: F401 - jsii starts here, outside the timed part

    with generated_providers(total):
        start = time.perf_counter()
        try:
            synthesize(outdir)
            failed = ""
        except RuntimeError as err:  # the policy gate found something: counted below
            failed = str(err).splitlines()[0][:200]
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "failed": failed}))
    return 0


def open_findings(outdir: Path) -> int:
    report = json.loads((outdir / "validation-report.json").read_text())
    return sum(
        len(rule.get("violatingResources", []))
        for plugin in report.get("pluginReports", [])
        for rule in plugin.get("violations", [])
    )


@dataclass
class Run:
    total: int
    seconds: float
    findings: int
    stacks: list[StackSize]

    def stack(self, name: str) -> StackSize:
        return next(s for s in self.stacks if s.name == name)


def run(total: int, outdir: Path) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--child", str(total), "--out", str(outdir)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(total, result["seconds"], open_findings(outdir), assembly_sizes(outdir))


def _print_run(run: Run) -> None:
    nested = [s for s in run.stacks if "/" in s.name]
    print(
        f"\n{run.total} providers: synth {run.seconds:.1f} s, {len(run.stacks)} stacks "
        f"({len(nested)} nested), open findings {run.findings}"
    )
    print(f"  {'stack':58} {'res':>4} {'KB':>6} {'out':>4} {'par':>4} headroom")
    shown = [s for s in run.stacks if "/" not in s.name] + nested[:1]
    for s in shown:
        worst = max(s.used().items(), key=lambda kv: kv[1])
        print(
            f"  {s.name[:58]:58} {s.resources:4} {s.bytes / 1000:6.0f} {s.outputs:4} "
            f"{s.parameters:4} {1 - worst[1]:5.0%} ({worst[0]})"
        )
    if len(nested) > 1:
        print(f"  ... and {len(nested) - 1} more nested stacks like the last one")


def _per_provider(runs: list[Run], stack: str) -> list[dict[str, float]]:
    """What one provider adds to `stack` between consecutive runs."""
    steps = []
    for a, b in itertools.pairwise(runs):
        n = b.total - a.total
        sa, sb = a.stack(stack), b.stack(stack)
        steps.append({k: (getattr(sb, k) - getattr(sa, k)) / n for k in LIMITS})
    return steps


def report(runs: list[Run]) -> list[str]:
    """Print the figures; return what missed a target."""
    misses = []
    for r in runs:
        _print_run(r)
        if r.findings:
            misses.append(f"{r.total} providers: {r.findings} open findings")
    last = runs[-1]
    for s in last.stacks:
        for limit, used in s.used().items():
            if used > HEADROOM:
                misses.append(f"{s.name}: {limit} at {used:.0%} of the limit")
    print("\nper provider added (4 -> 16, 16 -> 50):")
    for stack in sorted({s.name for s in last.stacks if "/" not in s.name}):
        if not all(any(s.name == stack for s in r.stacks) for r in runs):
            continue
        steps = _per_provider(runs, stack)
        cells = ", ".join(
            f"{k} {steps[0][k]:.1f} / {steps[1][k]:.1f}" for k in ("resources", "bytes", "outputs")
        )
        print(f"  {stack:30} {cells}")
        for k in ("resources", "bytes", "outputs"):
            if steps[1][k] > max(steps[0][k] * LINEAR_SLACK, steps[0][k] + 0.5):
                misses.append(f"{stack}: {k} per provider grows ({steps[0][k]} -> {steps[1][k]})")
    nested = [s for s in last.stacks if "/" in s.name]
    if nested:
        top = max(nested, key=lambda s: s.bytes)
        print(
            f"  a provider's nested stack: {top.resources} resources, {top.bytes / 1000:.0f} KB, "
            f"{top.outputs} outputs, {top.parameters} parameters"
        )
    seconds = [(b.seconds - a.seconds) / (b.total - a.total) for a, b in itertools.pairwise(runs)]
    print(f"  synth seconds per provider (whole app): {seconds[0]:.2f} / {seconds[1]:.2f}")
    return misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--counts", type=int, nargs="+", default=list(COUNTS))
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.out)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        runs = [run(n, Path(tmp) / f"p{n}") for n in args.counts]
    misses = report(runs)
    for miss in misses:
        print(f"MISSED: {miss}")
    print("scale: " + ("ok" if not misses else f"{len(misses)} target(s) missed"))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
