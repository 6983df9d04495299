"""`ops redrive`: a Stage's dead-letter queues found from its stack outputs and the source
queues' redrive policies, counted, confirmed, and moved back with SQS message move tasks
(botocore Stubber against the real API shapes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pipeline.ops.__main__ import main
from tests.support.ops import Fake

PROD = "444444444444"  # cdk.json's prod account, eu-west-1
SQS = f"https://sqs.eu-west-1.amazonaws.com/{PROD}"
QUEUES = {  # output -> (source queue, its dead-letter queue)
    "CustomerCareQueueUrl": ("Prod-Messaging-CareQueue", "Prod-Messaging-CareDlq"),
    "TwilioQueueUrl": ("Prod-Messaging-TwilioQueue", "Prod-Messaging-TwilioDlq"),
}


@pytest.fixture
def fake() -> Iterator[Fake]:
    stubs = Fake("sts", "cloudformation", "sqs")
    yield stubs
    stubs.done()


def arn(name: str) -> str:
    return f"arn:aws:sqs:eu-west-1:{PROD}:{name}"


def stage(
    fake: Fake, counts: dict[str, int], running: str | None = None, only: str | None = None
) -> None:
    fake.caller(PROD)
    outputs = [
        {"OutputKey": key, "OutputValue": f"{SQS}/{source}"} for key, (source, _) in QUEUES.items()
    ]
    outputs += [
        {"OutputKey": "TwilioDeadLetterQueueUrl", "OutputValue": f"{SQS}/Prod-Messaging-TwilioDlq"},
        {"OutputKey": "ApiUrl", "OutputValue": "https://api.example.com/"},
    ]
    fake.stub("cloudformation").add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "Prod-Messaging",
                    "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
                    "StackStatus": "UPDATE_COMPLETE",
                    "Outputs": outputs,
                }
            ]
        },
        {"StackName": "Prod-Messaging"},
    )
    sqs = fake.stub("sqs")
    for key, (source, dlq) in sorted(QUEUES.items()):
        if only and key != only:
            continue
        policy = json.dumps({"deadLetterTargetArn": arn(dlq), "maxReceiveCount": 5})
        sqs.add_response(
            "get_queue_attributes",
            {"Attributes": {"RedrivePolicy": policy}},
            {"QueueUrl": f"{SQS}/{source}", "AttributeNames": ["RedrivePolicy"]},
        )
        sqs.add_response(
            "get_queue_url",
            {"QueueUrl": f"{SQS}/{dlq}"},
            {"QueueName": dlq, "QueueOwnerAWSAccountId": PROD},
        )
        sqs.add_response(
            "get_queue_attributes",
            {"Attributes": {"ApproximateNumberOfMessages": str(counts.get(key, 0))}},
            {"QueueUrl": f"{SQS}/{dlq}", "AttributeNames": ["ApproximateNumberOfMessages"]},
        )
        results = [task(dlq, "RUNNING", 0, 3)] if running == key else []
        sqs.add_response(
            "list_message_move_tasks",
            {"Results": results},
            {"SourceArn": arn(dlq), "MaxResults": 1},
        )


def task(dlq: str, status: str, moved: int, total: int) -> dict[str, object]:
    return {
        "TaskHandle": f"handle-{dlq}",
        "Status": status,
        "SourceArn": arn(dlq),
        "ApproximateNumberOfMessagesMoved": moved,
        "ApproximateNumberOfMessagesToMove": total,
        "StartedTimestamp": 1764240000000,
    }


def started(fake: Fake, dlq: str) -> None:
    fake.stub("sqs").add_response(
        "start_message_move_task", {"TaskHandle": f"handle-{dlq}"}, {"SourceArn": arn(dlq)}
    )


def progress(fake: Fake, dlq: str, status: str, moved: int, total: int) -> None:
    fake.stub("sqs").add_response(
        "list_message_move_tasks",
        {"Results": [task(dlq, status, moved, total)]},
        {"SourceArn": arn(dlq), "MaxResults": 1},
    )


def test_redrive_counts_asks_and_moves_each_dead_letter_queue_back(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(fake, {"TwilioQueueUrl": 12})
    started(fake, "Prod-Messaging-TwilioDlq")
    progress(fake, "Prod-Messaging-TwilioDlq", "RUNNING", 5, 12)
    progress(fake, "Prod-Messaging-TwilioDlq", "COMPLETED", 12, 12)
    questions: list[str] = []

    def ask(question: str) -> str:
        questions.append(question)
        return "y"

    slept: list[float] = []
    argv = ["redrive", "--environment", "prod"]
    assert main(argv, clients=fake, ask=ask, sleep=slept.append) == 0
    out = capsys.readouterr().out
    # The count comes first, for every DLQ, before anything moves.
    assert "CustomerCare" in out
    assert out.index("Prod-Messaging-TwilioDlq") < out.index("started moving")
    assert questions == [
        "move 12 messages from 1 dead-letter queues of prod back to their source queues? [y/N] "
    ]
    assert "Prod-Messaging-TwilioDlq: COMPLETED, 12 of 12 moved" in out
    assert slept == [5.0]
    assert {region for _, region in fake.regions} == {"eu-west-1"}


def test_no_at_the_prompt_moves_nothing(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    stage(fake, {"TwilioQueueUrl": 3, "CustomerCareQueueUrl": 2})
    argv = ["redrive", "--environment", "prod"]
    assert main(argv, clients=fake, ask=lambda _: "") == 1
    assert "not confirmed; nothing changed" in capsys.readouterr().out


def test_yes_skips_the_prompt_and_no_wait_returns_once_started(fake: Fake) -> None:
    stage(fake, {"TwilioQueueUrl": 3, "CustomerCareQueueUrl": 2})
    started(fake, "Prod-Messaging-CareDlq")
    started(fake, "Prod-Messaging-TwilioDlq")

    def refuse(_: str) -> str:
        raise AssertionError("asked despite --yes")

    argv = ["redrive", "--environment", "prod", "--yes", "--no-wait"]
    assert main(argv, clients=fake, ask=refuse) == 0


def test_a_queue_already_moving_is_left_alone(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    # SQS runs one active move task per queue.
    stage(fake, {"TwilioQueueUrl": 3}, running="TwilioQueueUrl")
    assert main(["redrive", "--environment", "prod", "--yes"], clients=fake) == 0
    out = capsys.readouterr().out
    assert "(a move task is already running)" in out
    assert "nothing to redrive in prod" in out


def test_empty_dead_letter_queues_need_no_redrive(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(fake, {})
    assert main(["redrive", "--environment", "prod"], clients=fake) == 0
    assert capsys.readouterr().out.endswith("nothing to redrive in prod\n")


def test_a_failed_move_task_exits_7_with_its_reason(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(fake, {"TwilioQueueUrl": 4}, running=None)
    started(fake, "Prod-Messaging-TwilioDlq")
    failed = task("Prod-Messaging-TwilioDlq", "FAILED", 1, 4)
    failed["FailureReason"] = "AccessDenied on kms:GenerateDataKey"
    fake.stub("sqs").add_response(
        "list_message_move_tasks",
        {"Results": [failed]},
        {"SourceArn": arn("Prod-Messaging-TwilioDlq"), "MaxResults": 1},
    )
    assert main(["redrive", "--environment", "prod", "--yes"], clients=fake) == 7
    assert "move task FAILED: AccessDenied on kms:GenerateDataKey" in capsys.readouterr().out


def test_toolchain_credentials_are_the_wrong_account(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.caller("111111111111")
    assert main(["redrive", "--environment", "prod"], clients=fake) == 5
    assert capsys.readouterr().err == (
        "ops: wrong account: these credentials are for 111111111111, environment prod is in "
        f"{PROD} (cdk.json); sign in to that account\n"
    )


def test_permission_denied_on_the_move_names_the_action(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(fake, {"TwilioQueueUrl": 4})
    fake.stub("sqs").add_client_error(
        "start_message_move_task", service_error_code="AccessDenied", http_status_code=403
    )
    assert main(["redrive", "--environment", "prod", "--yes"], clients=fake) == 6
    err = capsys.readouterr().err
    assert err.startswith("ops: permission denied: sqs:StartMessageMoveTask (use credentials")


def test_an_unknown_environment_lists_the_configured_ones(
    fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["redrive", "--environment", "qa"], clients=fake) == 2
    assert capsys.readouterr().err == "ops: no environment 'qa' (cdk.json: dev, staging, prod)\n"


def test_a_stage_not_deployed_is_not_found(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    fake.caller(PROD)
    fake.stub("cloudformation").add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message="Stack with id Prod-Messaging does not exist",
        http_status_code=400,
    )
    assert main(["redrive", "--environment", "prod"], clients=fake) == 4
    assert capsys.readouterr().err == "ops: not found: no stack Prod-Messaging in eu-west-1\n"


def test_source_picks_one_queue(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    stage(fake, {"TwilioQueueUrl": 2, "CustomerCareQueueUrl": 9}, only="TwilioQueueUrl")
    argv = ["redrive", "--environment", "prod", "--source", "Twilio", "--yes", "--no-wait"]
    started(fake, "Prod-Messaging-TwilioDlq")
    assert main(argv, clients=fake) == 0
    out = capsys.readouterr().out
    assert "CustomerCare" not in out
    assert "started moving 2 messages from Prod-Messaging-TwilioDlq" in out
