"""The CodeBuild steps of the synthesized pipeline, in pipeline order, as the dry run replays them.

Each step carries its buildspec commands, the environment its project and action set, and the
policy documents of its service role with the template's intrinsics resolved to literals.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloud_assembly.intrinsics import Resolver, UnresolvableError
from cloud_assembly.templates import StackTemplate, templates

PIPELINE_STACK = "Pipeline"
# The services whose requests moto authorizes against IAM policies.
ENFORCED = ("s3", "sqs", "iam", "sts")
# Buildspec phases in the order CodeBuild runs them.
PHASES = ("install", "pre_build", "build", "post_build")
# `#{codepipeline.PipelineExecutionId}` and `#{<stack namespace>.<output>}` action variables.
_VARIABLE = re.compile(r"#\{([^.}]+)\.([^}]+)\}")


@dataclass(frozen=True)
class Step:
    """One CodeBuild action: its commands, environment and its service role's policies."""

    name: str
    stage: str
    commands: tuple[str, ...]
    env: dict[str, str]
    role: str
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Stage outputs (CFN_*) the step reads: only a deployed Stage has them.
    stage_outputs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def runs_makefile(self) -> bool:
        """Our own steps run Makefile targets; CDK's own (self-mutation, assets) do not."""
        return bool(self.commands) and all(c.startswith("make ") for c in self.commands)


def pipeline_template(cdk_out: Path) -> StackTemplate:
    for template in templates(cdk_out):
        if template.stack == PIPELINE_STACK:
            return template
    raise FileNotFoundError(f"{cdk_out}: no {PIPELINE_STACK} stack in the assembly")


def resolver_for(template: StackTemplate) -> Resolver:
    return Resolver.for_template(
        template.body,
        account=template.account,
        region=template.region,
        stack_name=template.stack_name,
    )


def steps(cdk_out: Path, execution_id: str) -> list[Step]:
    """Every CodeBuild action of the pipeline, stage by stage, in run order."""
    template = pipeline_template(cdk_out)
    resources: dict[str, Any] = template.body["Resources"]
    resolver = resolver_for(template)
    (pipeline,) = [r for r in resources.values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    found: list[Step] = []
    for stage in pipeline["Properties"]["Stages"]:
        actions = sorted(stage["Actions"], key=lambda a: int(a.get("RunOrder", 1)))
        for action in actions:
            if action["ActionTypeId"]["Provider"] != "CodeBuild":
                continue
            project_id = action["Configuration"]["ProjectName"]["Ref"]
            found.append(
                _step(resources, resolver, stage["Name"], action, project_id, execution_id)
            )
    return found


def _step(
    resources: dict[str, Any],
    resolver: Resolver,
    stage: str,
    action: dict[str, Any],
    project_id: str,
    execution_id: str,
) -> Step:
    project = resources[project_id]["Properties"]
    env: dict[str, str] = {}
    for variable in project.get("Environment", {}).get("EnvironmentVariables", []):
        if variable.get("Type", "PLAINTEXT") == "PLAINTEXT":
            env[variable["Name"]] = str(resolver.resolve(variable["Value"]))
    outputs: list[str] = []
    configured = action["Configuration"].get("EnvironmentVariables", "[]")
    for variable in json.loads(configured if isinstance(configured, str) else "[]"):
        value = str(variable["value"])
        match = _VARIABLE.fullmatch(value)
        if match and match.group(1) == "codepipeline":
            env[variable["name"]] = execution_id
        elif match:
            outputs.append(variable["name"])
        else:
            env[variable["name"]] = value
    role_id = project["ServiceRole"]["Fn::GetAtt"][0]
    policies, notes = _role_policies(resources, resolver, role_id)
    return Step(
        name=action["Name"],
        stage=stage,
        commands=_commands(resolver.resolve(project["Source"].get("BuildSpec", ""))),
        env=env,
        role=role_id,
        policies=policies,
        stage_outputs=tuple(outputs),
        notes=tuple(notes),
    )


def _commands(buildspec: Any) -> tuple[str, ...]:
    """The commands of an inline JSON buildspec; none for a buildspec file (CDK's assets)."""
    try:
        spec = json.loads(str(buildspec))
    except json.JSONDecodeError:
        return ()
    phases = spec.get("phases", {})
    return tuple(str(c) for phase in PHASES for c in phases.get(phase, {}).get("commands", []))


def _role_policies(
    resources: dict[str, Any], resolver: Resolver, role_id: str
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Inline policies of the role and every AWS::IAM::Policy attached to it, resolved."""
    documents: dict[str, dict[str, Any]] = {}
    role = resources[role_id]["Properties"]
    for inline in role.get("Policies", []):
        documents[str(inline["PolicyName"])] = inline["PolicyDocument"]
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource[
            "Properties"
        ].get("Roles", []):
            documents[logical_id] = resource["Properties"]["PolicyDocument"]
    notes: list[str] = []
    if role.get("ManagedPolicyArns"):
        notes.append("managed policies not replicated: " + json.dumps(role["ManagedPolicyArns"]))
    resolved: dict[str, dict[str, Any]] = {}
    for name, document in documents.items():
        statements = document["Statement"]
        kept = []
        for statement in statements if isinstance(statements, list) else [statements]:
            try:
                kept.append(resolver.resolve(statement))
            except UnresolvableError as err:
                notes.append(f"{name}: dropped a statement ({err})")
            if "Condition" in statement and _enforced(statement):
                notes.append(
                    f"{name}: a conditional statement on {statement.get('Action')}: moto "
                    "cannot see the condition's keys and treats the statement as a deny"
                )
        resolved[name] = {"Version": document.get("Version", "2012-10-17"), "Statement": kept}
    return resolved, notes


def _enforced(statement: dict[str, Any]) -> bool:
    """Whether the statement names actions of a service moto enforces IAM for."""
    actions = statement.get("Action", [])
    listed = actions if isinstance(actions, list) else [actions]
    return any(str(a).split(":")[0] in ENFORCED or a == "*" for a in listed)
