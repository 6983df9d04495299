"""Platform-TlsOnly: queues, topics and buckets refuse requests that do not use TLS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules._iam import is_open_principal
from policies.rules.base import COMPLIANT, NON_COMPLIANT, Resource, Result, Rule, as_list

POLICY_OF = {
    "AWS::SQS::Queue": ("AWS::SQS::QueuePolicy", "Queues"),
    "AWS::SNS::Topic": ("AWS::SNS::TopicPolicy", "Topics"),
    "AWS::S3::Bucket": ("AWS::S3::BucketPolicy", "Bucket"),
}


def denies_plain_http(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
    return (
        statement.get("Effect") == "Deny"
        and is_open_principal(statement.get("Principal"))
        and str(secure).lower() == "false"
    )


class TlsOnly(Rule):
    id = "TlsOnly"
    info = "The resource policy does not deny requests made without TLS (aws:SecureTransport)."
    explanation = (
        "A Deny on aws:SecureTransport=false in the resource policy guarantees that data is "
        "only ever read or written over encrypted connections, whatever the caller's SDK does."
    )
    resource_types = frozenset(POLICY_OF)

    def check(self, resource: Resource) -> Result:
        policy_type, _ = POLICY_OF[resource.type]
        for policy in resource.stack.referrers(resource.logical_id, policy_type):
            document = policy.properties.get("PolicyDocument") or {}
            if any(denies_plain_http(s) for s in as_list(document.get("Statement"))):
                return COMPLIANT
        return NON_COMPLIANT
