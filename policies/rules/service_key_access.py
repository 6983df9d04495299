"""Platform-ServiceKeyAccess: AWS services writing to a CMK-encrypted resource may use the key."""

from __future__ import annotations

from policies.rules._iam import allows, resource_statements
from policies.rules.base import NOT_APPLICABLE, Resource, Result, Rule, as_list

# Encrypted destination type, its key property -> writer resource type (and the property that
# points at the destination) -> the service principal that writes.
WRITERS = {
    "AWS::SNS::Topic": {
        "AWS::CloudWatch::Alarm": "cloudwatch.amazonaws.com",
        "AWS::Events::Rule": "events.amazonaws.com",
    },
    "AWS::SQS::Queue": {"AWS::Events::Rule": "events.amazonaws.com"},
}
KEY_PROPERTY = {"AWS::SNS::Topic": "KmsMasterKeyId", "AWS::SQS::Queue": "KmsMasterKeyId"}


class ServiceKeyAccess(Rule):
    id = "ServiceKeyAccess"
    info = (
        "An AWS service writes to a resource encrypted with this key, but the key policy does "
        "not admit that service."
    )
    explanation = (
        "CloudWatch alarm actions to an encrypted SNS topic, and EventBridge deliveries to "
        "encrypted queues and topics, are made by the service itself: without the service "
        "principal in the key policy the delivery fails and is dropped without an error "
        "(SNS and EventBridge developer guides, KMS permissions for AWS services)."
    )
    resource_types = frozenset({"AWS::KMS::Key"})

    def check(self, resource: Resource) -> Result:
        needed: set[str] = set()
        for destination in resource.stack.referrers(resource.logical_id):
            writers = WRITERS.get(destination.type)
            if not writers or destination.property != KEY_PROPERTY[destination.type]:
                continue
            for writer in resource.stack.referrers(destination.logical_id):
                if writer.type in writers:
                    needed.add(writers[writer.type])
        if not needed:
            return NOT_APPLICABLE
        admitted: set[str] = set()
        for statement in resource_statements(resource):
            if allows(statement) and isinstance(statement.get("Principal"), dict):
                admitted.update(as_list(statement["Principal"].get("Service")))
        return [f"Service::{service}" for service in sorted(needed - admitted)]
