"""Registers the policy packs once on the App; cdk-nag v3 plugins also check every Stage."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from policies.platform_pack import PlatformChecks


def register(app: cdk.App, *, retain_data: Iterable[cdk.Stack] = ()) -> None:
    """AwsSolutions, Serverless and the project's Platform pack, all in one validation report."""
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True),
        ServerlessChecks(app, verbose=True),
        PlatformChecks(app, retain_data=retain_data),
    )
