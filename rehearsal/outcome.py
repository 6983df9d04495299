"""How a rehearsal traffic run ended, read from the emulator (captured events, table rows, media
objects, dead-letter queues) into the driver's Verdict: every message accounted for once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pipeline.verify.plan import Webhook
from pipeline.verify.verdict import ENDINGS, Verdict
from rehearsal.scenarios import Plan
from rehearsal.send import TOO_LARGE
from rehearsal.target import Target
from stages import outputs as names


@dataclass
class Outcome(Verdict):
    """The driver's Verdict, plus what only the rehearsal sees: the handler files that ran."""

    handler_files: set[str] = field(default_factory=set)


@dataclass
class Recorded:
    """What the Stage recorded of a run: bus events, audit keys, table rows, bad media, DLQs."""

    received: list[dict[str, Any]]  # MessageReceived details
    rejected: list[dict[str, Any]]  # MessageRejected details
    audited: set[str] = field(default_factory=set)  # message ids with a MessageReceived item
    rows: dict[tuple[str, str], str] = field(default_factory=dict)  # key -> message id
    bad_media: list[str] = field(default_factory=list)  # problems of stored attachments
    dead_letters: dict[str, list[str]] = field(default_factory=dict)  # provider -> bodies


def dead_lettered(target: Target) -> dict[str, list[str]]:
    """Each provider's DLQ bodies, received out of sight (so a later run counts only its own)."""
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


def _scan(target: Target, table: str) -> list[dict[str, Any]]:
    pages = target.emulator.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page["Items"]]


def _bad_media(target: Target, received: list[dict[str, Any]]) -> list[str]:
    """Attachments whose stored object does not carry the hash their event states."""
    s3 = target.emulator.client("s3")
    bucket = target.output(names.MEDIA_BUCKET)
    problems = []
    for detail in received:
        for attachment in detail["attachments"]:
            head = s3.head_object(Bucket=bucket, Key=attachment["key"])
            if head["Metadata"].get("sha256") != attachment["sha256"]:
                problems.append(
                    f"{detail['provider']}: media {attachment['key']} does not match its event"
                )
    return problems


def read_recorded(target: Target, events: list[dict[str, Any]]) -> Recorded:
    """Everything the run left on the emulator, read once (the DLQs are drained)."""
    received = [e["detail"] for e in events if e["detail-type"] == "MessageReceived"]
    return Recorded(
        received=received,
        rejected=[e["detail"] for e in events if e["detail-type"] == "MessageRejected"],
        dead_letters=dead_lettered(target),
        audited={
            item["pk"]["S"]
            for item in _scan(target, target.output(names.AUDIT_TABLE))
            if item["detail_type"]["S"] == "MessageReceived"
        },
        rows={
            (item["conversation_id"]["S"], item["sort_key"]["S"]): item["message_id"]["S"]
            for item in _scan(target, target.output(names.MESSAGES_TABLE))
        },
        bad_media=_bad_media(target, received),
    )


def _tally(verdict: Verdict, name: str, hooks: list[Webhook], seen: Recorded, edge: int) -> None:
    """One provider's tally, and whether it is what the plan expects."""
    tally = verdict.tally(name)
    sent = [h for h in hooks if h.provider == name and h.expect != "duplicate"]
    received = [d for d in seen.received if d["provider"] == name]
    tally.sent = len(sent)
    tally.processed = len(received)
    tally.rejected = sum(1 for d in seen.rejected if d["provider"] == name) + edge
    tally.dead_lettered = len(seen.dead_letters[name])
    if tally.sent != sum(tally.ended.values()):
        verdict.problems.append(
            f"{name}: sent {tally.sent} != processed {tally.processed} + rejected "
            f"{tally.rejected} + dead-lettered {tally.dead_lettered}"
        )
    audited = sum(1 for d in received if d["message_id"] in seen.audited)
    if audited != tally.processed:
        verdict.problems.append(f"{name}: {tally.processed} processed but {audited} audited")
    expected = Counter(h.expect for h in sent)
    for ending in ENDINGS:
        if expected[ending] != tally.ended[ending]:
            verdict.problems.append(
                f"{name}: expected {expected[ending]} {ending}, found {tally.ended[ending]}"
            )


def _once_per_key(verdict: Verdict, hooks: list[Webhook], seen: Recorded) -> None:
    """No provider message id yields two events; a repeated delivery counts as suppressed."""
    events = Counter((d["provider"], d["provider_message_id"]) for d in seen.received)
    for (provider, key), count in sorted(events.items()):
        if count > 1:
            verdict.problems.append(f"{provider}: {count} events for provider message id {key!r}")
    for hook in hooks:
        if hook.expect == "duplicate" and events[(hook.provider, hook.key)] == 1:
            verdict.tally(hook.provider).duplicates_suppressed += 1


def judge(plan: Plan, statuses: list[int], seen: Recorded, providers: list[str]) -> Outcome:
    """Account for every message of the plan in what the Stage recorded."""
    outcome = Outcome()
    edge_rejected = Counter(
        h.provider for h, status in zip(plan.webhooks, statuses, strict=True) if status == TOO_LARGE
    )
    for name in sorted(providers):
        _tally(outcome, name, plan.webhooks, seen, edge_rejected[name])
    _once_per_key(outcome, plan.webhooks, seen)
    for detail in seen.received:  # each processed message readable where its event says
        record = detail["record"]
        if seen.rows.get((record["conversation_id"], record["sort_key"])) != detail["message_id"]:
            outcome.problems.append(
                f"{detail['provider']}: no messages-table row for {detail['message_id']}"
            )
    outcome.problems += seen.bad_media
    return outcome


def account(
    target: Target, plan: Plan, statuses: list[int], events: list[dict[str, Any]]
) -> Outcome:
    """Read what the Stage recorded of the run, then judge it."""
    return judge(plan, statuses, read_recorded(target, events), list(target.providers))
