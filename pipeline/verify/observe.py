"""Reads how each sent webhook ended, where the Stage records it: the audit table (one item per
event, keyed by message id, or `request#<API request id>` for a rejection) and the DLQs."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from pipeline.verify.plan import Webhook
from pipeline.verify.transport import Sent
from pipeline.verify.verdict import Verdict
from services.events.models import message_id_for


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
        pending = self._answered(verdict, hooks, sents)
        while pending:
            for n, pk in list(pending.items()):
                if self._recorded(verdict, hooks[n], pk):
                    del pending[n]
            if not pending or self.clock() - start > timeout:
                break
            self.sleep(poll)
        for n in pending:
            verdict.tally(hooks[n].provider).missing += 1
            verdict.problems.append(
                f"{hooks[n].provider}: {hooks[n].key} not recorded within {timeout:.0f} s"
            )
        self._duplicates(verdict, hooks)
        self._dead_letters(verdict, dead_letters_before or {})
        verdict.seconds = self.clock() - start
        return verdict

    def _answered(
        self, verdict: Verdict, hooks: list[Webhook], sents: list[Sent]
    ) -> dict[int, str]:
        """Tally what the API answered; returns the audit key to wait for, per accepted webhook."""
        pending: dict[int, str] = {}
        for n, (hook, sent) in enumerate(zip(hooks, sents, strict=True)):
            tally = verdict.tally(hook.provider)
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
        return pending

    def _recorded(self, verdict: Verdict, hook: Webhook, pk: str) -> bool:
        """Whether the webhook's ending is in the audit table (tallied when it is)."""
        wanted = "MessageRejected" if hook.expect == "rejected" else "MessageReceived"
        seen = self.events(pk)
        if hook.expect == "analyzed" and "MessageAnalyzed" not in seen:
            return "MessageRejected" in seen and self._unexpectedly_rejected(verdict, hook)
        if wanted in seen:
            tally = verdict.tally(hook.provider)
            if wanted == "MessageRejected":
                tally.rejected += 1
            else:
                tally.processed += 1
            ended = "rejected" if wanted == "MessageRejected" else "processed"
            self._expect(verdict, hook, "analyzed" if hook.expect == "analyzed" else ended)
            return True
        if "MessageRejected" in seen and wanted == "MessageReceived":
            return self._unexpectedly_rejected(verdict, hook)
        return False

    def _unexpectedly_rejected(self, verdict: Verdict, hook: Webhook) -> bool:
        verdict.problems.append(f"{hook.provider}: {hook.key} was rejected")
        return True

    def _dead_letters(self, verdict: Verdict, before: Mapping[str, int]) -> None:
        for name, depth in self.dead_letter_depths().items():
            grown = depth - before.get(name, 0)
            if name in verdict.tallies:
                verdict.tallies[name].dead_lettered = grown
            if grown:
                verdict.problems.append(f"{name}: {grown} message(s) reached the dead-letter queue")

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
