"""The deployed Stage as its CloudFormation outputs describe it (the pipeline passes each output
`Key` as the environment variable `CFN_<Key>`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "CFN_"
REQUIRED = ("ApiUrl", "AuditTable")


class VerifyError(Exception):
    """A problem with the driver's inputs, reported as one line."""


@dataclass(frozen=True)
class ProviderOutputs:
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
            if not key.endswith("SecretName"):
                continue
            title = key.removesuffix("SecretName")
            dlq = outputs.get(f"{title}DeadLetterQueueUrl")
            if not dlq:
                raise VerifyError(f"missing stack output {prefix}{title}DeadLetterQueueUrl")
            providers[title.lower()] = ProviderOutputs(outputs[key], dlq)
        if not providers:
            raise VerifyError(f"no provider outputs ({prefix}<Provider>SecretName)")
        return cls(
            api_url=outputs["ApiUrl"],
            audit_table=outputs["AuditTable"],
            providers=providers,
            verification_role_arn=outputs.get("VerificationRoleArn", ""),
        )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> StageOutputs:
        environ = os.environ if environ is None else environ
        outputs = {k.removeprefix(PREFIX): v for k, v in environ.items() if k.startswith(PREFIX)}
        return cls.from_mapping(outputs, prefix=PREFIX)


def read_secrets(secretsmanager: Any, stage: StageOutputs) -> dict[str, dict[str, str]]:
    """Each provider's signing secret, read by name (as the processors read it)."""
    secrets = {}
    for name, provider in stage.providers.items():
        value = secretsmanager.get_secret_value(SecretId=provider.secret_name)["SecretString"]
        secrets[name] = json.loads(value)
    return secrets
