#!/usr/bin/env python3
"""CDK entry point: config at the edge, the pipeline stack (and through it every Stage), the
policy gate; then synthesize.

`cdk synth` runs `main()`; tests call `build()` on an App of their own so they synthesize
exactly what `cdk synth` does.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk

from config.deployment import ConfigError, DeploymentConfig
from config.loading import load_config
from pipeline.pipeline_stack import PipelineStack
from pipeline.toolchain import ToolchainVersions, read_versions
from policies import acknowledgements, packs


def build(app: cdk.App, config: DeploymentConfig, versions: ToolchainVersions) -> PipelineStack:
    """Add the pipeline (and, through it, every Stage) to `app` and register the policy gate."""
    stack = PipelineStack(app, "Pipeline", config=config, versions=versions)
    retained = [stage.messaging for stage in stack.stages if stage.environment.retain_data]
    packs.register(app, retain_data=[stack, *retained])
    acknowledgements.apply(app)
    return stack


def main() -> int:
    app = cdk.App()
    try:
        config = load_config(app.node.get_all_context())
    except ConfigError as err:
        for problem in err.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    try:
        build(app, config, read_versions())
    except acknowledgements.RegistryError as err:
        print(f"registry error: {err}", file=sys.stderr)
        return 2
    try:
        app.synth()
    except RuntimeError as err:
        if "ValidationFailed" not in str(err):
            raise
        print(
            "policy gate: open findings (listed above); see cdk.out/validation-report.json",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
