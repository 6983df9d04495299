"""The load run: the same SendMessage requests ten to a call, paced by the processors so the
emulator's queues stay shallow."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.verify import plan as verify_plan
from pipeline.verify.plan import Webhook
from rehearsal.scenarios import SIGNER, Plan
from rehearsal.send import api_request
from rehearsal.target import Target

# Accepted-but-not-yet-published messages a load run allows: one full batch per processor.
LOAD_WINDOW = 40
BATCH = 10  # SendMessageBatch's maximum


def load_plan(providers: list[str], total: int) -> Plan:
    """The driver's load webhooks, signed with the rehearsal's secrets; no faults."""
    return Plan(webhooks=verify_plan.load(SIGNER, providers, total))


@dataclass
class Pacer:
    """Holds a producer back while more than `window` accepted messages have not come out the
    other end (`delivered()`), for at most `patience` seconds at a time, so a stalled consumer
    slows the producer down without stopping it."""

    delivered: Callable[[], int]
    window: int
    patience: float = 2.0
    accepted: int = 0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def wait(self) -> None:
        deadline = self.clock() + self.patience
        while self.accepted - self.delivered() > self.window and self.clock() < deadline:
            self.sleep(0.02)


Chunk = tuple[int, str, list[tuple[int, dict[str, Any]]]]


def chunks(pending: dict[str, list[tuple[int, dict[str, Any]]]]) -> list[Chunk]:
    """Ten requests to a call, taking the providers in turn so that every processor has work
    at once: (position in the provider's list, provider, [(webhook index, request)])."""
    return sorted(
        (
            (start, provider, requests[start : start + BATCH])
            for provider, requests in pending.items()
            for start in range(0, len(requests), BATCH)
        ),
        key=lambda chunk: chunk[0],
    )


def send_batched(target: Target, hooks: list[Webhook], pacer: Pacer | None = None) -> list[int]:
    """The same SendMessage requests, ten per call: the emulator is single-threaded and its
    per-call cost would otherwise dominate a load run.

    With a `pacer`, sending keeps pace with the processors, as a producer throttled by its
    consumers would: the emulator scans a whole queue on every receive, so a deep queue costs
    quadratic time that real SQS does not.
    """
    statuses = [0] * len(hooks)
    pending: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for n, hook in enumerate(hooks):
        request = api_request(target, hook)
        if isinstance(request, int):
            statuses[n] = request
        else:
            pending.setdefault(hook.provider, []).append((n, request))
    sqs = target.emulator.client("sqs")
    for _, provider, chunk in chunks(pending):
        if pacer is not None:
            pacer.wait()
        answer = sqs.send_message_batch(
            QueueUrl=target.providers[provider].queue_url,
            Entries=[{"Id": str(n), **request} for n, request in chunk],
        )
        for ok in answer.get("Successful", []):
            statuses[int(ok["Id"])] = 200
            if pacer is not None:
                pacer.accepted += 1
        for failed in answer.get("Failed", []):
            statuses[int(failed["Id"])] = 503
    return statuses
