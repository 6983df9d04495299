"""The CloudFormation templates of a synthesized cloud assembly, with their stack and environment.

Read from the assembly manifests (not by globbing), so nested Stage assemblies are found wherever
CDK puts them and every template carries the account and region it deploys to.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from cloud_assembly import manifest
from cloud_assembly.intrinsics import Resolver, UnresolvableError
from cloud_assembly.manifest import Artifact


@dataclass(frozen=True)
class StackTemplate:
    """One stack template: where it is (relative to the assembly root) and where it deploys."""

    root: Path
    relpath: str
    stack: str  # "Pipeline", or "Dev/Messaging" for a stack of a Stage
    stack_name: str
    account: str
    region: str
    path: str = ""  # the stack's construct path: "Pipeline", "Pipeline/Dev/Messaging"
    stage: str = ""  # the construct path of the Stage holding it ("" at top level)
    termination_protection: bool = False
    asset_manifest: str = ""  # its asset manifest, relative to the root ("" if it has none)
    # A nested stack's parameter values as its parent passes them, intrinsics resolved
    # (cloud_assembly.intrinsics, with the parent's environment); () for a top-level stack.
    parameters: tuple[tuple[str, Any], ...] = ()

    @property
    def file(self) -> Path:
        return self.root / self.relpath

    @cached_property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.file.read_text())
        return body

    @cached_property
    def construct_paths(self) -> dict[str, str]:
        """Logical id -> construct path (`aws:cdk:path` metadata; "" where a resource has none)."""
        return {
            logical_id: str(resource.get("Metadata", {}).get("aws:cdk:path", ""))
            for logical_id, resource in self.body.get("Resources", {}).items()
        }

    def construct_path(self, logical_id: str) -> str:
        """The resource's construct path, or `<stack path>/<logical id>` where it has none."""
        return self.construct_paths.get(logical_id) or f"{self.path}/{logical_id}"


def templates(outdir: Path, *, nested: bool = True) -> list[StackTemplate]:
    """Every stack template of the assembly at `outdir`, nested Stage assemblies included, and
    (unless `nested` is false) each stack's nested stacks right after it."""
    walked = list(manifest.artifacts(outdir))
    found = [_stack(outdir, a, walked) for a in walked if a.type == manifest.STACK]
    if not found:
        raise FileNotFoundError(f"{outdir}: no stack templates in manifest.json")
    if nested:
        found = [t for stack in found for t in (stack, *nested_templates(stack))]
    return found


NESTED_STACK = "AWS::CloudFormation::Stack"
_OBJECT_KEY = re.compile(r"\b([0-9a-f]{64}\.json)")


def nested_templates(stack: StackTemplate) -> list[StackTemplate]:
    """The nested stacks `stack` deploys whose templates CDK wrote beside it, depth first, each
    with the environment of the stack that deploys it.

    A nested stack is not an artifact of the manifest: its template is a file asset of the
    parent, named by the resource's `aws:asset:path` metadata or, without it, by the parent's
    asset manifest (the TemplateURL's object key).
    """
    found: list[StackTemplate] = []
    for logical_id, resource in stack.body.get("Resources", {}).items():
        if resource.get("Type") != NESTED_STACK:
            continue
        metadata = resource.get("Metadata", {})
        key = _OBJECT_KEY.search(json.dumps(resource.get("Properties", {}).get("TemplateURL")))
        source = metadata.get("aws:asset:path") or (
            _asset_sources(stack).get(key.group(1)) if key else None
        )
        if not source:
            continue
        # "<stack path>/Inbound/Acme.NestedStack/Acme.NestedStackResource" -> ".../Inbound/Acme"
        resource_path = str(metadata.get("aws:cdk:path", ""))
        path = resource_path.rsplit("/", 1)[0].removesuffix(".NestedStack") or (
            f"{stack.path}/{logical_id}"
        )
        child = replace(
            stack,
            relpath=(PurePosixPath(stack.relpath).parent / source).as_posix(),
            stack=stack.stack + path.removeprefix(stack.path),
            stack_name=f"{stack.stack_name}-{logical_id}",
            path=path,
            termination_protection=False,
            parameters=_passed(stack, resource.get("Properties", {}).get("Parameters", {})),
        )
        found += [child, *nested_templates(child)]
    return found


def _passed(parent: StackTemplate, values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The parameter values `parent` passes a nested stack, as literals where they resolve."""
    resolver = Resolver.for_template(
        parent.body,
        parameters=dict(parent.parameters),
        account=parent.account if parent.account.isdigit() else "123456789012",
        region=parent.region if not parent.region.startswith("unknown") else "us-east-1",
        stack_name=parent.stack_name,
    )
    passed = []
    for name, value in sorted(values.items()):
        try:
            passed.append((name, resolver.resolve(value)))
        except UnresolvableError:
            continue
    return tuple(passed)


def _asset_sources(stack: StackTemplate) -> dict[str, str]:
    """Object key -> file, for the file assets of `stack`'s asset manifest."""
    if not stack.asset_manifest or not (stack.root / stack.asset_manifest).is_file():
        return {}
    assets = json.loads((stack.root / stack.asset_manifest).read_text()).get("files", {})
    return {
        destination["objectKey"]: asset["source"]["path"]
        for asset in assets.values()
        for destination in asset.get("destinations", {}).values()
        if asset.get("source", {}).get("packaging") == "file"
    }


def stack_at(template_file: Path) -> StackTemplate:
    """The stack whose template is `template_file`, read from the manifests around it.

    For callers handed template files rather than an assembly (cdk-nag's validation plugins).
    """
    for root in dict.fromkeys((manifest.assembly_root(template_file.parent), template_file.parent)):
        walked = list(manifest.artifacts(root))
        for artifact in walked:
            if artifact.type == manifest.STACK and _file(root, artifact) == template_file:
                return _stack(root, artifact, walked)
    raise FileNotFoundError(f"{template_file}: no stack in the manifest beside it")


def _file(root: Path, artifact: Artifact) -> Path:
    return root / artifact.directory / str(artifact.properties["templateFile"])


def _stack(root: Path, artifact: Artifact, walked: list[Artifact]) -> StackTemplate:
    properties = artifact.properties
    display = artifact.display_name
    # A Stage's stacks live under the pipeline stack that owns the Stage: drop that prefix.
    stack = display.split("/", 1)[1] if artifact.nested and "/" in display else display
    account, region = manifest.environment(artifact.body.get("environment"))
    assets = [
        a
        for a in walked
        if a.type == manifest.ASSET_MANIFEST
        and a.directory == artifact.directory
        and a.id in artifact.body.get("dependencies", [])
    ]
    return StackTemplate(
        root=root,
        relpath=(artifact.directory / properties["templateFile"]).as_posix(),
        stack=stack,
        stack_name=properties.get("stackName", artifact.id),
        account=account,
        region=region,
        path=display,
        stage=artifact.stage,
        termination_protection=bool(properties.get("terminationProtection", False)),
        asset_manifest=(
            (artifact.directory / assets[0].properties["file"]).as_posix() if assets else ""
        ),
    )
