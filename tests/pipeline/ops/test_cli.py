"""The operator CLI's pipeline commands against the real API shapes (botocore Stubber): found
from cdk.json without flags, one distinct line and exit code per problem."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.response import StreamingBody

from pipeline.ops.__main__ import main
from tests.support.ops import Fake

NAME = "Pipeline-Pipeline9850B417-1ABC"
TOOLCHAIN = "111111111111"  # cdk.json's deployment.toolchain
STAMP = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SUMMARY = b"# Security report\n"
FLAGS = ["--pipeline", NAME, "--region", "eu-west-1"]
DIFF = {
    "base": "commit 0123456789ab (execution exec-0, 2026-11-20T10:00:00Z)",
    "units": [
        {"unit": "Dev", "added_permissions": [], "encryption_changes": []},
        {
            "unit": "Prod",
            "outside_added": [
                {
                    "resource": "MediaBucket/Policy",
                    "who": "999999999999",
                    "principal": "arn:aws:iam::999999999999:root",
                    "actions": "s3:GetObject",
                }
            ],
            "added_permissions": [
                [
                    "Processor/ServiceRole",
                    {
                        "effect": "Allow",
                        "action": "s3:DeleteObject",
                        "resource": "<Media>.Arn/*",
                        "condition": "",
                    },
                ]
            ],
            "encryption_changes": [["Outbox", "<Key>.Arn", "SSE-SQS (AWS-owned key)"]],
            "new_acknowledgements": [
                {"rule": "Checkov::CKV_AWS_117", "path": "Pipeline/Prod/X", "reason": "Because."}
            ],
            "some_future_change": [["x"], ["y"]],
        },
    ],
    "added_units": [],
    "removed_units": [],
}


@pytest.fixture
def fake() -> Iterator[Fake]:
    stubs = Fake("sts", "cloudformation", "codepipeline", "s3")
    yield stubs
    stubs.done()


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # rich's width when stdout is not a terminal


def found_from_stack(fake: Fake) -> None:
    fake.caller(TOOLCHAIN)
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


def named(fake: Fake) -> None:
    fake.caller(TOOLCHAIN)


def state(fake: Fake, *, waiting: bool, prod: str = "InProgress", build: str = "Succeeded") -> None:
    promote: dict[str, Any] = {"actionName": "PromoteProd"}
    if waiting:
        promote["latestExecution"] = {
            "status": "InProgress",
            "token": "token-1",
            "lastStatusChange": STAMP,
        }
    elif prod != "InProgress":
        promote["latestExecution"] = {"status": prod}
    fake.stub("codepipeline").add_response(
        "get_pipeline_state",
        {
            "pipelineName": NAME,
            "stageStates": [
                {
                    "stageName": "Build",
                    "latestExecution": {"pipelineExecutionId": "exec-1", "status": build},
                    "actionStates": [{"actionName": "Build", "latestExecution": {"status": build}}],
                },
                {
                    "stageName": "Prod",
                    "latestExecution": {
                        "pipelineExecutionId": "exec-1",
                        "status": "InProgress" if waiting else prod,
                    },
                    "actionStates": [promote],
                },
            ],
        },
        {"name": NAME},
    )


def bucket(fake: Fake) -> None:
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


def stored(fake: Fake, name: str, body: bytes | None) -> None:
    key = {"Bucket": "artifact-bucket", "Key": f"reviews/exec-1/{name}"}
    if body is None:
        fake.stub("s3").add_client_error(
            "get_object", service_error_code="NoSuchKey", http_status_code=404, expected_params=key
        )
    else:
        fake.stub("s3").add_response(
            "get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))}, key
        )


def review(fake: Fake, diff: dict[str, Any] | None = DIFF) -> None:
    bucket(fake)
    stored(fake, "diff.json", json.dumps(diff).encode() if diff else None)
    if diff is None:
        stored(fake, "summary.md", SUMMARY)


def execution(fake: Fake, status: str) -> None:
    fake.stub("codepipeline").add_response(
        "get_pipeline_execution",
        {
            "pipelineExecution": {
                "pipelineName": NAME,
                "pipelineExecutionId": "exec-1",
                "status": status,
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


def latest(fake: Fake) -> None:
    fake.stub("codepipeline").add_response(
        "list_pipeline_executions",
        {"pipelineExecutionSummaries": [{"pipelineExecutionId": "exec-1", "status": "InProgress"}]},
        {"pipelineName": NAME, "maxResults": 1},
    )


# -- found without flags -------------------------------------------------------------------


def test_status_needs_no_flags_region_and_name_come_from_cdk_json_and_the_stack(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    found_from_stack(fake)
    latest(fake)
    execution(fake, "InProgress")
    state(fake, waiting=True)
    state(fake, waiting=True)
    assert main(["status"], clients=fake) == 0
    out = capsys.readouterr().out
    assert f"pipeline {NAME} (eu-west-1)" in out
    assert "latest execution exec-1: InProgress, commit 0123456789ab Add Slack" in out
    assert "waiting for approval: Prod/PromoteProd since 2026-11-22 12:00 UTC" in out
    assert {region for _, region in fake.regions} == {"eu-west-1"}


def test_without_cdk_json_or_region_it_says_the_region_is_missing(
    fake: Fake, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.ops.target.read_config", lambda: None)
    assert main(["status"], clients=fake) == 2
    err = capsys.readouterr().err
    assert err.startswith("ops: no region: pass --region")
    assert fake.regions == []


def test_without_cdk_json_the_region_flag_is_enough(
    fake: Fake, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.ops.target.read_config", lambda: None)
    fake.caller("555555555555")  # no expected account without cdk.json
    state(fake, waiting=True)
    bucket(fake)
    stored(fake, "diff.json", json.dumps(DIFF).encode())
    assert main(["--pipeline", NAME, "--region", "us-east-2", "review"], clients=fake) == 0
    assert {region for _, region in fake.regions} == {"us-east-2"}
    assert "?region=us-east-2&prefix=reviews/exec-1/index.html" in capsys.readouterr().out


# -- what each problem says ----------------------------------------------------------------


def test_without_credentials_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["status"]) == 5
    assert capsys.readouterr().err.startswith("ops: no AWS credentials: sign in first")


def test_credentials_of_another_account_name_both_accounts(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.caller("444444444444")
    assert main(["status"], clients=fake) == 5
    assert capsys.readouterr().err == (
        "ops: wrong account: these credentials are for 444444444444, the pipeline is in "
        "111111111111 (cdk.json); sign in to that account\n"
    )


def test_expired_credentials_are_not_a_permission_problem(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.stub("sts").add_client_error(
        "get_caller_identity", service_error_code="ExpiredToken", http_status_code=403
    )
    assert main(["status"], clients=fake) == 5
    assert capsys.readouterr().err == "ops: credentials refused (ExpiredToken): sign in again\n"


def test_a_missing_pipeline_stack_is_pipeline_not_found(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.caller(TOOLCHAIN)
    # CloudFormation's answer for an unknown stack name (DescribeStacks).
    fake.stub("cloudformation").add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message="Stack with id Pipeline does not exist",
        http_status_code=400,
    )
    assert main(["status"], clients=fake) == 4
    assert capsys.readouterr().err.startswith(
        "ops: pipeline not found: no stack Pipeline in eu-west-1"
    )


def test_an_unknown_pipeline_name_is_not_found(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    named(fake)
    fake.stub("codepipeline").add_client_error(
        "list_pipeline_executions",
        service_error_code="PipelineNotFoundException",
        service_message=f"Account '111111111111' does not have a pipeline with name '{NAME}'",
        http_status_code=400,
    )
    assert main([*FLAGS, "status"], clients=fake) == 4
    assert capsys.readouterr().err.startswith("ops: not found: Account '111111111111'")


def test_permission_denied_names_the_refused_action(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    named(fake)
    state(fake, waiting=True)
    review(fake)
    # IAM's refusal names the action (https://docs.aws.amazon.com/IAM/latest/UserGuide/
    # troubleshoot_access-denied.html).
    fake.stub("codepipeline").add_client_error(
        "put_approval_result",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:sts::111111111111:assumed-role/Dev/me is not authorized "
        "to perform: codepipeline:PutApprovalResult on resource: arn:aws:codepipeline:...",
        http_status_code=400,
    )
    argv = [*FLAGS, "approve", "--comment", "ok", "--yes"]
    assert main(argv, clients=fake) == 6
    err = capsys.readouterr().err
    assert err.startswith("ops: permission denied: codepipeline:PutApprovalResult (use ")
    assert "ApproverRoleArn" in err


def test_permission_denied_without_a_message_names_the_operations_action(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.caller(TOOLCHAIN)
    fake.stub("cloudformation").add_client_error(
        "describe_stacks", service_error_code="AccessDenied", http_status_code=403
    )
    assert main(["status"], clients=fake) == 6
    assert "permission denied: cloudformation:DescribeStacks" in capsys.readouterr().err


# -- status --watch ------------------------------------------------------------------------


def test_watch_follows_the_execution_until_it_ends(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    named(fake)
    latest(fake)
    execution(fake, "InProgress")  # the latest execution: the one to watch
    execution(fake, "InProgress")
    state(fake, waiting=False, prod="InProgress", build="InProgress")
    execution(fake, "InProgress")
    state(fake, waiting=True)
    execution(fake, "Succeeded")
    state(fake, waiting=False, prod="Succeeded")
    slept: list[float] = []
    argv = [*FLAGS, "status", "--watch", "--interval", "2"]
    assert main(argv, clients=fake, sleep=slept.append) == 0
    out = capsys.readouterr().out.splitlines()
    assert slept == [2.0, 2.0]
    changes = [" ".join(line.split()[1:]) for line in out[1:-1]]
    assert changes == [
        "Build/Build InProgress",
        "Build/Build Succeeded",
        "Prod/PromoteProd waiting for approval",
        "Prod/PromoteProd Succeeded",
    ]
    assert out[-1] == "execution exec-1: Succeeded"


def test_watch_exits_7_when_the_execution_fails(fake: Fake) -> None:
    named(fake)
    execution(fake, "Failed")
    state(fake, waiting=False, prod="Failed")
    argv = [*FLAGS, "status", "--watch", "--execution", "exec-1"]
    assert main(argv, clients=fake, sleep=lambda _: None) == 7


def test_ctrl_c_stops_watching_cleanly(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    named(fake)
    execution(fake, "InProgress")
    state(fake, waiting=True)

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    argv = [*FLAGS, "status", "--watch", "--execution", "exec-1"]
    assert main(argv, clients=fake, sleep=interrupt) == 130
    captured = capsys.readouterr()
    assert captured.out.endswith("stopped watching; execution exec-1 goes on\n")
    assert captured.err == ""


# -- review, approve, reject ---------------------------------------------------------------


def test_review_summarizes_the_diff_verdict_first(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    named(fake)
    state(fake, waiting=True)
    review(fake)
    assert main([*FLAGS, "review"], clients=fake) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "release exec-1 waits at Prod/PromoteProd"
    assert lines[1] == f"Compared with {DIFF['base']}"
    assert lines[2] == "This release BROADENS permissions: read the changes below."
    for title in (
        "Outside access GAINED",
        "IAM: added permissions",
        "Encryption",
        "Acknowledgements: new",
    ):
        assert title in out
    for cell in ("999999999999", "s3:DeleteObject", "SSE-SQS (AWS-owned key)", "CKV_AWS_117"):
        assert cell in out
    assert "Also changed (see the full report): some future change: 2" in out
    assert "No security-relevant change: Dev" in out
    assert lines[-1] == (
        "Full report: https://eu-west-1.console.aws.amazon.com/s3/object/artifact-bucket"
        "?region=eu-west-1&prefix=reviews/exec-1/index.html"
    )
    assert len(lines) < 45  # a screen, not the 200-line Markdown
    assert "|---|" not in out


def test_a_long_section_shows_its_first_rows_and_the_count(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    named(fake)
    grants = [
        ["Role", {"effect": "Allow", "action": f"sqs:Action{i}", "resource": "*"}]
        for i in range(30)
    ]
    diff = {"units": [{"unit": "Prod", "added_permissions": grants}]}
    bucket(fake)
    stored(fake, "diff.json", json.dumps(diff).encode())
    assert main([*FLAGS, "review", "--execution", "exec-1"], clients=fake) == 0
    out = capsys.readouterr().out
    assert "IAM: added permissions (first 8 of 30)" in out
    assert "sqs:Action7" in out
    assert "sqs:Action8" not in out


def test_a_structured_base_is_named_by_commit_and_execution(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    named(fake)
    bucket(fake)
    diff = {"base": {"commit": "0123456789abcdef", "execution": "exec-0"}, "units": []}
    stored(fake, "diff.json", json.dumps(diff).encode())
    assert main([*FLAGS, "review", "--execution", "exec-1"], clients=fake) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:3] == [
        "Compared with commit 0123456789ab (execution exec-0)",
        "This release adds no permission, grant or trust.",
    ]


def test_a_first_release_has_no_diff_and_says_so(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    named(fake)
    state(fake, waiting=True)
    review(fake, diff=None)
    assert main([*FLAGS, "review"], clients=fake) == 0
    assert "First release: no base release to compare with." in capsys.readouterr().out


def test_a_missing_review_report_is_reported(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    named(fake)
    state(fake, waiting=True)
    bucket(fake)
    stored(fake, "diff.json", None)
    stored(fake, "summary.md", None)
    assert main([*FLAGS, "review"], clients=fake) == 4
    assert capsys.readouterr().err == (
        "ops: no security review stored at s3://artifact-bucket/reviews/exec-1/ "
        "(the build step writes it)\n"
    )


def test_approve_answers_the_pending_approval_with_its_token(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    found_from_stack(fake)
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
    assert main(["approve", "--comment", "Reviewed the diff", "--yes"], clients=fake) == 0
    assert "approved: Prod/PromoteProd of exec-1" in capsys.readouterr().out


def test_reject_asks_first_and_changes_nothing_without_a_yes(fake: Fake) -> None:
    named(fake)
    state(fake, waiting=True)
    review(fake)
    questions: list[str] = []

    def ask(question: str) -> str:
        questions.append(question)
        return "n"

    argv = [*FLAGS, "reject", "--comment", "Too broad"]
    assert main(argv, clients=fake, ask=ask) == 1
    assert questions == ["reject release exec-1 at PromoteProd? [y/N] "]


def test_nothing_pending_is_refused(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    named(fake)
    state(fake, waiting=False)
    argv = [*FLAGS, "approve", "--comment", "ok", "--yes"]
    assert main(argv, clients=fake) == 3
    assert capsys.readouterr().err == f"ops: nothing is waiting for approval in {NAME}\n"


def test_a_blank_comment_is_refused(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    named(fake)
    assert main([*FLAGS, "reject", "--comment", "  "], clients=fake) == 2
    assert "--comment must say why" in capsys.readouterr().err


def test_help_documents_every_command_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("status", "review", "approve", "reject", "redrive"):
        assert command in out
    for code in ("3  nothing is waiting", "5  no usable credentials", "6  permission denied"):
        assert code in out
    with pytest.raises(SystemExit):
        main(["status", "--help"])
    assert "--watch" in capsys.readouterr().out
