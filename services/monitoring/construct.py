"""One dashboard and the alarms of a Stage, built with cdk-monitoring-constructs.

Alarm actions go to a KMS-encrypted SNS topic with the environment's e-mail subscriptions;
every threshold comes from the environment's MonitoringSettings (prod stricter than dev).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from cdk_monitoring_constructs import (
    AlarmFactoryDefaults,
    CustomMetricGroup,
    DefaultDashboardFactory,
    ErrorCountThreshold,
    ErrorRateThreshold,
    LambdaFunctionMonitoring,
    LatencyThreshold,
    MaxMessageAgeThreshold,
    MaxMessageCountThreshold,
    MetricFactoryDefaults,
    MonitoringFacade,
    SnsAlarmActionStrategy,
)
from constructs import Construct

from services.monitoring.settings import MonitoringSettings

BUSINESS_NAMESPACE = "MessagingPlatform"
BUSINESS_METRICS = ("MessagesReceived", "MessagesRejected", "DuplicatesSuppressed")


def _ref(construct: object) -> str:
    """The jsii object id: a construct made in JavaScript gets a new proxy on each access."""
    return str(construct.__jsii_ref__.ref)  # type: ignore[attr-defined]


class Monitoring(Construct):
    """Holds `alarm_topic`, the `facade` (dashboard) and `alarms` added outside the facade."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        settings: MonitoringSettings,
        environment_name: str,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        # A second Monitoring (a nested stack's) alarms on the Stage's topic: one subscription.
        self.alarm_topic: sns.ITopic = alarm_topic or self._topic(key, settings)
        # Dashboard names are global to the account (all regions): name it after the
        # environment and the region, not a fixed "Dashboard".
        region = Stack.of(self).region
        self.facade = MonitoringFacade(
            self,
            "Dashboard",
            dashboard_factory=DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=f"messaging-{environment_name}-{region}",
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
            alarm_factory_defaults=AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=f"messaging-{environment_name}",
                action=SnsAlarmActionStrategy(on_alarm_topic=self.alarm_topic),
            ),
            metric_factory_defaults=MetricFactoryDefaults(),
        )
        self.alarms: list[cloudwatch.Alarm] = []
        self._facade_node = self.facade.node  # one jsii round trip, reused

    def _topic(self, key: kms.IKey, settings: MonitoringSettings) -> sns.Topic:
        topic = sns.Topic(
            self, "AlarmTopic", master_key=key, enforce_ssl=True, display_name="Messaging alarms"
        )
        for email in settings.alarm_emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def watch_queue(self, name: str, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue) -> None:
        self.facade.monitor_sqs_queue_with_dlq(
            queue=queue,
            dead_letter_queue=dead_letter_queue,
            alarm_friendly_name=name,
            human_readable_name=name,
            add_dead_letter_queue_max_size_alarm={
                "Critical": MaxMessageCountThreshold(max_message_count=0)
            },
            add_queue_max_message_age_alarm={
                "Warning": MaxMessageAgeThreshold(
                    max_age_in_seconds=self.settings.queue_age_seconds
                )
            },
        )

    def watch_dead_letter_queue(self, name: str, queue: sqs.IQueue) -> None:
        """A DLQ without a work queue of its own (EventBridge targets' failed deliveries)."""
        alarm = queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(5), statistic="Maximum"
        ).create_alarm(
            self,
            f"{name}Alarm",
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{name}: a delivery ended in the dead-letter queue",
        )
        alarm.add_alarm_action(actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)

    def watch_processor(self, name: str, function: lambda_.IFunction) -> list[cloudwatch.IAlarm]:
        """Error and throttle alarms of a processor; returned as its rollout's rollback triggers.

        The alarms are read from the construct tree (the facade's children this segment added,
        in creation order): `segment.created_alarms()` returns structs that jsii copies field
        by field, about 50 round trips per alarm.
        """
        s = self.settings
        # These alarms gate a canary or linear traffic shift: one breaching datapoint of the
        # configured period must be enough, so they can go off inside the shift's interval.
        window: dict[str, Any] = {
            "period": Duration.seconds(s.rollback_alarm_period_seconds),
            "evaluation_periods": 1,
            "datapoints_to_alarm": 1,
        }
        before = {_ref(child) for child in self._facade_node.children}
        segment = LambdaFunctionMonitoring(
            self.facade,
            lambda_function=function,
            alarm_friendly_name=name,
            human_readable_name=name,
            add_fault_count_alarm={
                "Critical": ErrorCountThreshold(max_error_count=s.processor_errors, **window)
            },
            add_throttles_count_alarm={
                "Critical": ErrorCountThreshold(max_error_count=s.processor_throttles, **window)
            },
        )
        self.facade.add_segment(segment)
        alarms: list[cloudwatch.IAlarm] = [
            child
            for child in self._facade_node.children
            if isinstance(child, cloudwatch.Alarm) and _ref(child) not in before
        ]
        if len(alarms) != 2:  # the fault count and the throttles alarm
            raise RuntimeError(f"{name}: expected 2 processor alarms, found {len(alarms)}")
        return alarms

    def watch_api(self, api: apigw.RestApi) -> None:
        s = self.settings
        self.facade.monitor_api_gateway(
            api=api,
            api_stage=api.deployment_stage.stage_name,
            alarm_friendly_name="WebhookApi",
            human_readable_name="Webhook API",
            add5_xx_fault_rate_alarm={
                "Critical": ErrorRateThreshold(max_error_rate=s.api_5xx_rate_percent / 100)
            },
            add_latency_p99_alarm={
                "Warning": LatencyThreshold(max_latency=Duration.millis(s.api_p99_latency_ms))
            },
        )

    def watch_workflow(self, name: str, machine: sfn.IStateMachine) -> None:
        self.facade.monitor_step_function(
            state_machine=machine,
            alarm_friendly_name=name,
            human_readable_name=name,
            add_failed_execution_count_alarm={
                "Critical": ErrorCountThreshold(
                    max_error_count=self.settings.state_machine_failures
                )
            },
        )

    def watch_rule(self, name: str, rule: events.IRule, bus: events.IEventBus) -> None:
        """EventBridge rules are not covered by the library: a plain alarm on the same topic."""
        failed = cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="FailedInvocations",
            dimensions_map={"RuleName": rule.rule_name, "EventBusName": bus.event_bus_name},
            statistic="Sum",
            period=Duration.minutes(5),
        )
        alarm = failed.create_alarm(
            self,
            f"{name}FailedInvocations",
            threshold=self.settings.rule_failed_invocations,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"Rule {name}: deliveries to its targets failed",
        )
        alarm.add_alarm_action(actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)
        self.facade.monitor_custom(
            alarm_friendly_name=f"{name}Rule",
            human_readable_name=f"Rule {name}",
            metric_groups=[
                CustomMetricGroup(title=f"{name}: failed invocations", metrics=[failed])
            ],
        )

    def watch_analysis(self, outcomes: dict[str, events.IRule], bus: events.IEventBus) -> None:
        """Messages analysed, by outcome: the triage routing rules' matched events."""
        self.facade.monitor_custom(
            alarm_friendly_name="Analysis",
            human_readable_name="Messages analysed",
            metric_groups=[
                CustomMetricGroup(
                    title="MessagesAnalyzed",
                    metrics=[
                        cloudwatch.Metric(
                            namespace="AWS/Events",
                            metric_name="MatchedEvents",
                            dimensions_map={
                                "RuleName": rule.rule_name,
                                "EventBusName": bus.event_bus_name,
                            },
                            statistic="Sum",
                            label=label,
                        )
                        for label, rule in outcomes.items()
                    ],
                )
            ],
        )

    def watch_business(self, providers: list[str]) -> None:
        groups = [
            CustomMetricGroup(
                title=metric,
                metrics=[
                    cloudwatch.Metric(
                        namespace=BUSINESS_NAMESPACE,
                        metric_name=metric,
                        dimensions_map={"provider": provider, "service": f"inbound-{provider}"},
                        statistic="Sum",
                        label=provider,
                    )
                    for provider in providers
                ],
            )
            for metric in BUSINESS_METRICS
        ]
        self.facade.monitor_custom(
            alarm_friendly_name="Business", human_readable_name="Messages", metric_groups=groups
        )
