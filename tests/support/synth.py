"""The App synthesized once per test run, exactly as `cdk synth` does, and its templates.

CDK (jsii) is imported only when a test asks for the `synth` fixture, so pure-Python tests
never pay for starting it. Under xdist the first worker that needs the App synthesizes it into
a directory the workers share (`shared_synth`, under a file lock); the others read that cloud
assembly from disk instead of synthesizing the App again.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from config.deployment import DeploymentConfig

ROOT = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


@dataclass
class Synth:
    """One synthesized App: the config it came from, its cloud assembly, templates and reports.

    Everything is read from `outdir`, as the pipeline's later steps read it, so a worker that
    did not synthesize sees exactly what one that did sees.
    """

    config: DeploymentConfig
    outdir: Path
    _assembly: cdk.cx_api.CloudAssembly | None = None
    _templates: dict[str, Template] = field(default_factory=dict)

    @property
    def assembly(self) -> cdk.cx_api.CloudAssembly:
        if self._assembly is None:
            use_venv_node()
            from aws_cdk import cx_api

            self._assembly = cx_api.CloudAssembly(str(self.outdir))
        return self._assembly

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


# What `cdk synth` adds to an App's context (the Makefile also passes --no-version-reporting).
CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": False,
}


def run_app(
    context: dict[str, Any], outdir: Path, *argv: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """app.py in a fresh interpreter as `cdk synth` runs it (`argv`, default `app.py`): the
    context and output directory in the environment, where jsii's Node process reads them when
    it starts, and the venv's Node first on PATH."""
    env = dict(os.environ, CDK_CONTEXT_JSON=json.dumps(context), CDK_OUTDIR=str(outdir))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [sys.executable, *(argv or ("app.py",))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def synthesize(outdir: Path) -> Synth:
    """Build and synthesize the App from cdk.json's context, with what `cdk synth` adds."""
    use_venv_node()
    import aws_cdk as cdk

    from app import build
    from config.loading import load_config
    from pipeline.toolchain import read_versions

    context = cdk_json_context()
    app = cdk.App(outdir=str(outdir), context={**context, **CLI_CONTEXT})
    config = load_config(context)
    build(app, config, read_versions())
    return Synth(config=config, outdir=outdir, _assembly=app.synth())


def synthesized(outdir: Path) -> Synth:
    """An App synthesized earlier into `outdir`, read back from disk (no CDK App built)."""
    from config.loading import load_config

    return Synth(config=load_config(cdk_json_context()), outdir=outdir)


COMPLETE = ".synthesized"  # written last: the shared cdk.out is whole


def shared_synth(shared: Path, outdir: Path) -> Synth:
    """The App, synthesized once into `shared/cdk.out` by whichever process gets there first
    (the others wait on `shared/synth.lock`), then copied to this process's own `outdir`:
    modules add files to their cdk.out (scanners/results.json, reports/) and must not see
    another worker's."""
    source = shared / "cdk.out"
    with (shared / "synth.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (source / COMPLETE).is_file():
            shutil.rmtree(source, ignore_errors=True)
            synthesize(source)
            (source / COMPLETE).touch()
    shutil.copytree(source, outdir, ignore=shutil.ignore_patterns(COMPLETE), dirs_exist_ok=True)
    return synthesized(outdir)
