"""Platform-KeyRotation: a rotating and a non-rotating key."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_kms as kms

from tests.support.rules import ENV, findings, flagged


def test_only_the_key_without_rotation_is_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        kms.Key(stack, "Rotating", enable_key_rotation=True)
        kms.Key(stack, "Static")

    assert flagged(findings(tmp_path, build), "Platform-KeyRotation") == {"S/Static/Resource"}
