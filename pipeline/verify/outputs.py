"""The deployed Stage as its CloudFormation outputs describe it: read from the stack itself
(`STAGE_STACK`, with the verification role), or from `CFN_<Key>` environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stages import outputs as names

PREFIX = "CFN_"
# What the pipeline's Verify step sets. CodePipeline caps each action configuration value at
# 1,000 characters, so the Stage's outputs are not passed as variables: the driver reads them.
STACK = "STAGE_STACK"
REGION = "STAGE_REGION"
ROLE = "VERIFICATION_ROLE_ARN"
REQUIRED = (names.API_URL, names.AUDIT_TABLE)


class VerifyError(Exception):
    """A problem with the driver's inputs, reported as one line."""


@dataclass(frozen=True)
class ProviderOutputs:
    """One provider's outputs the driver reads: its signing secret and its dead-letter queue."""

    secret_name: str
    dead_letter_url: str


@dataclass(frozen=True)
class StageOutputs:
    """What the driver needs: the API, the audit table, each provider's secret and DLQ."""

    api_url: str
    audit_table: str
    providers: dict[str, ProviderOutputs]
    verification_role_arn: str = ""

    @classmethod
    def from_mapping(cls, outputs: Mapping[str, str], *, prefix: str = "") -> StageOutputs:
        for key in REQUIRED:
            if not outputs.get(key):
                raise VerifyError(f"missing stack output {prefix}{key}")
        providers = {}
        for key in sorted(outputs):
            provider = names.provider_of(key, names.SECRET_NAME)
            if provider is None:
                continue
            dlq_key = names.provider_output(provider, names.DEAD_LETTER_QUEUE_URL)
            if not outputs.get(dlq_key):
                raise VerifyError(f"missing stack output {prefix}{dlq_key}")
            providers[provider] = ProviderOutputs(outputs[key], outputs[dlq_key])
        if not providers:
            raise VerifyError(f"no provider outputs ({prefix}<Provider>{names.SECRET_NAME})")
        return cls(
            api_url=outputs[names.API_URL],
            audit_table=outputs[names.AUDIT_TABLE],
            providers=providers,
            verification_role_arn=outputs.get(names.VERIFICATION_ROLE_ARN, ""),
        )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> StageOutputs:
        return cls.from_mapping(
            overrides(os.environ if environ is None else environ), prefix=PREFIX
        )


def overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """Stack outputs given as `CFN_<Key>` environment variables, by key."""
    return {k.removeprefix(PREFIX): v for k, v in environ.items() if k.startswith(PREFIX)}


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The outputs of one deployed stack, by key."""
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def read_secrets(secretsmanager: Any, stage: StageOutputs) -> dict[str, dict[str, str]]:
    """Each provider's signing secret, read by name (as the processors read it)."""
    secrets = {}
    for name, provider in stage.providers.items():
        value = secretsmanager.get_secret_value(SecretId=provider.secret_name)["SecretString"]
        secrets[name] = json.loads(value)
    return secrets
