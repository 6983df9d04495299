"""Platform-RuleTargetDeadLetter: each target needs a DLQ and an explicit retry policy."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from tests.support.rules import ENV, findings


def test_each_missing_setting_is_its_own_finding(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        dlq = sqs.Queue(stack, "DeadLetter")
        topic = sns.Topic(stack, "Topic")
        pattern = events.EventPattern(source=["test"])
        good = events.Rule(stack, "Good", event_pattern=pattern)
        good.add_target(
            targets.SnsTopic(
                topic,
                dead_letter_queue=dlq,
                retry_attempts=8,
                max_event_age=cdk.Duration.hours(2),
            )
        )
        bad = events.Rule(stack, "Bad", event_pattern=pattern)
        bad.add_target(targets.SnsTopic(topic))

    found = findings(tmp_path, build)
    rule = "Platform-RuleTargetDeadLetter"
    assert found[f"{rule}[Target::Target0::DeadLetterConfig]"] == {"S/Bad/Resource"}
    assert found[f"{rule}[Target::Target0::RetryPolicy]"] == {"S/Bad/Resource"}
    assert not any(
        "S/Good/Resource" in paths for name, paths in found.items() if name.startswith(rule)
    )
