"""Platform-LogRetention: a log group with and without a retention period."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

from tests.support.rules import ENV, findings, flagged


def test_a_log_group_kept_forever_is_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        logs.LogGroup(stack, "Month", retention=logs.RetentionDays.ONE_MONTH)
        logs.LogGroup(stack, "Forever", retention=logs.RetentionDays.INFINITE)

    assert flagged(findings(tmp_path, build), "Platform-LogRetention") == {"S/Forever/Resource"}
