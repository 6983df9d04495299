"""What the CLI reads from CodePipeline and S3, as plain data (boto3 clients are passed in)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.names import REVIEW_PREFIX
from pipeline.ops.target import NOT_FOUND, OpsError


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


def review_object(s3: Any, bucket: str, execution_id: str, name: str) -> bytes | None:
    """One file of an execution's published review, or None when it was not published."""
    try:
        body = s3.get_object(Bucket=bucket, Key=f"{REVIEW_PREFIX}/{execution_id}/{name}")["Body"]
    except s3.exceptions.NoSuchKey:
        return None
    return bytes(body.read())


def review_diff(s3: Any, bucket: str, execution_id: str) -> dict[str, Any] | None:
    """The release's structured diff (diff.json); None for a release without a base. Fails
    when the execution has no review at all."""
    diff = review_object(s3, bucket, execution_id, "diff.json")
    if diff is not None:
        loaded: dict[str, Any] = json.loads(diff)
        return loaded
    if review_object(s3, bucket, execution_id, "summary.md") is None:
        raise OpsError(
            f"no security review stored at s3://{bucket}/{REVIEW_PREFIX}/{execution_id}/ "
            "(the build step writes it)",
            NOT_FOUND,
        )
    return None


# An execution in one of these states has ended (CodePipeline's PipelineExecutionStatus).
ENDED = {"Succeeded", "Failed", "Stopped", "Superseded", "Cancelled"}


def execution_status(codepipeline: Any, name: str, execution_id: str) -> str:
    execution = codepipeline.get_pipeline_execution(
        pipelineName=name, pipelineExecutionId=execution_id
    )["pipelineExecution"]
    return str(execution["status"])


def action_states(codepipeline: Any, name: str, execution_id: str) -> dict[str, str]:
    """`stage/action` -> status for the stages the execution is in (or went through last);
    an approval that waits reads `waiting for approval`."""
    found = {}
    for stage in codepipeline.get_pipeline_state(name=name).get("stageStates", []):
        if stage.get("latestExecution", {}).get("pipelineExecutionId") != execution_id:
            continue
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution", {})
            status = latest.get("status")
            if not status:
                continue
            if status == "InProgress" and latest.get("token"):
                status = "waiting for approval"
            found[f"{stage['stageName']}/{action['actionName']}"] = status
    return found


def watch(
    codepipeline: Any,
    name: str,
    execution_id: str,
    *,
    interval: float,
    sleep: Callable[[float], None],
    say: Callable[[str], None],
) -> str:
    """Print each action's changes of status until the execution ends; its final status."""
    seen: dict[str, str] = {}
    while True:
        status = execution_status(codepipeline, name, execution_id)
        for action, now in action_states(codepipeline, name, execution_id).items():
            if seen.get(action) != now:
                say(f"{datetime.now(UTC):%H:%M:%S} {action} {now}")
                seen[action] = now
        if status in ENDED:
            return status
        sleep(interval)
