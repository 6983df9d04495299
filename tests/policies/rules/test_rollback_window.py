"""Platform-RollbackWindow: a 5-minute canary gated by alarms needing 3 x 5 minutes can never
roll back; alarms that fire on one 1-minute datapoint can."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_

from tests.support.rules import ENV, findings, flagged


def _canary(stack: cdk.Stack, *, period: cdk.Duration, datapoints: int) -> None:
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )
    alias = lambda_.Alias(stack, "Live", alias_name="live", version=function.current_version)
    errors = function.metric_errors(period=period).create_alarm(
        stack, "Errors", threshold=1, evaluation_periods=datapoints
    )
    codedeploy.LambdaDeploymentGroup(
        stack,
        "Rollout",
        alias=alias,
        deployment_config=codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
        alarms=[errors],
    )


def test_alarms_slower_than_the_canary_are_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        _canary(cdk.Stack(app, "S", env=ENV), period=cdk.Duration.minutes(5), datapoints=3)

    assert flagged(findings(tmp_path, build), "Platform-RollbackWindow") == {"S/Rollout/Resource"}


def test_alarms_that_fire_inside_the_canary_pass(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        _canary(cdk.Stack(app, "S", env=ENV), period=cdk.Duration.minutes(1), datapoints=1)

    assert flagged(findings(tmp_path, build), "Platform-RollbackWindow") == set()
