"""Policy documents inside a template resource, split into identity and resource policies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.rules.base import Resource, as_list

IDENTITY_POLICY_TYPES = frozenset({"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"})
RESOURCE_POLICY_PROPERTIES: Mapping[str, str] = {
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::Events::EventBusPolicy": "Statement",
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
    "AWS::ApiGateway::RestApi": "Policy",
    "AWS::IAM::Role": "AssumeRolePolicyDocument",
}


def identity_statements(resource: Resource) -> Iterator[Mapping[str, Any]]:
    """Statements of the identity policies a resource defines (inline role policies included)."""
    documents: list[Any] = []
    if resource.type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        documents.append(resource.properties.get("PolicyDocument"))
    elif resource.type == "AWS::IAM::Role":
        documents.extend(
            p.get("PolicyDocument") for p in as_list(resource.properties.get("Policies"))
        )
    for document in documents:
        yield from _statements(document)


def resource_statements(resource: Resource) -> Iterator[Mapping[str, Any]]:
    """Statements of a resource-based policy (including a role's trust policy)."""
    name = RESOURCE_POLICY_PROPERTIES.get(resource.type)
    if name is None:
        return
    value = resource.properties.get(name)
    if resource.type == "AWS::Events::EventBusPolicy":
        yield from (s for s in as_list(value) if isinstance(s, dict))
    else:
        yield from _statements(value)


def _statements(document: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(document, dict):
        yield from (s for s in as_list(document.get("Statement")) if isinstance(s, dict))


def allows(statement: Mapping[str, Any]) -> bool:
    return bool(statement.get("Effect", "Allow") == "Allow")


def actions(statement: Mapping[str, Any]) -> list[str]:
    return [a for a in as_list(statement.get("Action")) if isinstance(a, str)]


def is_open_principal(principal: Any) -> bool:
    """'*' or {"AWS": "*"} (or a list holding '*'): anyone, in any account."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return "*" in as_list(principal.get("AWS"))
    return False
