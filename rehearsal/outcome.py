"""Reading how a traffic run ended, from the emulator: captured events, table rows, media
objects and dead-letter queues, accounted for in the run's ledger."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from rehearsal.ledger import Ledger
from rehearsal.scenarios import Plan
from rehearsal.target import Target
from stages import outputs as names


def dead_lettered(target: Target) -> dict[str, list[str]]:
    sqs = target.emulator.client("sqs")
    out: dict[str, list[str]] = {}
    for name, provider in target.providers.items():
        bodies = []
        while True:
            got = sqs.receive_message(
                QueueUrl=provider.dead_letter_url, MaxNumberOfMessages=10, VisibilityTimeout=300
            ).get("Messages", [])
            if not got:
                break
            bodies += [m["Body"] for m in got]
        out[name] = bodies
    return out


@dataclass
class Outcome:
    """A traffic run's ledger, checks that do not fit the ledger, and timings."""

    ledger: Ledger
    mismatches: list[str]
    seconds: float
    handler_files: set[str]


def account(
    target: Target, plan: Plan, statuses: list[int], events: list[dict[str, Any]]
) -> Outcome:
    ledger = Ledger()
    mismatches: list[str] = []
    received = [e["detail"] for e in events if e["detail-type"] == "MessageReceived"]
    rejected = [e["detail"] for e in events if e["detail-type"] == "MessageRejected"]
    for detail in received:
        ledger.events_per_key[(detail["provider"], detail["provider_message_id"])] += 1
    dlq = dead_lettered(target)
    s3 = target.emulator.client("s3")
    audited = set()
    for page in (
        target.emulator.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=target.output(names.AUDIT_TABLE))
    ):
        for item in page["Items"]:
            if item["detail_type"]["S"] == "MessageReceived":
                audited.add(item["pk"]["S"])
    rows = {}
    for page in (
        target.emulator.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=target.output(names.MESSAGES_TABLE))
    ):
        for item in page["Items"]:
            rows[(item["conversation_id"]["S"], item["sort_key"]["S"])] = item["message_id"]["S"]
    edge_rejected = Counter(
        h.provider for h, status in zip(plan.webhooks, statuses, strict=True) if status == 413
    )
    for name in target.providers:
        tally = ledger.tally(name)
        sent = [h for h in plan.webhooks if h.provider == name and h.expect != "duplicate"]
        tally.sent = len(sent)
        tally.duplicates = sum(
            1 for h in plan.webhooks if h.provider == name and h.expect == "duplicate"
        )
        tally.processed = sum(1 for d in received if d["provider"] == name)
        tally.rejected = sum(1 for d in rejected if d["provider"] == name) + edge_rejected[name]
        tally.dead_lettered = len(dlq[name])
        # Each processed message must be readable where its event says it is.
        for detail in (d for d in received if d["provider"] == name):
            record = detail["record"]
            if rows.get((record["conversation_id"], record["sort_key"])) != detail["message_id"]:
                mismatches.append(f"{name}: no messages-table row for {detail['message_id']}")
            for attachment in detail["attachments"]:
                head = s3.head_object(
                    Bucket=target.output(names.MEDIA_BUCKET), Key=attachment["key"]
                )
                if head["Metadata"].get("sha256") != attachment["sha256"]:
                    mismatches.append(f"{name}: media {attachment['key']} does not match its event")
            if detail["message_id"] in audited:
                tally.audited += 1
        expected = Counter(h.expect for h in sent)
        seen = {
            "processed": tally.processed,
            "rejected": tally.rejected,
            "dead-lettered": tally.dead_lettered,
        }
        for outcome, count in seen.items():
            if expected[outcome] != count:
                mismatches.append(f"{name}: expected {expected[outcome]} {outcome}, found {count}")
    return Outcome(ledger, mismatches, 0.0, set())
