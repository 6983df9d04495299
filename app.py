#!/usr/bin/env python3
"""CDK entry point: config at the edge, the pipeline stack (and through it every Stage), the
policy gate; then synthesize.

`cdk synth` runs `main()`; tests call `build()` on an App of their own so they synthesize
exactly what `cdk synth` does. `cdk synth -c stage=dev` (`make synth STAGE=dev`) builds only
that environment's Stage, at the construct paths the pipeline gives it, gated by the same packs
and acknowledgements: the inner loop while editing a service. CI and the pipeline synthesize all.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from aws_cdk import region_info
from constructs import Construct

from config.deployment import ConfigError, DeploymentConfig, Environment
from config.loading import load_config, selected_stage
from pipeline.pipeline_stack import PipelineStack, verifier_role_arn
from pipeline.toolchain import ToolchainVersions, read_versions
from policies import acknowledgements, packs
from stages.messaging_stage import MessagingStage

PIPELINE = "Pipeline"  # the pipeline stack's id: the root of every construct path


def build(
    app: cdk.App,
    config: DeploymentConfig,
    versions: ToolchainVersions,
    entries: list[acknowledgements.Acknowledgement] | None = None,
) -> PipelineStack:
    """Add the pipeline (and, through it, every Stage) to `app` and register the policy gate."""
    stack = PipelineStack(app, PIPELINE, config=config, versions=versions)
    retained = [stage.messaging for stage in stack.stages if stage.environment.retain_data]
    packs.register(app, retain_data=[stack, *retained])
    acknowledgements.apply(app, entries)
    return stack


def build_stage(
    app: cdk.App,
    config: DeploymentConfig,
    versions: ToolchainVersions,
    env: Environment,
    entries: list[acknowledgements.Acknowledgement] | None = None,
) -> list[MessagingStage]:
    """Only `env`'s Stages (one per region), as the pipeline builds them, under the same gate.

    They sit at `Pipeline/<Stage>` (a plain construct stands in for the pipeline stack), so
    their templates, logical ids and acknowledgements are those of the full synth.
    """
    scope = Construct(app, PIPELINE)
    toolchain = config.toolchain
    partition = region_info.RegionInfo.get(toolchain.region).partition or cdk.Aws.PARTITION
    stages = [
        MessagingStage(
            scope,
            env.stage_id_for(region),
            environment=env,
            ownership=config.ownership,
            toolchain_account=toolchain.account,
            verifier_role_arn=verifier_role_arn(
                partition, toolchain.account, PIPELINE, env.stage_id_for(region)
            ),
            powertools_version=versions.powertools,
            region=region,
        )
        for region in env.regions
    ]
    packs.register(app, retain_data=[s.messaging for s in stages if env.retain_data])
    acknowledgements.apply(app, entries)
    return stages


def main() -> int:
    app = cdk.App()
    try:
        context = app.node.get_all_context()
        config = load_config(context)
        only = selected_stage(config, context)
    except ConfigError as err:
        for problem in err.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    try:
        # Read before building anything: a broken registry fails in a second, not after the App.
        entries = acknowledgements.load()
        if only is None:
            build(app, config, read_versions(), entries)
        else:
            build_stage(app, config, read_versions(), only, entries)
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
