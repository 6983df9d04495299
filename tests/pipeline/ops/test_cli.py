"""The operator CLI against the real API shapes (botocore's Stubber validates every request and
response against the service models)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from pipeline.ops.__main__ import main

NAME = "Pipeline-Pipeline9850B417-1ABC"
STAMP = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SUMMARY = b"# Security report\n\nThis release adds no IAM permission and no trust relationship.\n"


class Fake:
    """Real boto3 clients with Stubbers attached; `clients(name)` is what the CLI calls."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}
        for service in ("cloudformation", "codepipeline", "s3"):
            client = boto3.client(
                service,
                region_name="eu-west-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",  # pragma: allowlist secret
            )
            self.clients[service] = client
            self.stubs[service] = Stubber(client)
            self.stubs[service].activate()

    def __call__(self, service: str) -> Any:
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        return self.stubs[service]

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def fake() -> Iterator[Fake]:
    stubs = Fake()
    yield stubs
    stubs.done()


def name_from_stack(fake: Fake) -> None:
    fake.stub("cloudformation").add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "Pipeline",
                    "CreationTime": STAMP,
                    "StackStatus": "UPDATE_COMPLETE",
                    "Outputs": [{"OutputKey": "PipelineName", "OutputValue": NAME}],
                }
            ]
        },
        {"StackName": "Pipeline"},
    )


def state(fake: Fake, *, waiting: bool) -> None:
    promote: dict[str, Any] = {"actionName": "PromoteProd"}
    if waiting:
        promote["latestExecution"] = {
            "status": "InProgress",
            "token": "token-1",
            "lastStatusChange": STAMP,
        }
    fake.stub("codepipeline").add_response(
        "get_pipeline_state",
        {
            "pipelineName": NAME,
            "stageStates": [
                {
                    "stageName": "Build",
                    "latestExecution": {"pipelineExecutionId": "exec-1", "status": "Succeeded"},
                    "actionStates": [
                        {"actionName": "Build", "latestExecution": {"status": "Succeeded"}}
                    ],
                },
                {
                    "stageName": "Prod",
                    "latestExecution": {
                        "pipelineExecutionId": "exec-1",
                        "status": "InProgress" if waiting else "Succeeded",
                    },
                    "actionStates": [promote],
                },
            ],
        },
        {"name": NAME},
    )


def review(fake: Fake) -> None:
    fake.stub("codepipeline").add_response(
        "get_pipeline",
        {
            "pipeline": {
                "name": NAME,
                "roleArn": "arn:aws:iam::111111111111:role/pipeline",
                "artifactStore": {"type": "S3", "location": "artifact-bucket"},
                "stages": [
                    {
                        "name": "Source",
                        "actions": [
                            {
                                "name": "Source",
                                "actionTypeId": {
                                    "category": "Source",
                                    "owner": "AWS",
                                    "provider": "CodeStarSourceConnection",
                                    "version": "1",
                                },
                            }
                        ],
                    }
                ],
            }
        },
        {"name": NAME},
    )
    fake.stub("s3").add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(SUMMARY), len(SUMMARY))},
        {"Bucket": "artifact-bucket", "Key": "reviews/exec-1/summary.md"},
    )


def test_status_shows_stages_commit_and_pending_approvals(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    name_from_stack(fake)
    pipeline = fake.stub("codepipeline")
    pipeline.add_response(
        "list_pipeline_executions",
        {"pipelineExecutionSummaries": [{"pipelineExecutionId": "exec-1", "status": "InProgress"}]},
        {"pipelineName": NAME, "maxResults": 1},
    )
    pipeline.add_response(
        "get_pipeline_execution",
        {
            "pipelineExecution": {
                "pipelineName": NAME,
                "pipelineExecutionId": "exec-1",
                "status": "InProgress",
                "artifactRevisions": [
                    {
                        "name": "src",
                        "revisionId": "0123456789abcdef",
                        "revisionSummary": "Add Slack",
                    }
                ],
            }
        },
        {"pipelineName": NAME, "pipelineExecutionId": "exec-1"},
    )
    state(fake, waiting=True)
    state(fake, waiting=True)
    assert main(["status"], clients=fake) == 0
    out = capsys.readouterr().out
    assert "latest execution exec-1: InProgress, commit 0123456789ab Add Slack" in out
    assert "Prod" in out
    assert "waiting for approval: Prod/PromoteProd since 2026-11-22 12:00 UTC" in out


def test_review_prints_the_stored_summary(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    state(fake, waiting=True)
    review(fake)
    assert main(["--pipeline", NAME, "--region", "eu-west-1", "review"], clients=fake) == 0
    out = capsys.readouterr().out
    assert "release exec-1 waits at Prod/PromoteProd" in out
    assert "adds no IAM permission" in out
    assert "reviews/exec-1/index.html" in out


def test_approve_answers_the_pending_approval_with_its_token(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    state(fake, waiting=True)
    review(fake)
    fake.stub("codepipeline").add_response(
        "put_approval_result",
        {"approvedAt": STAMP},
        {
            "pipelineName": NAME,
            "stageName": "Prod",
            "actionName": "PromoteProd",
            "result": {"summary": "Reviewed the diff", "status": "Approved"},
            "token": "token-1",
        },
    )
    argv = [
        "--pipeline",
        NAME,
        "--region",
        "eu-west-1",
        "approve",
        "--comment",
        "Reviewed the diff",
    ]
    assert main([*argv, "--yes"], clients=fake) == 0
    assert "approved: Prod/PromoteProd of exec-1" in capsys.readouterr().out


def test_reject_asks_first_and_changes_nothing_without_a_yes(fake: Fake) -> None:
    state(fake, waiting=True)
    review(fake)
    questions: list[str] = []

    def ask(question: str) -> str:
        questions.append(question)
        return "n"

    argv = ["--pipeline", NAME, "--region", "eu-west-1", "reject", "--comment", "Too broad"]
    assert main(argv, clients=fake, ask=ask) == 1
    assert questions == ["reject release exec-1 at PromoteProd? [y/N] "]


def test_nothing_pending_is_refused(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    state(fake, waiting=False)
    argv = ["--pipeline", NAME, "--region", "eu-west-1", "approve", "--comment", "ok", "--yes"]
    assert main(argv, clients=fake) == 3
    assert capsys.readouterr().err == f"ops: nothing is waiting for approval in {NAME}\n"


def test_a_blank_comment_is_refused(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--pipeline", NAME, "--region", "eu-west-1", "reject", "--comment", "  "]
    assert main(argv, clients=fake) == 2
    assert "--comment must say why" in capsys.readouterr().err


def test_access_denied_names_the_approver_role(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    state(fake, waiting=True)
    review(fake)
    fake.stub("codepipeline").add_client_error(
        "put_approval_result", service_error_code="AccessDeniedException", http_status_code=400
    )
    argv = ["--pipeline", NAME, "--region", "eu-west-1", "approve", "--comment", "ok", "--yes"]
    assert main(argv, clients=fake) == 2
    err = capsys.readouterr().err
    assert "not allowed to call PutApprovalResult" in err
    assert "ApproverRoleArn" in err


def test_a_missing_review_report_is_reported(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    state(fake, waiting=True)
    fake.stub("codepipeline").add_response(
        "get_pipeline",
        {
            "pipeline": {
                "name": NAME,
                "roleArn": "arn:aws:iam::111111111111:role/pipeline",
                "artifactStore": {"type": "S3", "location": "artifact-bucket"},
                "stages": [],
            }
        },
        {"name": NAME},
    )
    fake.stub("s3").add_client_error(
        "get_object", service_error_code="NoSuchKey", http_status_code=404
    )
    assert main(["--pipeline", NAME, "--region", "eu-west-1", "review"], clients=fake) == 4
    assert "no security review stored at s3://artifact-bucket/reviews/exec-1/summary.md" in (
        capsys.readouterr().err
    )


def test_without_credentials_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["--pipeline", NAME, "--region", "eu-west-1", "status"]) == 2
    assert (
        capsys.readouterr().err
        == "ops: no AWS credentials; sign in to the toolchain account first\n"
    )


def test_help_documents_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("status", "review", "approve", "reject"):
        assert command in out
    assert "3  nothing is waiting for approval" in out
    with pytest.raises(SystemExit):
        main(["approve", "--help"])
    assert "--comment" in capsys.readouterr().out
