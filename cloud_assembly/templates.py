"""The CloudFormation templates of a synthesized cloud assembly, with their stack and environment.

Read from the assembly manifests (not by globbing), so nested Stage assemblies are found wherever
CDK puts them and every template carries the account and region it deploys to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StackTemplate:
    """One stack template: where it is (relative to the assembly root) and where it deploys."""

    root: Path
    relpath: str
    stack: str  # "Pipeline", or "Dev/Messaging" for a stack of a Stage
    stack_name: str
    account: str
    region: str

    @cached_property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads((self.root / self.relpath).read_text())
        return body

    @cached_property
    def construct_paths(self) -> dict[str, str]:
        """Logical id -> construct path (`aws:cdk:path` metadata; "" where a resource has none)."""
        return {
            logical_id: str(resource.get("Metadata", {}).get("aws:cdk:path", ""))
            for logical_id, resource in self.body.get("Resources", {}).items()
        }


def templates(outdir: Path) -> list[StackTemplate]:
    """Every stack template of the assembly at `outdir`, nested Stage assemblies included."""
    found: list[StackTemplate] = []
    _walk(outdir, Path("."), nested=False, found=found)
    if not found:
        raise FileNotFoundError(f"{outdir}: no stack templates in manifest.json")
    return found


def _walk(root: Path, here: Path, *, nested: bool, found: list[StackTemplate]) -> None:
    manifest = json.loads((root / here / "manifest.json").read_text())
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact["type"] == "cdk:cloud-assembly":
            _walk(root, here / properties["directoryName"], nested=True, found=found)
        elif artifact["type"] == "aws:cloudformation:stack":
            display = artifact.get("displayName", artifact_id)
            # A Stage's stacks live under the pipeline stack that owns the Stage: drop that prefix.
            stack = display.split("/", 1)[1] if nested and "/" in display else display
            _, _, account_region = artifact.get("environment", "aws://unknown/unknown").partition(
                "aws://"
            )
            account, _, region = account_region.partition("/")
            found.append(
                StackTemplate(
                    root=root,
                    relpath=(here / properties["templateFile"]).as_posix(),
                    stack=stack,
                    stack_name=properties.get("stackName", artifact_id),
                    account=account,
                    region=region,
                )
            )
