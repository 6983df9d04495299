"""`make synth STAGE=dev`: one environment's Stage, synthesized as the pipeline synthesizes it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.synth import CLI_CONTEXT, Synth, cdk_json_context, run_app


def test_one_stage_synth_writes_the_full_synths_templates(synth: Synth, tmp_path: Path) -> None:
    # The inner loop is only worth having if what it checks is what CI deploys: the same
    # construct paths (so the same acknowledgements apply) and the same template and asset
    # manifest, byte for byte.
    # What `cdk synth -c stage=dev` hands the app, in a fresh interpreter as under the CLI: a
    # second App in one jsii process stages the Lambda code once and the versions' logical ids
    # then hash another asset path.
    outdir = tmp_path / "cdk.out"
    done = run_app({**cdk_json_context(), **CLI_CONTEXT, "stage": "dev"}, outdir)
    assert done.returncode == 0, done.stderr[-2000:]
    stage = "assembly-Pipeline-Dev"
    written = sorted(p.name for p in (outdir / stage).glob("*.*.json"))
    assert [n for n in written if n.endswith(".template.json")], written
    for name in written:
        if name.endswith(".metadata.json"):  # creation stack traces differ
            continue
        assert (outdir / stage / name).read_bytes() == (synth.outdir / stage / name).read_bytes()
    # Only that Stage: no pipeline stack, no other environment.
    top = json.loads((outdir / "manifest.json").read_text())["artifacts"]
    assert sorted(n for n, a in top.items() if a["type"] == "cdk:cloud-assembly") == [stage]
    assert not (outdir / "Pipeline.template.json").exists()
    # The packs ran on it and the registry's acknowledgements applied: nothing open.
    report = json.loads((outdir / "validation-report.json").read_text())
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    assert {"AwsSolutions", "Serverless", "Platform"} <= set(plugins)
    assert all(p["violations"] == [] for p in plugins.values())
    assert all(plugins[name]["suppressedViolations"] for name in ("AwsSolutions", "Serverless"))
