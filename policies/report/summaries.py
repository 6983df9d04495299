"""IAM (roles and resource-based policies) and encryption summaries of a stack, from its template.

CloudFormation intrinsics are rendered readably (`<Inbound/Twilio/Queue>.Arn`) rather than
resolved: a reviewer needs to see which resource a grant names, not a made-up ARN.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloud_assembly.templates import StackTemplate as Stack
from policies.rules._iam import resource_statements
from policies.rules._principals import (
    LAMBDA_PERMISSION,
    RESOURCE_POLICY_TYPES,
    Grant,
    outside_grants,
    trust_grants,
)
from policies.rules.base import Resource, StackContext, as_list, referenced_ids
from policies.rules.customer_managed_key import KEY_PROPERTIES, is_customer_managed, values_at


def short_path(stack: Stack, logical_id: str) -> str:
    path = stack.construct_path(logical_id)
    path = path.removeprefix(stack.path + "/").removesuffix("/Resource")
    return path.removesuffix("/Default")


def render(value: Any, stack: Stack) -> str:
    """A readable form of a template value, intrinsics included."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((name, arg),) = value.items()
        if name == "Ref":
            if str(arg).startswith("AWS::"):
                return "${" + str(arg) + "}"
            return f"<{short_path(stack, str(arg))}>"
        if name == "Fn::GetAtt":
            target, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return f"<{short_path(stack, target)}>.{attribute}"
        if name == "Fn::Join":
            separator, parts = arg
            return str(separator).join(render(p, stack) for p in parts)
        if name == "Fn::Sub":
            return str(arg[0] if isinstance(arg, list) else arg)
        if name == "Fn::ImportValue":
            return f"import:{render(arg, stack)}"
    return json.dumps(value, sort_keys=True)


@dataclass(frozen=True, order=True)
class Permission:
    """One allowed (or denied) action on one resource, with its condition if any."""

    effect: str
    action: str
    resource: str
    condition: str = ""


@dataclass
class RoleSummary:
    """Who can assume a role and what it may do."""

    path: str
    trusted: list[str] = field(default_factory=list)
    permissions: set[Permission] = field(default_factory=set)
    managed_policies: list[str] = field(default_factory=list)
    trust: set[PolicyGrant] = field(default_factory=set)  # its trust policy, per principal


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def _permissions(statement: dict[str, Any], stack: Stack) -> set[Permission]:
    condition = statement.get("Condition")
    rendered_condition = json.dumps(condition, sort_keys=True) if condition else ""
    actions = as_list(statement.get("Action")) or [
        f"NOT {a}" for a in as_list(statement.get("NotAction"))
    ]
    resources = as_list(statement.get("Resource")) or [
        f"NOT {render(r, stack)}" for r in as_list(statement.get("NotResource"))
    ]
    return {
        Permission(
            effect=str(statement.get("Effect", "Allow")),
            action=str(action),
            resource=render(resource, stack),
            condition=rendered_condition,
        )
        for action in actions
        for resource in resources
    }


def _principals(statement: dict[str, Any], stack: Stack) -> list[str]:
    principal = statement.get("Principal", {})
    if principal == "*":
        return ["*"]
    found = []
    for kind, values in (principal or {}).items():
        for value in as_list(values):
            found.append(f"{kind}: {render(value, stack)}")
    condition = statement.get("Condition")
    if condition:
        found = [f"{p} if {json.dumps(condition, sort_keys=True)}" for p in found]
    return found


def roles(stack: Stack) -> list[RoleSummary]:
    resources: dict[str, Any] = stack.body.get("Resources", {})
    summaries: dict[str, RoleSummary] = {}
    for logical_id, body in resources.items():
        if body.get("Type") != "AWS::IAM::Role":
            continue
        properties = body.get("Properties", {})
        summary = RoleSummary(path=short_path(stack, logical_id))
        for statement in _statements(properties.get("AssumeRolePolicyDocument")):
            summary.trusted.extend(_principals(statement, stack))
            summary.trust |= _statement_grants(statement, stack)
        for inline in as_list(properties.get("Policies")):
            for statement in _statements(inline.get("PolicyDocument")):
                summary.permissions |= _permissions(statement, stack)
        summary.managed_policies = [
            render(a, stack) for a in as_list(properties.get("ManagedPolicyArns"))
        ]
        summaries[logical_id] = summary
    for body in resources.values():
        if body.get("Type") not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        properties = body.get("Properties", {})
        attached = {t for role in as_list(properties.get("Roles")) for t in referenced_ids(role)}
        for logical_id in attached & set(summaries):
            for statement in _statements(properties.get("PolicyDocument")):
                summaries[logical_id].permissions |= _permissions(statement, stack)
    return sorted(summaries.values(), key=lambda r: r.path)


@dataclass(frozen=True, order=True)
class OutsideGrant:
    """Who outside the stack's account (an account id, or '*' for anyone) may do what, where."""

    resource: str
    who: str
    principal: str
    actions: str
    condition: str = ""

    @classmethod
    def of(cls, path: str, grant: Grant) -> OutsideGrant:
        actions = ", ".join(sorted(grant.actions))
        return cls(path, grant.who, grant.principal, actions, grant.condition)


@dataclass(frozen=True, order=True)
class PolicyGrant:
    """One statement of a resource-based policy, per principal and action."""

    principal: str
    effect: str
    action: str
    condition: str = ""


@dataclass
class ResourcePolicySummary:
    """A resource-based policy: first who outside the account it lets in, then every grant."""

    path: str
    type: str
    outside: list[OutsideGrant] = field(default_factory=list)
    grants: set[PolicyGrant] = field(default_factory=set)


def _policy_grants(resource: Resource, stack: Stack) -> set[PolicyGrant]:
    if resource.type == LAMBDA_PERMISSION:
        props = resource.properties
        scope = {k: props[k] for k in ("SourceArn", "SourceAccount") if k in props}
        condition = json.dumps(scope, sort_keys=True, default=str) if scope else ""
        principal = render(props.get("Principal", ""), stack)
        return {PolicyGrant(principal, "Allow", str(props.get("Action", "")), condition)}
    return {g for s in resource_statements(resource) for g in _statement_grants(s, stack)}


def _statement_grants(statement: Mapping[str, Any], stack: Stack) -> set[PolicyGrant]:
    conditions = statement.get("Condition")
    rendered = json.dumps(conditions, sort_keys=True) if conditions else ""
    effect = str(statement.get("Effect", "Allow"))
    return {
        PolicyGrant(principal, effect, str(action), rendered)
        for principal in _principals({"Principal": statement.get("Principal", {})}, stack)
        for action in as_list(statement.get("Action"))
    }


def resource_policies(stack: Stack) -> list[ResourcePolicySummary]:
    """Every resource-based policy of the stack (Lambda permissions included), by path."""
    context = StackContext(path=stack.path, template=stack.body, account=stack.account)
    found = []
    for logical_id, body in stack.body.get("Resources", {}).items():
        if body.get("Type") not in RESOURCE_POLICY_TYPES | {LAMBDA_PERMISSION}:
            continue
        resource = Resource.from_template(context, logical_id)
        path = short_path(stack, logical_id)
        outside = sorted({OutsideGrant.of(path, g) for g in outside_grants(resource)})
        found.append(
            ResourcePolicySummary(path, resource.type, outside, _policy_grants(resource, stack))
        )
    return sorted(found, key=lambda r: r.path)


def trusts(stack: Stack) -> list[OutsideGrant]:
    """Roles that principals of other accounts (or anyone) may assume: their trust policies."""
    context = StackContext(path=stack.path, template=stack.body, account=stack.account)
    return sorted(
        OutsideGrant.of(f"{short_path(stack, logical_id)} (trust)", grant)
        for logical_id, body in stack.body.get("Resources", {}).items()
        if body.get("Type") == "AWS::IAM::Role"
        for grant in set(trust_grants(Resource.from_template(context, logical_id)))
    )


def outside_access(stack: Stack) -> list[OutsideGrant]:
    """Who outside this account can do what: resource-based policies, then role trust policies."""
    policies = [g for policy in resource_policies(stack) for g in policy.outside]
    return policies + trusts(stack)


# What AWS does when a store names no key of its own.
DEFAULT_ENCRYPTION = {
    "AWS::SQS::Queue": "SSE-SQS (AWS-owned key)",
    "AWS::S3::Bucket": "SSE-S3 (AWS-owned key)",
    "AWS::DynamoDB::Table": "AWS-owned key",
    "AWS::DynamoDB::GlobalTable": "AWS-owned key",
    "AWS::Events::EventBus": "AWS-owned key",
    "AWS::Events::Archive": "AWS-owned key",
    "AWS::StepFunctions::StateMachine": "AWS-owned key",
    "AWS::CodeBuild::Project": "AWS-managed key (aws/s3)",
    # CloudWatch Logs encrypts every log group; without a KMS key it uses its own keys.
    "AWS::Logs::LogGroup": "service-encrypted (CloudWatch Logs)",
    "AWS::SNS::Topic": "not encrypted at rest (no KmsMasterKeyId)",
}


@dataclass(frozen=True, order=True)
class Store:
    """A data store and the key that protects it."""

    path: str
    type: str
    key: str
    customer_managed: bool


def stores(stack: Stack) -> list[Store]:
    context = StackContext(path=stack.path, template=stack.body)
    found = []
    for logical_id, body in stack.body.get("Resources", {}).items():
        kind = body.get("Type")
        if kind not in KEY_PROPERTIES:
            continue
        resource = Resource.from_template(context, logical_id)
        if kind == "AWS::CodePipeline::Pipeline" and "ArtifactStores" in resource.properties:
            keys = values_at(resource.properties, "ArtifactStores[].ArtifactStore.EncryptionKey.Id")
        else:
            keys = values_at(resource.properties, KEY_PROPERTIES[kind])
        named = [k for k in keys if k not in (None, "")]
        if named:
            key = ", ".join(render(k, stack) for k in named)
        elif kind == "AWS::DynamoDB::Table" and values_at(
            resource.properties, "SSESpecification.SSEEnabled"
        ) == [True]:
            key = "AWS-managed key (aws/dynamodb)"  # SSE on, no key named
        elif kind == "AWS::S3::Bucket" and values_at(
            resource.properties,
            "BucketEncryption.ServerSideEncryptionConfiguration[].ServerSideEncryptionByDefault.SSEAlgorithm",
        ) == ["aws:kms"]:
            key = "AWS-managed key (aws/s3)"
        else:
            key = DEFAULT_ENCRYPTION.get(kind, "none")
        found.append(
            Store(
                path=short_path(stack, logical_id),
                type=kind,
                key=key,
                customer_managed=bool(named)
                and all(is_customer_managed(k, resource) for k in named),
            )
        )
    return sorted(found)
