"""Platform-QueueDeadLetter: consumed queues need a DLQ; a DLQ itself and idle queues do not."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs

from tests.support.rules import ENV, findings, flagged


def test_consumed_queues_without_a_redrive_policy_are_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        dlq = sqs.Queue(stack, "DeadLetter")
        redriven = sqs.Queue(
            stack, "Redriven", dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=3)
        )
        bare_source = sqs.Queue(stack, "BareSource")
        bare_target = sqs.Queue(stack, "BareTarget")
        sqs.Queue(stack, "Idle")
        fn = lambda_.Function(
            stack,
            "Fn",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(e, c): pass"),
        )
        fn.add_event_source(sources.SqsEventSource(redriven))
        fn.add_event_source(sources.SqsEventSource(bare_source))
        rule = events.Rule(stack, "Rule", event_pattern=events.EventPattern(source=["test"]))
        rule.add_target(targets.SqsQueue(bare_target, dead_letter_queue=dlq))

    assert flagged(findings(tmp_path, build), "Platform-QueueDeadLetter") == {
        "S/BareSource/Resource",
        "S/BareTarget/Resource",
    }
