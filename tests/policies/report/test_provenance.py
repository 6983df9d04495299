"""Provenance: recorded once beside the assembly, then carried by every page, SARIF and JUnit."""

from __future__ import annotations

import json
from pathlib import Path

from policies.report import provenance

ENV = {"CODEBUILD_RESOLVED_SOURCE_VERSION": "a" * 40, "EXECUTION_ID": "0c1d-exec"}


def test_collect_names_commit_execution_source_and_versions() -> None:
    found = provenance.collect(ENV)
    assert found.commit == "a" * 40
    assert found.execution == "0c1d-exec"
    assert found.label().startswith(f"commit {'a' * 12} (execution 0c1d-exec, ")
    cdk_json = json.loads((provenance.ROOT / "cdk.json").read_text())
    source = cdk_json["context"]["deployment"]["source"]
    assert found.repository == f"https://github.com/{source['owner']}/{source['repo']}"
    assert found.branch == source["branch"]
    package = json.loads((provenance.ROOT / "package.json").read_text())
    assert found.versions["aws-cdk"] == package["devDependencies"]["aws-cdk"]
    for name in ("aws-cdk-lib", "cdk-nag", "cfn-lint", "checkov", "parliament", "detect-secrets"):
        assert found.versions[name], name
    assert f"cdk-nag {found.versions['cdk-nag']}" in found.tools()


def test_ensure_records_once_and_a_later_run_reads_the_record(tmp_path: Path) -> None:
    first = provenance.ensure(tmp_path, ENV)
    assert provenance.load(tmp_path) == first
    again = provenance.ensure(tmp_path, {"CODEBUILD_RESOLVED_SOURCE_VERSION": "b" * 40})
    assert again == first  # the synth's provenance, not the reporting run's
    assert provenance.load(tmp_path / "nothing") is None
