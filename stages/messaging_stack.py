"""The deployable unit of one environment: composes the messaging services and wires them.

Per-environment differences come only from the typed `Environment` config passed in; domain
constructs talk through constructor arguments and attributes, and are tagged per service here.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from constructs import Construct

from config.deployment import Environment
from services.audit.construct import AuditTrail
from services.backup.construct import TableBackup
from services.common.logs import retention as log_retention
from services.core.construct import MessagingCore
from services.events.construct import SOURCES, EventBackbone
from services.events.models import MessageAnalyzed, MessageReceived
from services.inbound.construct import Inbound
from services.monitoring.construct import Monitoring
from services.triage.construct import Triage
from services.verification.construct import VerificationAccess
from stages import outputs


class MessagingStack(cdk.Stack):
    """The deployable unit of one environment: all messaging services of the Stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Environment,
        toolchain_account: str,
        verifier_role_arn: str,
        powertools_version: str,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Serverless messaging platform ({environment.name})",
            termination_protection=environment.retain_data,
        )
        settings = environment.settings
        # RetainExceptOnCreate: a failed first create rolls its new resources back instead of
        # leaving retained (and, for the bus and vault, required-name) resources that block
        # the retry; once created, data survives deletion and replacement.
        removal = (
            cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
            if environment.retain_data
            else cdk.RemovalPolicy.DESTROY
        )
        retention = log_retention(settings.events.log_retention_days)
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
            powertools_version=powertools_version,
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
            verifier_role_arn=verifier_role_arn,
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
        watchers = self._provider_watchers(monitoring, environment)
        for name in inbound.providers:
            title = name.capitalize()
            watcher = watchers.get(name, monitoring)
            watcher.watch_queue(
                f"{title}Webhooks", inbound.queues[name], inbound.dead_letter_queues[name]
            )
            # errors or throttles during a traffic shift roll it back
            for alarm in watcher.watch_processor(f"{title}Processor", inbound.processors[name]):
                inbound.rollouts[name].add_alarm(alarm)
        for name, handshake in inbound.handshakes.items():
            watcher = watchers.get(name, monitoring)
            watcher.watch_workflow(f"{name.capitalize()}Handshake", handshake.state_machine)
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

    def _provider_watchers(
        self, monitoring: Monitoring, environment: Environment
    ) -> dict[str, Monitoring]:
        """A Monitoring in each provider's nested stack: its alarms and a dashboard of its own
        (`messaging-<environment>-<provider>-<region>`) live there, alarming on the Stage topic."""
        watchers = {}
        for name, stack in self.inbound.provider_stacks.items():
            watchers[name] = Monitoring(
                stack,
                "Monitoring",
                key=self.core.key,
                settings=environment.settings.monitoring,
                environment_name=f"{environment.name}-{name}",
                alarm_topic=monitoring.alarm_topic,
            )
            cdk.Tags.of(watchers[name]).add("Service", "monitoring")
        return watchers

    def _outputs(self) -> None:
        """What post-deploy tests and the rehearsal need to find the Stage's resources."""
        inbound = self.inbound
        values = {
            outputs.API_URL: inbound.api.url,
            outputs.EVENT_BUS_NAME: self.events.bus.event_bus_name,
            outputs.MESSAGES_TABLE: inbound.messages_table.table_name,
            outputs.IDEMPOTENCY_TABLE: inbound.idempotency_table.table_name,
            outputs.MEDIA_BUCKET: inbound.media_bucket.bucket_name,
            outputs.AUDIT_TABLE: self.audit.table.table_name,
            outputs.CUSTOMER_CARE_QUEUE_URL: self.triage.care_queue.queue.queue_url,
            outputs.ALARM_TOPIC_ARN: self.monitoring.alarm_topic.topic_arn,
            outputs.VERIFICATION_ROLE_ARN: self.verification.role.role_arn,
        }
        nested: dict[str, dict[str, str]] = {name: {} for name in inbound.provider_stacks}
        for name in inbound.providers:
            for suffix, value in (
                (outputs.QUEUE_URL, inbound.queues[name].queue_url),
                (outputs.DEAD_LETTER_QUEUE_URL, inbound.dead_letter_queues[name].queue_url),
                (outputs.SECRET_NAME, inbound.secret_names[name]),
                (outputs.PROCESSOR, inbound.processors[name].function_name),
            ):
                key = outputs.provider_output(name, suffix)
                if name in nested and suffix not in outputs.STAGE_PROVIDER_SUFFIXES:
                    nested[name][key] = value  # the Stage's own outputs stay under 200
                else:
                    values[key] = value
        for name, stack_outputs in nested.items():
            stack = inbound.provider_stacks[name]
            for key, value in stack_outputs.items():
                cdk.CfnOutput(stack, key, value=value)
        self.outputs = {key: cdk.CfnOutput(self, key, value=value) for key, value in values.items()}
