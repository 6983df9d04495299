"""Estimated push-to-prod-ready wall time of the synthesized pipeline, action by action.

CodePipeline runs stages one after another and, inside a stage, actions with the same RunOrder
in parallel: the critical path takes the slowest action of each (stage, RunOrder) group. Each
action's time comes from a model (scripts/critical_path.json, each figure measured locally or
marked assumed): CodeBuild provisioning; the installs a step's commands need (which Makefile
targets build which environment, read from the Makefile as a fresh checkout sees it), warm when
the project has an S3 cache; the commands' own time; CloudFormation deploys by resource count,
plus the processors' CodeDeploy rollout. Approvals count zero (the wait is a person's).
Fails when the Build action or a Verify action misses its target.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODEL = Path(__file__).with_suffix(".json")
TARGET_CODEBUILD = 7
TARGET_BUILD_S = 600
TARGET_VERIFY_S = 120
PHASES = ("install", "pre_build", "build", "post_build")
_RULE = re.compile(r"^([^\s#:=%][^:=]*?):(?![:=])\s*(.*)$")
_CANARY = re.compile(r"Canary(\d+)Percent(\d+)Minutes?")
_LINEAR = re.compile(r"Linear(\d+)PercentEvery(\d+)Minutes?")


@dataclass(frozen=True)
class Step:
    """One (stage, RunOrder) group: what runs, and whether CodeBuild is among it."""

    stage: str
    run_order: int
    actions: tuple[str, ...]
    codebuild: bool


@dataclass
class Estimate:
    """One action's estimated seconds, as named parts."""

    action: str
    parts: list[tuple[str, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s for _, s in self.parts)

    def add(self, what: str, seconds: float) -> None:
        self.parts.append((what, seconds))


def pipeline_of(template: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    if len(found) != 1:
        raise ValueError(f"expected one AWS::CodePipeline::Pipeline, found {len(found)}")
    return found[0]


def groups(pipeline: dict[str, Any], last_stage: str | None = None) -> list[list[Any]]:
    """[stage name, RunOrder, actions] per group, in the order CodePipeline runs them."""
    found: list[list[Any]] = []
    for stage in pipeline["Stages"]:
        by_order: dict[int, list[dict[str, Any]]] = {}
        for action in stage["Actions"]:
            by_order.setdefault(int(action.get("RunOrder", 1)), []).append(action)
        found += [[stage["Name"], order, by_order[order]] for order in sorted(by_order)]
        if stage["Name"] == last_stage:
            break
    return found


def critical_path(pipeline: dict[str, Any], last_stage: str | None = None) -> list[Step]:
    return [
        Step(
            stage=stage,
            run_order=order,
            actions=tuple(a["Name"] for a in acts),
            codebuild=any(a["ActionTypeId"]["Provider"] == "CodeBuild" for a in acts),
        )
        for stage, order, acts in groups(pipeline, last_stage)
    ]


# -- the Makefile, as a fresh checkout sees it -------------------------------------------------


def makefile_rules(makefile: Path) -> dict[str, list[str]]:
    """target -> prerequisites (order-only ones too) from make's database, evaluated in an empty
    directory: no environment is installed, as in a CodeBuild checkout."""
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(makefile, Path(scratch) / "Makefile")
        shutil.copy(makefile.parent / "constraints.txt", Path(scratch) / "constraints.txt")
        done = subprocess.run(
            ["make", "-pq", "-f", "Makefile"],
            cwd=scratch,
            capture_output=True,
            text=True,
            check=False,
        )
    rules: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        found = _RULE.match(line)
        if found and not line.startswith(("\t", " ")):
            prerequisites = found.group(2).replace("|", " ").split()
            rules.setdefault(found.group(1).strip(), []).extend(prerequisites)
    return rules


def needs(rules: dict[str, list[str]], target: str, known: set[str]) -> list[str]:
    """The environments (keys of `known`) `target` builds, prerequisites first."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for prerequisite in rules.get(name, []):
            visit(prerequisite)
        if name in known:
            order.append(name)

    visit(target)
    return order


# -- per action --------------------------------------------------------------------------------


def buildspec(project: dict[str, Any], cdk_out: Path) -> dict[str, Any]:
    spec = project["Source"]["BuildSpec"]
    if isinstance(spec, dict):  # a token inside (the broadening check's function name)
        spec = "".join(p if isinstance(p, str) else "TOKEN" for p in spec["Fn::Join"][1])
    if spec.endswith((".yaml", ".yml", ".json")):  # CDK's asset buildspecs: JSON in a file
        spec = (cdk_out / spec).read_text()
    loaded: dict[str, Any] = json.loads(spec)
    return loaded


def _figure(entry: dict[str, Any], warm: bool) -> float:
    if "run_s" in entry:
        return float(entry["run_s"])
    return float(entry["warm_s"] if warm else entry["cold_s"])


def codebuild_estimate(
    name: str,
    project: dict[str, Any],
    cdk_out: Path,
    model: dict[str, Any],
    rules: dict[str, list[str]],
) -> Estimate:
    cb = model["codebuild"]
    estimate = Estimate(name)
    estimate.add("provisioning", cb["provisioning_s"]["value"])
    spec = buildspec(project, cdk_out)
    phases = spec.get("phases", {})
    if phases.get("install", {}).get("runtime-versions"):
        estimate.add("runtime-versions", cb["runtime_versions_s"]["value"])
    warm = project.get("Cache", {}).get("Type") == "S3"
    env = {
        v["Name"]: str(v["Value"])
        for v in project.get("Environment", {}).get("EnvironmentVariables", [])
        if isinstance(v.get("Value"), (str, int, float))
    }
    environments = model["environments"]
    installed: set[str] = set()
    restore_mb = 0.0
    for command in [str(c) for p in PHASES for c in phases.get(p, {}).get("commands", [])]:
        if command.startswith("make "):
            target = command.split()[1]
            for stamp in needs(rules, target, set(environments)):
                if stamp not in installed:
                    installed.add(stamp)
                    entry = environments[stamp]
                    estimate.add(entry["what"], _figure(entry, warm))
                    restore_mb += entry["cache_mb"]
        entry = next((c for c in model["commands"] if c["match"] in command), None)
        if entry is None:
            continue
        seconds = _figure(entry, warm)
        restore_mb += entry.get("cache_mb", 0)
        if entry.get("per_load_message") and "LOAD_MESSAGES" in env and "LOAD_RATE" in env:
            seconds += float(env["LOAD_MESSAGES"]) / float(env["LOAD_RATE"])
        estimate.add(command[:48], seconds)
    if warm and restore_mb:
        rate = cb["cache_restore_mb_per_s"]["value"]
        estimate.parts.insert(1, (f"S3 cache restore ({restore_mb:.0f} MB)", restore_mb / rate))
    estimate.add("finalize", cb["finalize_s"]["value"])
    return estimate


def rollout_s(config_name: str) -> float:
    """Minutes CodeDeploy holds a Lambda traffic shift for (CodeDeployDefault.Lambda*)."""
    found = _CANARY.search(config_name)
    if found:
        return float(found.group(2)) * 60
    found = _LINEAR.search(config_name)
    if found:
        steps = 100 // int(found.group(1)) - 1
        return float(steps * int(found.group(2)) * 60)
    return 0.0


def deploy_estimate(
    action: dict[str, Any], templates: dict[str, dict[str, Any]], model: dict[str, Any]
) -> Estimate:
    cfn = model["cloudformation"]
    config = action["Configuration"]
    template = templates.get(config["StackName"], {"Resources": {}})
    resources = template["Resources"]
    estimate = Estimate(action["Name"])
    if config["ActionMode"] == "CHANGE_SET_REPLACE":
        estimate.add("create change set", cfn["prepare_s"]["value"])
        estimate.add(
            f"{len(resources)} resources", len(resources) * cfn["prepare_per_resource_s"]["value"]
        )
        return estimate
    estimate.add("execute change set", cfn["execute_s"]["value"])
    estimate.add(
        f"{len(resources)} resources", len(resources) * cfn["execute_per_resource_s"]["value"]
    )
    configs = {
        str(r["Properties"].get("DeploymentConfigName", ""))
        for r in resources.values()
        if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"
    }
    if configs:  # the aliases shift in parallel: the slowest configuration counts
        slowest = max(configs, key=rollout_s)
        estimate.add(
            f"CodeDeploy {slowest.removeprefix('CodeDeployDefault.')}",
            rollout_s(slowest) + cfn["codedeploy_overhead_s"]["value"],
        )
    return estimate


def stage_templates(pipeline: dict[str, Any], cdk_out: Path) -> dict[str, dict[str, Any]]:
    """Stack name -> template, from the prepare actions' TemplatePath (artifact::path)."""
    found: dict[str, dict[str, Any]] = {}
    for stage in pipeline["Stages"]:
        for action in stage["Actions"]:
            config = action.get("Configuration", {})
            path = config.get("TemplatePath")
            if isinstance(path, str) and (cdk_out / path.split("::", 1)[1]).is_file():
                found[config["StackName"]] = json.loads(
                    (cdk_out / path.split("::", 1)[1]).read_text()
                )
    return found


def estimate(
    template: dict[str, Any], cdk_out: Path, model: dict[str, Any], makefile: Path
) -> list[tuple[str, int, Estimate]]:
    """The critical path: per (stage, RunOrder) group, the slowest action's estimate."""
    pipeline = pipeline_of(template)
    resources = template["Resources"]
    rules = makefile_rules(makefile)
    templates = stage_templates(pipeline, cdk_out)
    path: list[tuple[str, int, Estimate]] = []
    for stage, order, actions in groups(pipeline):
        estimates = []
        for action in actions:
            provider = action["ActionTypeId"]["Provider"]
            if provider == "CodeBuild":
                project = resources[action["Configuration"]["ProjectName"]["Ref"]]["Properties"]
                estimates.append(codebuild_estimate(action["Name"], project, cdk_out, model, rules))
            elif provider == "CloudFormation":
                estimates.append(deploy_estimate(action, templates, model))
            elif action["ActionTypeId"]["Category"] == "Source":
                estimates.append(Estimate(action["Name"], [("source", model["source_s"]["value"])]))
            else:
                estimates.append(Estimate(action["Name"], [("approval (excluded)", 0.0)]))
        path.append((stage, order, max(estimates, key=lambda e: e.seconds)))
    return path


def misses(path: list[tuple[str, int, Estimate]]) -> list[str]:
    found = []
    for stage, _, est in path:
        if stage == "Build" and est.seconds > TARGET_BUILD_S:
            found.append(f"Build {est.seconds:.0f} s > {TARGET_BUILD_S} s")
        if est.action.startswith("Verify") and est.seconds > TARGET_VERIFY_S:
            found.append(f"{est.action} {est.seconds:.0f} s > {TARGET_VERIFY_S} s")
    return found


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("cdk_out", type=Path, nargs="?", default=Path("cdk.out"))
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--makefile", type=Path, default=ROOT / "Makefile")
    parser.add_argument("--template", type=Path, help="default: <cdk_out>/Pipeline.template.json")
    args = parser.parse_args(argv)
    template_path = args.template or args.cdk_out / "Pipeline.template.json"
    if not template_path.is_file():
        print(f"critical path: {template_path} not found: run 'make synth' first", file=sys.stderr)
        return 2
    template = json.loads(template_path.read_text())
    model = json.loads(args.model.read_text())
    path = estimate(template, args.cdk_out, model, args.makefile)
    total = 0.0
    for stage, order, est in path:
        total += est.seconds
        print(f"  {stage:<15}{order:>2}  {est.action:<24}{est.seconds:>7.0f} s")
        for what, seconds in est.parts:
            if seconds:
                print(f"  {'':<41}{seconds:>5.0f} s  {what}")
    builds = sum(s.codebuild for s in critical_path(pipeline_of(template)))
    print(
        f"critical path: {len(path)} sequential actions, {builds} CodeBuild actions; "
        f"push to prod ready ~{_minutes(total)} (approval wait excluded; model: {args.model.name})"
    )
    missed = misses(path)
    build = next(e.seconds for s, _, e in path if s == "Build")
    verify = max(e.seconds for _, _, e in path if e.action.startswith("Verify"))
    print(
        f"targets: Build {_minutes(build)} (<= {TARGET_BUILD_S // 60} min), slowest Verify "
        f"{verify:.0f} s (<= {TARGET_VERIFY_S} s), CodeBuild actions {builds} "
        f"(<= {TARGET_CODEBUILD}): {'MISSED: ' + '; '.join(missed) if missed else 'met'}"
    )
    return 1 if missed or builds > TARGET_CODEBUILD else 0


if __name__ == "__main__":
    sys.exit(main())
