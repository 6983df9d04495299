"""What the CLI reads from CodePipeline and S3, as plain data (boto3 clients are passed in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.names import REVIEW_PREFIX

PIPELINE_STACK = "Pipeline"


class OpsError(Exception):
    """A problem to print as one line, with the CLI's exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Approval:
    """A manual approval waiting for an answer."""

    stage: str
    action: str
    token: str
    execution_id: str
    since: datetime | None


@dataclass(frozen=True)
class StageStatus:
    name: str
    status: str
    execution_id: str
    actions: list[tuple[str, str]]


def pipeline_name(cloudformation: Any, given: str | None) -> str:
    """The name given, or the `PipelineName` output of the toolchain's Pipeline stack."""
    if given:
        return given
    stacks = cloudformation.describe_stacks(StackName=PIPELINE_STACK)["Stacks"]
    for output in stacks[0].get("Outputs", []):
        if output["OutputKey"] == "PipelineName":
            return str(output["OutputValue"])
    raise OpsError(f"stack {PIPELINE_STACK} has no PipelineName output; pass --pipeline")


def stages(codepipeline: Any, name: str) -> list[StageStatus]:
    state = codepipeline.get_pipeline_state(name=name)
    found = []
    for stage in state.get("stageStates", []):
        latest = stage.get("latestExecution", {})
        actions = [
            (a["actionName"], a.get("latestExecution", {}).get("status", "-"))
            for a in stage.get("actionStates", [])
        ]
        found.append(
            StageStatus(
                stage["stageName"],
                latest.get("status", "-"),
                latest.get("pipelineExecutionId", ""),
                actions,
            )
        )
    return found


def pending_approvals(codepipeline: Any, name: str) -> list[Approval]:
    state = codepipeline.get_pipeline_state(name=name)
    pending = []
    for stage in state.get("stageStates", []):
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution", {})
            if latest.get("status") == "InProgress" and latest.get("token"):
                pending.append(
                    Approval(
                        stage=stage["stageName"],
                        action=action["actionName"],
                        token=latest["token"],
                        execution_id=stage.get("latestExecution", {}).get(
                            "pipelineExecutionId", ""
                        ),
                        since=latest.get("lastStatusChange"),
                    )
                )
    return pending


def latest_execution(codepipeline: Any, name: str) -> dict[str, Any] | None:
    summaries = codepipeline.list_pipeline_executions(pipelineName=name, maxResults=1)
    if not summaries.get("pipelineExecutionSummaries"):
        return None
    execution_id = summaries["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    execution: dict[str, Any] = codepipeline.get_pipeline_execution(
        pipelineName=name, pipelineExecutionId=execution_id
    )["pipelineExecution"]
    return execution


def artifact_bucket(codepipeline: Any, name: str, region: str) -> str:
    pipeline = codepipeline.get_pipeline(name=name)["pipeline"]
    if "artifactStore" in pipeline:
        return str(pipeline["artifactStore"]["location"])
    return str(pipeline["artifactStores"][region]["location"])


def review_summary(s3: Any, bucket: str, execution_id: str) -> str:
    key = f"{REVIEW_PREFIX}/{execution_id}/summary.md"
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        raise OpsError(
            f"no security review stored at s3://{bucket}/{key} (the build step writes it)", 4
        ) from None
    return str(body.decode())
