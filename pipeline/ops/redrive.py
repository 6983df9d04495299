"""Dead-letter queues of a Stage and SQS message move tasks that send their messages back.

The Stage's source queues are its `*QueueUrl` outputs (stages/outputs.py: each provider's queue,
the customer-care queue); each one's RedrivePolicy names its dead-letter queue. A move task
without a destination returns every message to the queue it came from
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stages import outputs

# A task in one of these states has ended (ListMessageMoveTasks' Status).
ENDED = {"COMPLETED", "CANCELLED", "FAILED"}


@dataclass(frozen=True)
class DeadLetterQueue:
    """A dead-letter queue, the source queue it serves, its messages and any running move."""

    source: str
    name: str
    url: str
    arn: str
    messages: int
    moving: bool


def stack_name(stage_id: str) -> str:
    """The Messaging stack of a Stage (`Prod` -> `Prod-Messaging`), as CDK Pipelines names it."""
    return f"{stage_id}-Messaging"


def source_queues(cloudformation: Any, stack: str) -> dict[str, str]:
    """Output name -> URL of every queue the Stack outputs that is not itself a DLQ."""
    (found,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {
        o["OutputKey"]: o["OutputValue"]
        for o in found.get("Outputs", [])
        if o["OutputKey"].endswith(outputs.QUEUE_URL)
        and not o["OutputKey"].endswith(outputs.DEAD_LETTER_QUEUE_URL)
    }


def dead_letter_queues(sqs: Any, sources: dict[str, str]) -> list[DeadLetterQueue]:
    found = []
    for output, url in sorted(sources.items()):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        if not policy:
            continue
        arn = str(json.loads(policy)["deadLetterTargetArn"])
        _, _, _, _, account, name = arn.split(":", 5)
        dlq_url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        count = sqs.get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        tasks = sqs.list_message_move_tasks(SourceArn=arn, MaxResults=1).get("Results", [])
        moving = bool(tasks) and tasks[0].get("Status") == "RUNNING"
        source = output.removesuffix(outputs.QUEUE_URL) or output
        found.append(DeadLetterQueue(source, name, dlq_url, arn, int(count), moving))
    return found


def start(sqs: Any, queue: DeadLetterQueue, rate: int | None) -> str:
    """Start moving the queue's messages back to their sources; the task's handle."""
    request: dict[str, Any] = {"SourceArn": queue.arn}
    if rate:
        request["MaxNumberOfMessagesPerSecond"] = rate
    return str(sqs.start_message_move_task(**request)["TaskHandle"])


def follow(
    sqs: Any,
    queues: list[DeadLetterQueue],
    *,
    interval: float,
    sleep: Callable[[float], None],
    say: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Poll each queue's latest move task until all have ended; the final task of each."""
    final: dict[str, dict[str, Any]] = {}
    while True:
        for queue in queues:
            if queue.arn in final:
                continue
            (task,) = sqs.list_message_move_tasks(SourceArn=queue.arn, MaxResults=1)["Results"]
            moved = task.get("ApproximateNumberOfMessagesMoved", 0)
            total = task.get("ApproximateNumberOfMessagesToMove", queue.messages)
            say(f"{queue.name}: {task['Status']}, {moved} of {total} moved")
            if task["Status"] in ENDED:
                final[queue.arn] = task
        if len(final) == len(queues):
            return final
        sleep(interval)
