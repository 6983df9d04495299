"""Execution policies checked against the CloudFormation registry: every handler action of every
deployed type allowed, no service beyond those in use, each policy within IAM's quotas."""

from __future__ import annotations

import fnmatch
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from cloud_assembly.templates import StackTemplate, templates
from pipeline.bootstrap import POLICIES
from tests.support.synth import Synth

# The registry schemas cfn-lint ships (cfn-lint is pinned in constraints.txt):
# providers/<region>.json maps a type to its schema file in resources/.
SCHEMAS = resources.files("cfnlint") / "data" / "schemas"
# What CloudFormation calls for a resource of a stack it creates, updates, rolls back or deletes:
# read follows every create and update (drift and attribute reads), so it counts too.
HANDLERS = ("create", "read", "update", "delete")

# IAM service prefix of each `AWS::<Namespace>::` whose prefix is not the lowercased namespace,
# plus the prefixes a service's handlers call on its behalf (Backup vault storage, the CodePipeline
# source connection under both of its names).
NAMESPACE_PREFIXES: dict[str, set[str]] = {
    "Backup": {"backup", "backup-storage"},
    "CodePipeline": {"codepipeline", "codestar-connections", "codeconnections"},
    "CodeStarNotifications": {"codestar-notifications"},
    "EventSchemas": {"schemas"},
    "StepFunctions": {"states"},
}
# Prefixes in scope for every stack: roles are passed and created, keys granted, logs delivered.
ALWAYS_IN_SCOPE = {"iam", "kms", "logs"}

# Types with no registry handlers (CloudFormation's legacy providers): what they call, from the
# service's API reference. A new handler-less or Custom:: type fails until it is listed here.
NOT_IN_REGISTRY: dict[str, set[str]] = {
    # https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-permissions-reference.html
    "AWS::CodeBuild::Project": {
        "codebuild:BatchGetProjects",
        "codebuild:CreateProject",
        "codebuild:DeleteProject",
        "codebuild:UpdateProject",
        "iam:PassRole",
    },
}
NOT_DEPLOYED = {"AWS::CDK::Metadata"}  # CloudFormation records it; nothing is called
# Registry entries that are not IAM actions (an S3 server access log operation name).
NOT_IAM_ACTIONS = {"s3:REST.PUT.OBJECT"}


@dataclass(frozen=True)
class UnusedFeature:
    """Handler actions only a property the templates never set makes CloudFormation call."""

    type: str
    properties: tuple[str, ...]
    actions: tuple[str, ...]
    why: str


UNUSED_FEATURES = (
    UnusedFeature(
        "AWS::DynamoDB::Table",
        ("ImportSourceSpecification",),
        (
            "dynamodb:ImportTable", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem",
            "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
            "dynamodb:UpdateItem", "logs:CreateLogStream", "logs:DescribeLogStreams",
            "logs:PutLogEvents", "s3:GetObjectMetadata",
        ),
        "creating a table by importing items from S3 (ImportTable reads the objects, writes the "
        "items and logs the import): item-level access the execution role should not hold",
    ),
    UnusedFeature(
        "AWS::IAM::Policy",
        ("Users", "Groups"),
        ("iam:*UserPolicy", "iam:*GroupPolicy"),
        "inline policies of IAM users and groups: the stacks attach policies to roles only, and "
        "the execution policies deny user and group policies on purpose",
    ),
)  # fmt: skip

# The actions issue 14 found missing on the first deployment: a regression names them.
NAMED_ACTIONS = [
    ("workload", "apigateway:SetWebACL"),  # WAFv2 WebACLAssociation on a REST API stage
    ("workload", "codedeploy:CreateDeployment"),  # Lambda alias under CodeDeployLambdaAliasUpdate
    ("workload", "codedeploy:GetDeployment"),
    ("workload", "codedeploy:StopDeployment"),
    ("workload", "kms:RetireGrant"),  # Backup vault encrypted with a CMK
    ("workload", "iam:ListAttachedRolePolicies"),  # deleting a role
    ("workload", "iam:ListRolePolicies"),
    ("workload", "iam:DetachRolePolicy"),
    ("toolchain", "iam:ListAttachedRolePolicies"),
    ("toolchain", "iam:ListRolePolicies"),
    ("toolchain", "iam:DetachRolePolicy"),
    ("toolchain", "codepipeline:StartPipelineExecution"),  # self-mutation updates the pipeline
    ("toolchain", "sns:SetSubscriptionAttributes"),
]
# IAM quota, whitespace not counted: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
MANAGED_POLICY_MAX_CHARS = 6144
MANAGED_POLICIES_PER_ROLE = 10  # default quota of managed policies attached to one role


def documents(kind: str) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in POLICIES[kind]]


def _listed(statement: dict[str, Any], key: str) -> list[str]:
    value = statement.get(key, [])
    return value if isinstance(value, list) else [value]


def _matches(statement: dict[str, Any], action: str) -> bool:
    """Whether the statement's Action (or NotAction) covers the action; IAM ignores case."""
    if "NotAction" in statement:
        patterns, negated = _listed(statement, "NotAction"), True
    else:
        patterns, negated = _listed(statement, "Action"), False
    hit = any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)
    return hit != negated


def allowed(policies: list[dict[str, Any]], action: str) -> bool:
    """Allowed on some resource by one of the policies, and not denied on every resource."""
    statements = [s for policy in policies for s in policy["Statement"]]
    denied = any(
        s["Effect"] == "Deny" and "*" in _listed(s, "Resource") and _matches(s, action)
        for s in statements
    )
    return not denied and any(s["Effect"] == "Allow" and _matches(s, action) for s in statements)


def kind_of(template: StackTemplate) -> str:
    """The Pipeline stack deploys under the toolchain policy, a Stage stack the workload one."""
    return "toolchain" if template.stack == "Pipeline" else "workload"


def prefixes_of(resource_type: str) -> set[str]:
    namespace = resource_type.split("::")[1]
    return NAMESPACE_PREFIXES.get(namespace, {namespace.lower()})


@cache
def _providers(region: str) -> dict[str, str]:
    """Resource type -> its schema file in the region (one large file: parsed once)."""
    providers: dict[str, str] = json.loads((SCHEMAS / "providers" / f"{region}.json").read_text())
    return providers


@cache
def registry_actions(region: str, resource_type: str) -> frozenset[str] | None:
    """The handlers' IAM actions, or None for a type without registry handlers."""
    providers = _providers(region)
    if resource_type not in providers:
        return None
    schema = json.loads((SCHEMAS / "resources" / f"{providers[resource_type]}.json").read_text())
    handlers = schema.get("handlers", {})
    if not handlers:
        return None
    return frozenset(a for h in HANDLERS for a in handlers.get(h, {}).get("permissions", []))


@dataclass
class Required:
    """What one execution policy must allow, and why each action is needed."""

    prefixes: set[str]
    actions: dict[str, set[str]]  # action -> resource types whose handlers call it
    unlisted: set[str]  # types with neither registry handlers nor a NOT_IN_REGISTRY entry


def required(outdir: Path) -> dict[str, Required]:
    """Per policy kind: the in-scope handler actions of every type in its stacks' templates.

    In scope: the IAM prefixes of the resource types present (NAMESPACE_PREFIXES), plus iam,
    kms and logs. A handler's list covers every kind of target it can act on (the WAFv2
    association lists App Runner, Cognito, AppSync, EC2...): actions of services the stacks do
    not use are left out. UNUSED_FEATURES drops actions gated by properties no resource sets.
    """
    by_kind: dict[str, list[StackTemplate]] = defaultdict(list)
    for template in templates(outdir):
        by_kind[kind_of(template)].append(template)
    return {kind: _required_for(stacks) for kind, stacks in by_kind.items()}


def _required_for(stacks: list[StackTemplate]) -> Required:
    resources_by_type: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for template in stacks:
        for resource in template.body.get("Resources", {}).values():
            if resource["Type"] not in NOT_DEPLOYED:
                resources_by_type[(template.region, resource["Type"])].append(resource)
    prefixes = set(ALWAYS_IN_SCOPE)
    for _, resource_type in resources_by_type:
        prefixes |= prefixes_of(resource_type)
    result = Required(prefixes=prefixes, actions=defaultdict(set), unlisted=set())
    for (region, resource_type), found in resources_by_type.items():
        actions = registry_actions(region, resource_type)
        if actions is None:
            if resource_type not in NOT_IN_REGISTRY:
                result.unlisted.add(resource_type)
                continue
            actions = frozenset(NOT_IN_REGISTRY[resource_type])
        skipped = {
            pattern
            for feature in UNUSED_FEATURES
            if feature.type == resource_type
            and not any(p in r.get("Properties", {}) for r in found for p in feature.properties)
            for pattern in feature.actions
        }
        for action in actions - NOT_IAM_ACTIONS:
            in_scope = action.split(":")[0] in prefixes
            if in_scope and not any(fnmatch.fnmatchcase(action, p) for p in skipped):
                result.actions[action].add(resource_type)
    # CloudFormation resolves `{{resolve:ssm:...}}` with the execution role's own rights
    # ("Using dynamic references", CloudFormation user guide: ssm:GetParameters).
    if any("{{resolve:ssm:" in json.dumps(t.body) for t in stacks):
        result.prefixes.add("ssm")
        result.actions["ssm:GetParameters"].add("{{resolve:ssm}}")
    return result


@pytest.fixture(scope="module")
def handler_actions(synth: Synth) -> dict[str, Required]:
    return required(synth.outdir)


@pytest.mark.parametrize("kind", ["workload", "toolchain"])
def test_the_execution_policy_allows_every_handler_action_of_the_deployed_types(
    handler_actions: dict[str, Required], kind: str, record_property: Any
) -> None:
    needed = handler_actions[kind]
    assert needed.unlisted == set(), "no registry handlers: list the type in NOT_IN_REGISTRY"
    policies = documents(kind)
    missing = {
        action: sorted(types)
        for action, types in sorted(needed.actions.items())
        if not allowed(policies, action)
    }
    record_property("handler_actions_checked", len(needed.actions))
    print(f"{kind}: {len(needed.actions)} handler actions checked, {len(missing)} missing")
    assert len(needed.actions) > 100, "the registry lookup found (almost) nothing"
    assert missing == {}


@pytest.mark.parametrize(("kind", "action"), NAMED_ACTIONS)
def test_the_actions_the_first_deployment_lacked_are_allowed(kind: str, action: str) -> None:
    assert allowed(documents(kind), action), f"{kind} execution policy: {action} is not allowed"


@pytest.mark.parametrize("kind", ["workload", "toolchain"])
def test_the_execution_policy_allows_only_services_the_stacks_use(
    handler_actions: dict[str, Required], kind: str
) -> None:
    in_scope = handler_actions[kind].prefixes
    if kind == "toolchain":
        in_scope = in_scope | {"codebuild"}  # AWS::CodeBuild::Project (NOT_IN_REGISTRY)
    granted = {
        action.split(":")[0]
        for policy in documents(kind)
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in _listed(statement, "Action")
    }
    assert granted - in_scope == set()


@pytest.mark.parametrize("kind", ["workload", "toolchain"])
def test_each_execution_policy_fits_a_managed_policy(kind: str) -> None:
    assert 1 <= len(POLICIES[kind]) < MANAGED_POLICIES_PER_ROLE
    for path in POLICIES[kind]:
        size = len(re.sub(r"\s", "", path.read_text()))
        print(f"{path.name}: {size} of {MANAGED_POLICY_MAX_CHARS} characters")
        assert size <= MANAGED_POLICY_MAX_CHARS, f"{path.name}: split it (bootstrap takes a list)"


@pytest.mark.parametrize("kind", ["workload", "toolchain"])
def test_the_execution_policy_is_not_administrator_access(kind: str) -> None:
    policies = documents(kind)
    for policy in policies:
        for statement in policy["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            assert "NotAction" not in statement, statement["Sid"]
            actions = _listed(statement, "Action")
            assert all(a != "*" and not a.endswith(":*") for a in actions), statement["Sid"]
    for action in (
        "iam:CreateUser",
        "iam:CreateAccessKey",
        "iam:PutUserPolicy",
        "iam:PutGroupPolicy",
        "organizations:LeaveOrganization",
        "ec2:RunInstances",
        "dynamodb:Scan",
        "dynamodb:GetItem",
        "s3:PutObject",
    ):
        assert not allowed(policies, action), action


def test_allowed_evaluates_wildcards_case_and_not_action() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetBucket*"], "Resource": "*"},
            {"Effect": "Allow", "NotAction": ["iam:*", "s3:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"},
            {"Effect": "Deny", "Action": "sns:DeleteTopic", "Resource": "arn:aws:sns:*:*:keep"},
        ]
    }
    assert allowed([policy], "s3:getbucketpolicy")
    assert not allowed([policy], "s3:PutBucketPolicy")
    assert not allowed([policy], "iam:CreateRole")
    assert allowed([policy], "sns:DeleteTopic")  # denied on one resource only
    assert not allowed([policy], "sqs:DeleteQueue")
