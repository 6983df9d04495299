"""CloudFormation's per-stack limits, with 20 % headroom: a Stage that grows (a provider a
year) must warn here long before a deploy fails. Limits: "CloudFormation quotas" in the
CloudFormation user guide (500 resources, 200 outputs and parameters, 1 MB template via S3)."""

from __future__ import annotations

import json

import pytest

from tests.support.synth import Synth

HEADROOM = 0.8
LIMITS = {"Resources": 500, "Outputs": 200, "Parameters": 200}
TEMPLATE_BYTES = 1_000_000  # templates the pipeline deploys are uploaded to S3 first


@pytest.mark.parametrize("name", ["dev", "staging", "prod", None])
def test_every_stack_stays_within_80_percent_of_cloudformation_limits(
    synth: Synth, name: str | None
) -> None:
    stacks = (
        [synth.assembly.get_stack_by_name("Pipeline")] if name is None else synth.stage_stacks(name)
    )
    for stack in stacks:
        body = stack.template
        for section, limit in LIMITS.items():
            count = len(body.get(section, {}))
            assert count <= HEADROOM * limit, f"{stack.stack_name}: {count} {section} of {limit}"
        size = len(json.dumps(body, separators=(",", ":")))
        assert size <= HEADROOM * TEMPLATE_BYTES, f"{stack.stack_name}: {size} bytes"
