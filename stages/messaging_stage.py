"""The application Stage: the same messaging services in every environment, one class.

Per-environment differences come only from the typed `Environment` config passed in; the
Stage is where domain constructs are wired together and tagged.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from constructs import Construct

from pipeline.config import Environment, Ownership
from services.audit.construct import AuditTrail
from services.backup.construct import TableBackup
from services.common.logs import retention as log_retention
from services.core.construct import MessagingCore
from services.events.construct import SOURCES, EventBackbone
from services.events.models import MessageAnalyzed, MessageReceived
from services.inbound.construct import Inbound
from services.monitoring.construct import Monitoring
from services.triage.construct import Triage
from stages.verification import VerificationAccess

# Tag keys every resource carries (policies check them).
TAG_KEYS = ("Environment", "Service", "Owner", "CostCentre")


class MessagingStack(cdk.Stack):
    """The deployable unit of one environment: all messaging services of the Stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Environment,
        toolchain_account: str,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Serverless messaging platform ({environment.name})",
            termination_protection=environment.retain_data,
        )
        settings = environment.settings
        removal = cdk.RemovalPolicy.RETAIN if environment.retain_data else cdk.RemovalPolicy.DESTROY
        retention = log_retention(settings.inbound.log_retention_days)
        self.core = MessagingCore(self, "Core", removal_policy=removal)
        key = self.core.key
        self.events = EventBackbone(
            self, "Events", key=key, settings=settings.events, removal_policy=removal
        )
        self.inbound = Inbound(
            self,
            "Inbound",
            key=key,
            bus=self.events.bus,
            settings=settings.inbound,
            removal_policy=removal,
            rollout=settings.delivery.rollout,
        )
        self.audit = AuditTrail(
            self,
            "Audit",
            key=key,
            ttl_days=settings.events.audit_ttl_days,
            retention=retention,
            removal_policy=removal,
        )
        self.triage = Triage(
            self,
            "Triage",
            key=key,
            bus=self.events.bus,
            messages_table=self.inbound.messages_table,
            retention=retention,
            removal_policy=removal,
        )
        self.rules = self._route()
        self.monitoring = self._monitor(environment)
        self.verification = VerificationAccess(
            self,
            "Verification",
            toolchain_account=toolchain_account,
            key=key,
            tables=[self.audit.table, self.inbound.messages_table],
            dead_letter_queues=[
                *self.inbound.dead_letter_queues.values(),
                self.triage.care_queue.dead_letter_queue,
                self.events.target_dlq,
            ],
            secret_arn_patterns=[
                f"arn:{self.partition}:secretsmanager:{self.region}:{self.account}:secret:"
                f"{name}-??????"
                for name in self.inbound.secret_names.values()
            ],
        )
        self.backup = (
            TableBackup(
                self,
                "Backup",
                key=key,
                tables=[self.inbound.messages_table, self.audit.table],
                schedule=settings.events.backup_schedule_cron,
                retention_days=settings.events.backup_retention_days,
            )
            if environment.retain_data
            else None
        )
        for construct, service in (
            (self.core, "platform-core"),
            (self.events, "event-backbone"),
            (self.inbound, "inbound"),
            (self.audit, "audit"),
            (self.triage, "triage"),
            (self.monitoring, "monitoring"),
            (self.verification, "verification"),
            *([(self.backup, "backup")] if self.backup else []),
        ):
            cdk.Tags.of(construct).add("Service", service)
        self._outputs()

    def _route(self) -> dict[str, events.Rule]:
        bus = self.events
        analyzed = {
            "source": [MessageAnalyzed.source],
            "detail_type": [MessageAnalyzed.detail_type],
        }
        return {
            "AuditEverything": bus.route(
                "AuditEverything",
                pattern=events.EventPattern(source=SOURCES),
                to=[bus.to_state_machine(self.audit.state_machine)],
            ),
            "TriageTexts": bus.route(
                "TriageTexts",
                pattern=events.EventPattern(
                    source=[MessageReceived.source],
                    detail_type=[MessageReceived.detail_type],
                    detail={"has_text": [True]},
                ),
                to=[bus.to_state_machine(self.triage.state_machine)],
            ),
            "NegativeToCare": bus.route(
                "NegativeToCare",
                pattern=events.EventPattern(
                    **analyzed, detail={"status": ["ANALYZED"], "sentiment": ["NEGATIVE"]}
                ),
                to=[
                    bus.to_queue(self.triage.care_queue.queue),
                    bus.to_topic(self.triage.care_topic),
                ],
            ),
            "OthersToAcknowledge": bus.route(
                "OthersToAcknowledge",
                pattern=events.EventPattern(
                    **analyzed,
                    detail={
                        "status": ["ANALYZED"],
                        "sentiment": events.Match.anything_but("NEGATIVE"),
                    },
                ),
                to=[bus.to_topic(self.triage.acknowledgement_topic)],
            ),
        }

    def _monitor(self, environment: Environment) -> Monitoring:
        monitoring = Monitoring(
            self,
            "Monitoring",
            key=self.core.key,
            settings=environment.settings.monitoring,
            environment_name=environment.name,
        )
        inbound = self.inbound
        monitoring.watch_api(inbound.api)
        for name in inbound.providers:
            title = name.capitalize()
            monitoring.watch_queue(
                f"{title}Webhooks", inbound.queues[name], inbound.dead_letter_queues[name]
            )
            # errors or throttles during a traffic shift roll it back
            for alarm in monitoring.watch_processor(f"{title}Processor", inbound.processors[name]):
                inbound.rollouts[name].add_alarm(alarm)
        for name, handshake in inbound.handshakes.items():
            monitoring.watch_workflow(f"{name.capitalize()}Handshake", handshake.state_machine)
        care = self.triage.care_queue
        monitoring.watch_queue("CustomerCare", care.queue, care.dead_letter_queue)
        monitoring.watch_dead_letter_queue("RuleTargetDeadLetters", self.events.target_dlq)
        monitoring.watch_workflow("Audit", self.audit.state_machine)
        monitoring.watch_workflow("Triage", self.triage.state_machine)
        for name, rule in self.rules.items():
            monitoring.watch_rule(name, rule, self.events.bus)
        monitoring.watch_business(sorted(inbound.providers))
        monitoring.watch_analysis(
            {
                "negative": self.rules["NegativeToCare"],
                "other": self.rules["OthersToAcknowledge"],
            },
            self.events.bus,
        )
        return monitoring

    def _outputs(self) -> None:
        """What post-deploy tests and the rehearsal need to find the Stage's resources."""
        inbound = self.inbound
        values = {
            "ApiUrl": inbound.api.url,
            "EventBusName": self.events.bus.event_bus_name,
            "MessagesTable": inbound.messages_table.table_name,
            "IdempotencyTable": inbound.idempotency_table.table_name,
            "MediaBucket": inbound.media_bucket.bucket_name,
            "AuditTable": self.audit.table.table_name,
            "CustomerCareQueueUrl": self.triage.care_queue.queue.queue_url,
            "AlarmTopicArn": self.monitoring.alarm_topic.topic_arn,
            "VerificationRoleArn": self.verification.role.role_arn,
        }
        for name in inbound.providers:
            title = name.capitalize()
            values[f"{title}QueueUrl"] = inbound.queues[name].queue_url
            values[f"{title}DeadLetterQueueUrl"] = inbound.dead_letter_queues[name].queue_url
            values[f"{title}SecretName"] = inbound.secret_names[name]
            values[f"{title}Processor"] = inbound.processors[name].function_name
        self.outputs = {key: cdk.CfnOutput(self, key, value=value) for key, value in values.items()}


class MessagingStage(cdk.Stage):
    """One environment (dev, staging, prod, ...) in its own account and region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Environment,
        ownership: Ownership,
        toolchain_account: str,
        region: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=environment.account, region=region or environment.region),
        )
        self.environment = environment
        self.messaging = MessagingStack(
            self, "Messaging", environment=environment, toolchain_account=toolchain_account
        )
        cdk.Tags.of(self).add("Environment", environment.name)
        cdk.Tags.of(self).add("Owner", ownership.owner)
        cdk.Tags.of(self).add("CostCentre", ownership.cost_centre)
