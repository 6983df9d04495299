"""The App synthesized once per test session, exactly as `cdk synth` does, and its templates.

CDK (jsii) is imported only when a test asks for the `synth` fixture, so pure-Python tests
never pay for starting it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from config.deployment import DeploymentConfig
    from pipeline.pipeline_stack import PipelineStack

ROOT = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


@dataclass
class Synth:
    """One synthesized App: the config it came from, its stacks, templates and reports."""

    config: DeploymentConfig
    pipeline_stack: PipelineStack
    outdir: Path
    assembly: cdk.cx_api.CloudAssembly
    _templates: dict[str, Template] = field(default_factory=dict)

    @property
    def validation_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads((self.outdir / "validation-report.json").read_text())
        return report

    def template(self, environment: str | None = None) -> Template:
        """The pipeline template (None) or the Messaging stack of one environment."""
        from aws_cdk.assertions import Template

        key = environment or "toolchain"
        if key not in self._templates:
            if environment is None:
                body = self.assembly.get_stack_by_name("Pipeline").template
            else:
                stage_id = self.config.environment(environment).stage_id
                nested = self.assembly.get_nested_assembly(f"assembly-Pipeline-{stage_id}")
                body = nested.stacks[0].template
            self._templates[key] = Template.from_json(body)
        return self._templates[key]

    def stage_stacks(self, environment: str) -> list[cdk.cx_api.CloudFormationStackArtifact]:
        stage_id = self.config.environment(environment).stage_id
        return list(self.assembly.get_nested_assembly(f"assembly-Pipeline-{stage_id}").stacks)


def use_venv_node() -> None:
    """jsii runs on the `node` first on PATH: use the venv's Node 24, as the Makefile does."""
    bin_dir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bin_dir + os.pathsep):
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def synthesize(outdir: Path) -> Synth:
    """Build and synthesize the App from cdk.json's context, with what `cdk synth` adds."""
    use_venv_node()
    import aws_cdk as cdk

    from app import build
    from config.loading import load_config
    from pipeline.toolchain import read_versions

    context = cdk_json_context()
    # What `cdk synth` adds to an App's context (the Makefile also passes --no-version-reporting).
    cli_context = {
        "aws:cdk:enable-path-metadata": True,
        "aws:cdk:enable-asset-metadata": True,
        "aws:cdk:version-reporting": False,
    }
    app = cdk.App(outdir=str(outdir), context={**context, **cli_context})
    config = load_config(context)
    stack = build(app, config, read_versions())
    assembly = app.synth()
    return Synth(config=config, pipeline_stack=stack, outdir=outdir, assembly=assembly)
