"""Platform-GlobalName: a dashboard named without its region collides with the same Stage in a
second region (dashboard names are global to an account)."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from tests.support.rules import ENV, findings, flagged


def test_a_fixed_dashboard_name_is_flagged_and_a_regional_one_passes(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        cloudwatch.Dashboard(stack, "Fixed", dashboard_name="Dashboard")
        cloudwatch.Dashboard(stack, "Regional", dashboard_name=f"messaging-dev-{stack.region}")
        cloudwatch.Dashboard(stack, "Unnamed")

    assert flagged(findings(tmp_path, build), "Platform-GlobalName") == {"S/Fixed/Resource"}
