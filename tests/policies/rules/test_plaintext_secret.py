"""Platform-PlaintextSecret: literal tokens and keys flagged, secret names and references not."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

from policies.rules.plaintext_secret import secret_types
from tests.support.rules import ENV, findings, flagged

SLACK = "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"  # pragma: allowlist secret
SIGNING = "8f14e45fceea167a5a36dedd4bea2543"  # pragma: allowlist secret
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"


def _function(stack: cdk.Stack, name: str, environment: dict[str, str]) -> None:
    lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): return None"),
        environment=environment,
    )


def test_a_literal_token_in_a_function_environment_is_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        secret = secretsmanager.Secret(stack, "Token")
        _function(stack, "Literal", {"SLACK_TOKEN": SLACK})
        _function(stack, "Signing", {"SIGNING_SECRET": SIGNING})
        _function(stack, "ByName", {"SECRET_NAME": "messaging/webhooks/slack"})
        _function(stack, "ByArn", {"SECRET_ARN": secret.secret_arn, "PROVIDER": "slack"})
        ssm.StringParameter(stack, "Key", string_value=KEY)

    found = findings(tmp_path, build)
    assert flagged(found, "Platform-PlaintextSecret") == {
        "S/Literal/Resource",
        "S/Signing/Resource",
        "S/Key/Resource",
    }
    assert "Platform-PlaintextSecret[Environment/Variables/SLACK_TOKEN::Slack Token]" in found


def test_what_the_real_app_carries_is_not_a_secret() -> None:
    assert secret_types("Code/S3Key", f"{'a1b2c3d4' * 8}.zip") == set()
    assert secret_types("Environment/Variables/TABLE", "PipelineDevMessagingTable6F0675E1") == set()
    assert secret_types("Environment/Variables/ROLE", "arn:aws:iam::123456789012:role/x") == set()
    assert secret_types("Environment/Variables/SECRET_NAME", "messaging/webhooks/slack") == set()
