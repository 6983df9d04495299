"""Platform-EncryptedWorkflow: a CMK-encrypted state machine its role and its callers can use."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.rules._iam import actions, allows
from policies.rules.base import NOT_APPLICABLE, Resource, Result, Rule, as_list, referenced_ids

START = frozenset({"states:StartExecution", "states:StartSyncExecution"})
NEEDED = frozenset({"kms:GenerateDataKey", "kms:Decrypt"})


def _policies_of(resource: Resource, role: str) -> Iterator[Mapping[str, Any]]:
    """Statements of every inline policy attached to `role`."""
    for body in resource.stack.resources.values():
        if body.get("Type") != "AWS::IAM::Policy":
            continue
        props = body.get("Properties", {})
        if role in {r.get("Ref") for r in as_list(props.get("Roles")) if isinstance(r, dict)}:
            yield from as_list(props.get("PolicyDocument", {}).get("Statement"))


def _may_use_key(resource: Resource, role: str, key: set[str]) -> bool:
    granted: set[str] = set()
    for statement in _policies_of(resource, role):
        if allows(statement) and set(referenced_ids(statement.get("Resource"))) & key:
            granted.update(actions(statement))
    return granted >= NEEDED or "kms:*" in granted


class EncryptedWorkflow(Rule):
    id = "EncryptedWorkflow"
    info = (
        "A state machine encrypted with a customer managed key is unnamed, or its role or a "
        "caller that starts it cannot use the key."
    )
    explanation = (
        "Step Functions encrypts with the state machine's ARN as encryption context, and CDK "
        "builds the key grant's condition from the machine's name: an unnamed machine's grant "
        "never matches. Callers of StartExecution/StartSyncExecution (API integration roles, "
        "EventBridge rule roles) need kms:GenerateDataKey and kms:Decrypt on the key too, or "
        "every start fails at run time while the deployment succeeds."
    )
    resource_types = frozenset({"AWS::StepFunctions::StateMachine"})

    def check(self, resource: Resource) -> Result:
        encryption = resource.properties.get("EncryptionConfiguration") or {}
        if encryption.get("Type") != "CUSTOMER_MANAGED_KMS_KEY":
            return NOT_APPLICABLE
        key = set(referenced_ids(encryption.get("KmsKeyId")))
        findings = []
        if not resource.properties.get("StateMachineName"):
            findings.append("Name")
        role = next(iter(referenced_ids(resource.properties.get("RoleArn"))), "")
        if role and not _may_use_key(resource, role, key):
            findings.append("Role")
        for caller in self._callers(resource):
            if not _may_use_key(resource, caller, key):
                findings.append(f"Caller::{caller}")
        return findings

    def _callers(self, resource: Resource) -> set[str]:
        """Roles whose policies allow starting this state machine."""
        callers: set[str] = set()
        for reference in resource.stack.referrers(resource.logical_id, "AWS::IAM::Policy"):
            document = reference.properties.get("PolicyDocument", {})
            for statement in as_list(document.get("Statement")):
                if not (allows(statement) and START & set(actions(statement))):
                    continue
                if resource.logical_id in set(referenced_ids(statement.get("Resource"))):
                    roles = as_list(reference.properties.get("Roles"))
                    callers.update(r["Ref"] for r in roles if isinstance(r, dict) and "Ref" in r)
        return callers
