"""The manifest walk: every artifact of a cloud assembly, nested Stage assemblies included.

Standard library only. Each manifest is read once per walk; templates and asset manifests are
read by their own modules, on demand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
STACK = "aws:cloudformation:stack"
NESTED_ASSEMBLY = "cdk:cloud-assembly"
ASSET_MANIFEST = "cdk:asset-manifest"
UNKNOWN_ENVIRONMENT = "aws://unknown/unknown"


def read(directory: Path) -> dict[str, Any]:
    """The manifest.json of one assembly directory."""
    manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    return manifest


def environment(value: str | None) -> tuple[str, str]:
    """(account, region) of an artifact's `aws://account/region` environment."""
    _, _, account_region = (value or UNKNOWN_ENVIRONMENT).partition("aws://")
    account, _, region = account_region.partition("/")
    return account, region


@dataclass(frozen=True)
class Artifact:
    """One artifact of one manifest, and where that manifest sits in the assembly."""

    id: str
    type: str
    body: dict[str, Any] = field(compare=False, repr=False)
    directory: Path  # the directory holding the manifest, relative to the root ("." at top)
    stage: str = ""  # display name of the nested (Stage) assembly it belongs to; "" at top level

    @property
    def properties(self) -> dict[str, Any]:
        properties: dict[str, Any] = self.body.get("properties", {})
        return properties

    @property
    def display_name(self) -> str:
        """CDK's displayName: a stack's construct path (the artifact id where it has none)."""
        return str(self.body.get("displayName", self.id))

    @property
    def nested(self) -> bool:
        return self.directory != Path(".")


def artifacts(root: Path, directory: Path = Path("."), stage: str = "") -> Iterator[Artifact]:
    """Every artifact in manifest order; a nested assembly's artifacts follow its own entry."""
    for artifact_id, body in read(root / directory).get("artifacts", {}).items():
        artifact = Artifact(artifact_id, body["type"], body, directory, stage)
        yield artifact
        if artifact.type == NESTED_ASSEMBLY:
            properties = artifact.properties
            yield from artifacts(
                root,
                directory / properties["directoryName"],
                str(properties.get("displayName", artifact_id)),
            )


def assembly_root(directory: Path) -> Path:
    """The top-level assembly containing `directory` (itself unless it is a nested assembly)."""
    while directory.parent != directory and _lists_nested(directory.parent, directory.name):
        directory = directory.parent
    return directory


def _lists_nested(parent: Path, name: str) -> bool:
    if not (parent / MANIFEST).is_file():
        return False
    return any(
        body.get("type") == NESTED_ASSEMBLY
        and body.get("properties", {}).get("directoryName") == name
        for body in read(parent).get("artifacts", {}).values()
    )
