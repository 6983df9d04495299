"""CloudFormation's per-stack limits, with 20 % headroom: a Stage that grows (a provider a
year) must warn here long before a deploy fails. Limits: "Understand CloudFormation quotas" in
the CloudFormation user guide (500 resources, 200 outputs and parameters, 1 MB template via S3).

Checked on the App as synthesized and on one Stage with 50 providers (the real ones plus
generated ones, discovered like real modules), nested stacks included. Template bytes are the
file CDK writes, which the pipeline's deploy action hands CloudFormation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.scale import HEADROOM, LIMITS, StackSize, template_sizes
from tests.support.synth import Synth

SCALE = 50


def _within_headroom(sizes: list[StackSize]) -> list[str]:
    return [
        f"{s.name}: {getattr(s, limit)} {limit} of {LIMITS[limit]}"
        for s in sizes
        for limit, used in s.used().items()
        if used > HEADROOM
    ]


@pytest.mark.parametrize("name", ["dev", "staging", "prod", None])
def test_every_stack_stays_within_80_percent_of_cloudformation_limits(
    synth: Synth, name: str | None
) -> None:
    stacks = (
        [synth.assembly.get_stack_by_name("Pipeline")] if name is None else synth.stage_stacks(name)
    )
    sizes = [
        size
        for stack in stacks
        for size in template_sizes(Path(stack.template_full_path), stack.stack_name)
    ]
    assert sizes
    assert _within_headroom(sizes) == []


@pytest.fixture(scope="module")
def scaled_assembly(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One prod Stage (the largest: backup, retention) with 50 providers, in an App of its own:
    no pipeline and no policy packs, so the synth costs one Stage."""
    import aws_cdk as cdk

    from config.loading import load_config
    from stages.messaging_stage import MessagingStage
    from tests.support.providers import generated_providers
    from tests.support.synth import cdk_json_context

    # As `cdk synth` runs it: asset metadata names each nested stack's template file.
    context = {**cdk_json_context(), "aws:cdk:enable-asset-metadata": True}
    config = load_config(context)
    with generated_providers(SCALE) as generated:
        assert len(generated) == SCALE - 4
        app = cdk.App(outdir=str(tmp_path_factory.mktemp("scaled")), context=context)
        stage = MessagingStage(
            app,
            "Prod",
            environment=config.environment("prod"),
            ownership=config.ownership,
            toolchain_account=config.toolchain.account,
            verifier_role_arn=f"arn:aws:iam::{config.toolchain.account}:role/Verify",
            powertools_version="3.0.0",
        )
        assert len(stage.messaging.inbound.providers) == SCALE
        (stack,) = app.synth().get_nested_assembly("assembly-Prod").stacks
    return Path(stack.template_full_path), stack.stack_name


@pytest.fixture(scope="module")
def scaled_stage(scaled_assembly: tuple[Path, str]) -> list[StackSize]:
    return template_sizes(*scaled_assembly)


def test_a_stage_with_50_providers_stays_within_80_percent_of_every_limit(
    scaled_stage: list[StackSize],
) -> None:
    _, *nested = scaled_stage
    # Every provider beyond the four deployed before nested stacks has a stack of its own.
    assert len(nested) == SCALE - 4
    assert _within_headroom(scaled_stage) == []


def test_the_messaging_stack_pays_little_per_nested_provider(
    scaled_stage: list[StackSize],
) -> None:
    """Linear growth with a small slope: the Stage's own stack holds, per provider beyond the
    first four, its nested stack resource, its API resource and method (3 resources) and two
    outputs; the rest is in the provider's stack, which does not grow with the count."""
    parent, *nested = scaled_stage
    extra = SCALE - 4
    assert parent.resources <= 190 + 3 * extra
    assert parent.outputs <= 30 + 2 * extra
    assert len({(s.resources, s.outputs, s.parameters) for s in nested}) == 1


# IAM quotas ("IAM and AWS STS quotas", IAM user guide): a role's inline policies together may
# hold 10,240 characters, a managed policy 6,144 (whitespace not counted).
ROLE_INLINE_LIMIT = 10_240
MANAGED_POLICY_LIMIT = 6_144


def _chars(document: object) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def _policy_sizes(template: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Inline characters per role (its Policies and every AWS::IAM::Policy naming it by Ref)
    and characters per managed policy. Unresolved ARNs are counted as the template holds them
    (`Fn::GetAtt` of a nested stack's output is longer than the ARN it resolves to)."""
    resources = template["Resources"]
    inline = {
        lid: sum(_chars(p["PolicyDocument"]) for p in r["Properties"].get("Policies", []))
        for lid, r in resources.items()
        if r["Type"] == "AWS::IAM::Role"
    }
    managed: dict[str, int] = {}
    for lid, r in resources.items():
        if r["Type"] == "AWS::IAM::Policy":
            for role in r["Properties"].get("Roles", []):
                if isinstance(role, dict) and role.get("Ref") in inline:
                    inline[role["Ref"]] += _chars(r["Properties"]["PolicyDocument"])
        elif r["Type"] == "AWS::IAM::ManagedPolicy":
            managed[lid] = _chars(r["Properties"]["PolicyDocument"])
    return inline, managed


def test_a_stage_with_50_providers_keeps_every_role_within_iam_policy_size_quotas(
    scaled_assembly: tuple[Path, str],
) -> None:
    """The verification role lists every provider's dead-letter queue and secret: at 50
    providers CDK moves what does not fit its inline policy into overflow managed policies."""
    path, _ = scaled_assembly
    over: list[str] = []
    for file in sorted(path.parent.glob("*.template.json")):
        inline, managed = _policy_sizes(json.loads(file.read_text()))
        over += [f"{file.name} {r}: {n}" for r, n in inline.items() if n > 0.8 * ROLE_INLINE_LIMIT]
        over += [
            f"{file.name} {p}: {n}" for p, n in managed.items() if n > 0.8 * MANAGED_POLICY_LIMIT
        ]
    assert over == []
    parent, _ = _policy_sizes(json.loads(path.read_text()))
    verification = next(role for role in parent if role.startswith("VerificationRole"))
    assert parent[verification] > 4_000  # it does list the providers (the check is not vacuous)
