"""The Stage's event backbone: a custom EventBridge bus under the Stage key, an archive for
replay, the canonical event schemas in a registry, and routing where every target has a
dead-letter queue and an explicit retry policy.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from services.common.queues import DLQ_RETENTION
from services.events.models import EVENT_TYPES, Event
from services.events.settings import EventSettings

SOURCES = sorted({event.source for event in EVENT_TYPES})


def openapi_schema(event: type[Event]) -> dict[str, Any]:
    """The event's EventBridge schema (OpenAPI 3), generated from its pydantic model."""
    detail = event.model_json_schema(ref_template="#/components/schemas/{model}")
    components = detail.pop("$defs", {})
    components[event.__name__] = detail
    envelope = {
        "type": "object",
        "required": ["detail-type", "source", "detail"],
        "properties": {
            "detail-type": {"type": "string", "enum": [event.detail_type]},
            "source": {"type": "string", "enum": [event.source]},
            "detail": {"$ref": f"#/components/schemas/{event.__name__}"},
        },
    }
    return {
        "openapi": "3.0.0",
        "info": {
            "title": event.detail_type,
            "version": event.model_fields["schema_version"].default,
        },
        "paths": {},
        "components": {"schemas": {"AWSEvent": envelope, **components}},
    }


class EventBackbone(Construct):
    """Holds `bus`, its `archive`, the `schemas` by detail type, and `target_dlq`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        settings: EventSettings,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.bus = events.EventBus(self, "Bus", kms_key=key)
        self.bus.apply_removal_policy(removal_policy)
        self.archive = events.Archive(
            self,
            "Archive",
            source_event_bus=self.bus,
            event_pattern=events.EventPattern(source=SOURCES),
            retention=Duration.days(settings.archive_retention_days),
            description="Every platform event, for replay",
        )
        # Set on the L1: the L2's kms_key adds a key-policy statement naming the bus, a cycle
        # (key -> bus -> key). The Stage key's policy already admits EventBridge of this account.
        archive = self.archive.node.default_child
        assert isinstance(archive, events.CfnArchive)
        archive.add_property_override("KmsKeyIdentifier", key.key_arn)
        self.archive.apply_removal_policy(removal_policy)
        # Deliveries a rule target could not take, after EventBridge's retries.
        self.target_dlq = sqs.Queue(
            self,
            "TargetDeadLetter",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
            removal_policy=removal_policy,
        )
        registry = eventschemas.CfnRegistry(
            self, "Schemas", description="Canonical events of the messaging platform"
        )
        self.schemas = {
            event.detail_type: eventschemas.CfnSchema(
                self,
                event.detail_type,
                registry_name=registry.attr_registry_name,
                type="OpenApi3",
                content=json.dumps(openapi_schema(event)),
                description=(event.__doc__ or event.detail_type).strip().splitlines()[0],
            )
            for event in EVENT_TYPES
        }

    # -- routing ----------------------------------------------------------------------------

    def _delivery(self) -> dict[str, Any]:
        return {
            "dead_letter_queue": self.target_dlq,
            "retry_attempts": self.settings.target_retry_attempts,
            "max_event_age": Duration.hours(self.settings.target_max_event_age_hours),
        }

    def to_state_machine(self, machine: sfn.IStateMachine) -> events.IRuleTarget:
        return targets.SfnStateMachine(machine, **self._delivery())

    def to_queue(self, queue: sqs.IQueue) -> events.IRuleTarget:
        return targets.SqsQueue(queue, **self._delivery())

    def to_topic(self, topic: sns.ITopic) -> events.IRuleTarget:
        return targets.SnsTopic(topic, **self._delivery())

    def route(
        self, construct_id: str, *, pattern: events.EventPattern, to: list[events.IRuleTarget]
    ) -> events.Rule:
        return events.Rule(
            self, construct_id, event_bus=self.bus, event_pattern=pattern, targets=to
        )
