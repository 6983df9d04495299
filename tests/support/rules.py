"""Synthesizes a small App and runs the Platform pack on it, as the real gate does after synth."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk

from cloud_assembly.templates import templates
from policies.platform_pack import PlatformChecks

ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def findings(
    tmp_path: Path,
    build: Callable[[cdk.App], None],
    *,
    retain: Callable[[cdk.App], list[cdk.Stack]] | None = None,
) -> dict[str, set[str]]:
    """Rule id (with finding suffix) -> construct paths of the resources it flags."""
    # Path metadata as the CDK CLI enables it: findings name resources by construct path.
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context={"aws:cdk:enable-path-metadata": True})
    build(app)
    app.synth()
    pack = PlatformChecks(retain_data=retain(app) if retain else ())
    found: dict[str, set[str]] = {}
    for finding in pack.check_templates(templates(tmp_path / "cdk.out")):
        found.setdefault(finding.rule, set()).add(finding.construct_path)
    return found


def flagged(found: dict[str, set[str]], rule: str) -> set[str]:
    """Every path flagged by `rule`, whatever the finding suffix."""
    return {
        path
        for name, paths in found.items()
        if name == rule or name.startswith(f"{rule}[")
        for path in paths
    }
