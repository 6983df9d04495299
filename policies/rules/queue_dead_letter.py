"""Platform-QueueDeadLetter: a queue that feeds a consumer or receives events has a DLQ."""

from __future__ import annotations

from policies.rules.base import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    Reference,
    Resource,
    Result,
    Rule,
    as_list,
    referenced_ids,
)

CONSUMERS = {
    ("AWS::Lambda::EventSourceMapping", "EventSourceArn"),
    ("AWS::SNS::Subscription", "Endpoint"),
    ("AWS::Pipes::Pipe", "Source"),
}


def feeds(ref: Reference, queue: str) -> bool:
    """Does `ref` read from the queue, or deliver events to it (not merely dead-letter into it)?"""
    if ref.type == "AWS::Events::Rule":
        targets = as_list(ref.properties.get("Targets"))
        return any(queue in referenced_ids(t.get("Arn")) for t in targets)
    return (ref.type, ref.property) in CONSUMERS


class QueueDeadLetter(Rule):
    id = "QueueDeadLetter"
    info = "The queue is an event source or a rule target but has no dead-letter queue."
    explanation = (
        "Without a redrive policy a message that keeps failing is retried until it expires "
        "and is then lost silently; a DLQ keeps it, and its alarm tells someone."
    )
    resource_types = frozenset({"AWS::SQS::Queue"})

    def check(self, resource: Resource) -> Result:
        queue = resource.logical_id
        used = any(feeds(ref, queue) for ref in resource.stack.referrers(queue))
        if not used:
            return NOT_APPLICABLE
        redrive = resource.properties.get("RedrivePolicy") or {}
        return COMPLIANT if redrive.get("deadLetterTargetArn") else NON_COMPLIANT
