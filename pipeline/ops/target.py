"""Where the CLI points: the deployment in cdk.json (toolchain account and region), the
credentials' account, the pipeline's name; and one line for each way that can go wrong."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
from botocore.exceptions import ClientError

from config.deployment import ConfigError, DeploymentConfig
from config.loading import load_config

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_STACK = "Pipeline"
APPROVER_HINT = "the release approver role (ApproverRoleArn output of the Pipeline stack)"

# Exit codes, one per kind of problem (printed by --help).
NOT_CONFIRMED = 1
USAGE = 2
NOTHING_WAITING = 3
NOT_FOUND = 4
NO_CREDENTIALS = 5
DENIED = 6
DID_NOT_SUCCEED = 7
INTERRUPTED = 130

_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"}
_BAD_CREDENTIALS = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
}
# The services the CLI calls; their botocore names are their IAM prefixes.
SERVICES = ("codepipeline", "cloudformation", "s3", "sqs", "sts")


class OpsError(Exception):
    """A problem to print as one line, with the CLI's exit code."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    """The region to call and, when cdk.json was read, the deployment it describes."""

    region: str
    config: DeploymentConfig | None


def read_config(path: Path = ROOT / "cdk.json") -> DeploymentConfig | None:
    """The deployment in cdk.json, or None when there is no cdk.json (run from elsewhere)."""
    if not path.is_file():
        return None
    try:
        return load_config(json.loads(path.read_text()).get("context", {}))
    except ConfigError as err:
        raise OpsError(f"config error in {path}: {'; '.join(err.problems)}") from None


def toolchain_target(
    region: str | None, config: DeploymentConfig | None, default_region: str | None
) -> Target:
    """--region, else the toolchain region of cdk.json, else the AWS configuration's."""
    chosen = region or (config.toolchain.region if config else None) or default_region
    if not chosen:
        raise OpsError(
            "no region: pass --region, run from the repository (cdk.json's "
            "deployment.toolchain.region), or set AWS_REGION"
        )
    return Target(chosen, config)


def check_account(sts: Any, expected: str | None, what: str) -> str:
    """The credentials' account; an error naming both accounts when it is not `expected`."""
    account = str(sts.get_caller_identity()["Account"])
    if expected and account != expected:
        raise OpsError(
            f"wrong account: these credentials are for {account}, {what} is in {expected} "
            "(cdk.json); sign in to that account",
            NO_CREDENTIALS,
        )
    return account


def pipeline_name(cloudformation: Any, given: str | None, region: str) -> str:
    """The name given, or the `PipelineName` output of the toolchain's Pipeline stack."""
    if given:
        return given
    try:
        stacks = cloudformation.describe_stacks(StackName=PIPELINE_STACK)["Stacks"]
    except ClientError as err:
        if "does not exist" in err.response.get("Error", {}).get("Message", ""):
            raise OpsError(
                f"pipeline not found: no stack {PIPELINE_STACK} in {region} (deploy it first, "
                "or pass --pipeline and --region)",
                NOT_FOUND,
            ) from None
        raise
    for output in stacks[0].get("Outputs", []):
        if output["OutputKey"] == "PipelineName":
            return str(output["OutputValue"])
    raise OpsError(
        f"pipeline not found: stack {PIPELINE_STACK} has no PipelineName output; pass --pipeline",
        NOT_FOUND,
    )


def _service_of(operation: str) -> str | None:
    session = botocore.session.get_session()
    for service in SERVICES:
        if operation in session.get_service_model(service).operation_names:
            return service
    return None


def denied_action(err: ClientError) -> str:
    """The IAM action a refusal names (`not authorized to perform: sqs:X`), else the one the
    refused operation needs."""
    message = str(err.response.get("Error", {}).get("Message", ""))
    named = re.search(r"perform:? ([a-z0-9-]+:[A-Za-z0-9]+)", message)
    if named:
        return named.group(1)
    service = _service_of(err.operation_name)
    return f"{service}:{err.operation_name}" if service else err.operation_name


def explain(err: ClientError, hint: str) -> OpsError:
    """A ClientError as one line and an exit code: credentials, permission, not found, other."""
    code = str(err.response.get("Error", {}).get("Code", ""))
    message = str(err.response.get("Error", {}).get("Message", "")) or code
    if code in _DENIED:
        return OpsError(f"permission denied: {denied_action(err)} (use {hint})", DENIED)
    if code in _BAD_CREDENTIALS:
        return OpsError(f"credentials refused ({code}): sign in again", NO_CREDENTIALS)
    if code in ("PipelineNotFoundException", "QueueDoesNotExist", "NoSuchBucket") or (
        "does not exist" in message
    ):
        return OpsError(f"not found: {message}", NOT_FOUND)
    return OpsError(f"{err.operation_name} failed: {code}: {message}")
