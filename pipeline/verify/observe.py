"""Reads how each sent webhook ended, where the Stage records it: the audit table (one item per
event, keyed by message id, or `request#<API request id>` for a rejection) and the DLQs."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.verify.plan import Webhook
from pipeline.verify.transport import Sent
from services.events.models import message_id_for


@dataclass
class Tally:
    """One provider's ledger: every message sent ends as exactly one of these."""

    sent: int = 0
    processed: int = 0
    rejected: int = 0
    duplicates_suppressed: int = 0
    missing: int = 0
    dead_lettered: int = 0


@dataclass
class Verdict:
    """Per-provider tallies and every problem found; `ok` when there is none."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def table(self) -> str:
        header = (
            f"{'provider':<10}{'sent':>6}{'processed':>11}{'rejected':>10}"
            f"{'dup. suppr.':>13}{'missing':>9}{'DLQ':>5}"
        )
        rows = [header]
        for name, t in sorted(self.tallies.items()):
            rows.append(
                f"{name:<10}{t.sent:>6}{t.processed:>11}{t.rejected:>10}"
                f"{t.duplicates_suppressed:>13}{t.missing:>9}{t.dead_lettered:>5}"
            )
        return "\n".join(rows)


class Observer:
    """Polls the audit table with a bounded timeout; compares DLQ depths before and after."""

    def __init__(
        self,
        dynamodb: Any,
        sqs: Any,
        *,
        audit_table: str,
        dead_letter_urls: Mapping[str, str],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dynamodb = dynamodb
        self.sqs = sqs
        self.audit_table = audit_table
        self.dead_letter_urls = dict(dead_letter_urls)
        self.clock = clock
        self.sleep = sleep

    def events(self, pk: str) -> list[str]:
        """Detail types of the audited events under one partition key."""
        found: list[str] = []
        arguments: dict[str, Any] = {
            "TableName": self.audit_table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ProjectionExpression": "detail_type",
        }
        while True:
            page = self.dynamodb.query(**arguments)
            found += [item["detail_type"]["S"] for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def dead_letter_depths(self) -> dict[str, int]:
        depths = {}
        for name, url in self.dead_letter_urls.items():
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            depths[name] = sum(int(v) for v in attributes.values())
        return depths

    def settle(
        self,
        hooks: list[Webhook],
        sents: list[Sent],
        *,
        timeout: float,
        poll: float = 2.0,
        dead_letters_before: Mapping[str, int] | None = None,
    ) -> Verdict:
        """Wait until every webhook's ending is recorded (or `timeout`), then account for all."""
        start = self.clock()
        verdict = Verdict()
        pending: dict[int, str] = {}
        for n, (hook, sent) in enumerate(zip(hooks, sents, strict=True)):
            tally = verdict.tallies.setdefault(hook.provider, Tally())
            if hook.expect == "duplicate":
                continue
            tally.sent += 1
            if sent.status == 413:  # refused at the edge, before any queue
                tally.rejected += 1
                self._expect(verdict, hook, "rejected")
            elif not 200 <= sent.status < 300:
                verdict.problems.append(f"{hook.provider}: {hook.key} answered HTTP {sent.status}")
            elif hook.expect == "rejected":
                pending[n] = f"request#{sent.request_id}"
            else:
                pending[n] = message_id_for(hook.provider, hook.key)
        while pending:
            for n, pk in list(pending.items()):
                wanted = "MessageRejected" if hooks[n].expect == "rejected" else "MessageReceived"
                seen = self.events(pk)
                if wanted in seen:
                    tally = verdict.tallies[hooks[n].provider]
                    if wanted == "MessageRejected":
                        tally.rejected += 1
                    else:
                        tally.processed += 1
                    self._expect(
                        verdict,
                        hooks[n],
                        "rejected" if wanted == "MessageRejected" else "processed",
                    )
                    del pending[n]
                elif "MessageRejected" in seen and wanted == "MessageReceived":
                    verdict.problems.append(f"{hooks[n].provider}: {hooks[n].key} was rejected")
                    del pending[n]
            if not pending or self.clock() - start > timeout:
                break
            self.sleep(poll)
        for n in pending:
            verdict.tallies[hooks[n].provider].missing += 1
            verdict.problems.append(
                f"{hooks[n].provider}: {hooks[n].key} not recorded within {timeout:.0f} s"
            )
        self._duplicates(verdict, hooks)
        before = dead_letters_before or {}
        for name, depth in self.dead_letter_depths().items():
            grown = depth - before.get(name, 0)
            if name in verdict.tallies:
                verdict.tallies[name].dead_lettered = grown
            if grown:
                verdict.problems.append(f"{name}: {grown} message(s) reached the dead-letter queue")
        verdict.seconds = self.clock() - start
        return verdict

    def _expect(self, verdict: Verdict, hook: Webhook, ended: str) -> None:
        if hook.expect != ended:
            verdict.problems.append(f"{hook.provider}: {hook.key} {ended}, expected {hook.expect}")

    def _duplicates(self, verdict: Verdict, hooks: list[Webhook]) -> None:
        sent_twice = Counter((h.provider, h.key) for h in hooks if h.expect == "duplicate")
        for provider, key in sent_twice:
            received = self.events(message_id_for(provider, key)).count("MessageReceived")
            if received == 1:
                verdict.tallies[provider].duplicates_suppressed += 1
            else:
                verdict.problems.append(
                    f"{provider}: {key} delivered twice, published {received} time(s)"
                )
