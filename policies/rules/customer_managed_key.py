"""Platform-CustomerManagedKey: data at rest is encrypted with a customer-managed KMS key."""

from __future__ import annotations

from typing import Any

from policies.rules.base import (
    COMPLIANT,
    NON_COMPLIANT,
    Resource,
    Result,
    Rule,
    as_list,
    literals,
    referenced_ids,
)

# Where each data store names its key (a dotted path; '[]' walks a list).
KEY_PROPERTIES = {
    "AWS::SQS::Queue": "KmsMasterKeyId",
    "AWS::SNS::Topic": "KmsMasterKeyId",
    "AWS::S3::Bucket": (
        "BucketEncryption.ServerSideEncryptionConfiguration[]"
        ".ServerSideEncryptionByDefault.KMSMasterKeyID"
    ),
    "AWS::DynamoDB::Table": "SSESpecification.KMSMasterKeyId",
    "AWS::DynamoDB::GlobalTable": "Replicas[].SSESpecification.KMSMasterKeyId",
    "AWS::Logs::LogGroup": "KmsKeyId",
    "AWS::Events::EventBus": "KmsKeyIdentifier",
    "AWS::Events::Archive": "KmsKeyIdentifier",
    "AWS::StepFunctions::StateMachine": "EncryptionConfiguration.KmsKeyId",
    "AWS::Backup::BackupVault": "EncryptionKeyArn",
    "AWS::SecretsManager::Secret": "KmsKeyId",
    "AWS::CodeBuild::Project": "EncryptionKey",
    "AWS::CodePipeline::Pipeline": "ArtifactStore.EncryptionKey.Id",
}


def values_at(properties: Any, path: str) -> list[Any]:
    """The values at a dotted path, walking every element where a segment ends in '[]'."""
    current: list[Any] = [properties]
    for segment in path.split("."):
        many = segment.endswith("[]")
        name = segment.removesuffix("[]")
        step: list[Any] = []
        for item in current:
            value = item.get(name) if isinstance(item, dict) else None
            step.extend(as_list(value) if many else [value])
        current = step
    return current


def is_customer_managed(value: Any, resource: Resource) -> bool:
    """True for a key of this template, a key ARN, or a customer alias (never alias/aws/*)."""
    if value is None or value == "":
        return False
    targets = list(referenced_ids(value))
    for target in targets:
        kind = resource.stack.type_of(target)
        if kind in ("AWS::KMS::Key", "AWS::KMS::Alias"):
            return True
    # Imported keys: ARNs and aliases. AWS-managed keys are only reachable as alias/aws/<service>.
    return not any("alias/aws/" in text or text.startswith("aws/") for text in literals(value))


class CustomerManagedKey(Rule):
    id = "CustomerManagedKey"
    info = "The data store is not encrypted with a customer-managed KMS key."
    explanation = (
        "Customer-managed keys keep the key policy, rotation and audit trail under the "
        "platform's control and let access be revoked; AWS-owned and AWS-managed keys do not."
    )
    resource_types = frozenset(KEY_PROPERTIES)

    def check(self, resource: Resource) -> Result:
        properties = resource.properties
        if resource.type == "AWS::S3::Bucket":
            defaults = values_at(
                properties,
                "BucketEncryption.ServerSideEncryptionConfiguration[].ServerSideEncryptionByDefault",
            )
            if not any(
                isinstance(d, dict)
                and str(d.get("SSEAlgorithm", "")).startswith("aws:kms")
                and is_customer_managed(d.get("KMSMasterKeyID"), resource)
                for d in defaults
            ):
                return NON_COMPLIANT
            return COMPLIANT
        if resource.type in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            sse = properties.get("SSESpecification") or {}
            if not sse.get("SSEEnabled") or sse.get("SSEType", "KMS") != "KMS":
                return NON_COMPLIANT
        if resource.type == "AWS::StepFunctions::StateMachine":
            config = properties.get("EncryptionConfiguration") or {}
            if config.get("Type") != "CUSTOMER_MANAGED_KMS_KEY":
                return NON_COMPLIANT
        if resource.type == "AWS::CodePipeline::Pipeline" and "ArtifactStores" in properties:
            keys = [
                s.get("ArtifactStore", {}).get("EncryptionKey", {}).get("Id")
                for s in as_list(properties["ArtifactStores"])
            ]
            ok = all(is_customer_managed(k, resource) for k in keys)
            return COMPLIANT if ok else NON_COMPLIANT
        keys = values_at(properties, KEY_PROPERTIES[resource.type])
        ok = bool(keys) and all(is_customer_managed(k, resource) for k in keys)
        return COMPLIANT if ok else NON_COMPLIANT
