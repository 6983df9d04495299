"""The driver's accounting: each webhook's ending read from the audit table, within a timeout."""

from __future__ import annotations

from typing import Any

from pipeline.verify.observe import Observer
from pipeline.verify.plan import Webhook
from pipeline.verify.transport import Sent
from services.events.models import message_id_for


class FakeDynamoDB:
    """The audit table as pk -> detail types; `later` items appear on the second poll."""

    def __init__(self, items: dict[str, list[str]], later: dict[str, list[str]] | None = None):
        self.items = items
        self.later = later or {}
        self.queries = 0

    def query(self, **arguments: Any) -> dict[str, Any]:
        self.queries += 1
        pk = arguments["ExpressionAttributeValues"][":pk"]["S"]
        found = self.items.get(pk, [])
        return {"Items": [{"detail_type": {"S": kind}} for kind in found]}

    def advance(self) -> None:
        for pk, kinds in self.later.items():
            self.items.setdefault(pk, []).extend(kinds)
        self.later = {}


class FakeSQS:
    def __init__(self, depths: dict[str, int]) -> None:
        self.depths = depths

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(self.depths[QueueUrl]),
                "ApproximateNumberOfMessagesNotVisible": "0",
            }
        }


class Clock:
    def __init__(self, dynamodb: FakeDynamoDB) -> None:
        self.now = 0.0
        self.dynamodb = dynamodb

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.dynamodb.advance()


def hook(key: str, expect: str, provider: str = "generic") -> Webhook:
    return Webhook(provider, key, {}, b"{}", expect, request_id=f"req-{key}")


def observer(dynamodb: FakeDynamoDB, dlq_depth: int = 0) -> tuple[Observer, Clock]:
    clock = Clock(dynamodb)
    sqs = FakeSQS({"dlq": dlq_depth})
    watcher = Observer(
        dynamodb,
        sqs,
        audit_table="audit",
        dead_letter_urls={"generic": "dlq"},
        clock=clock,
        sleep=clock.sleep,
    )
    return watcher, clock


def test_every_ending_is_tallied_once() -> None:
    hooks = [
        hook("ok", "processed"),
        hook("ok", "duplicate"),
        hook("late", "processed"),
        hook("bad", "rejected"),
        hook("big", "rejected"),
    ]
    sents = [Sent(200, "req-ok"), Sent(200, "req-ok2"), Sent(200, "req-late")]
    sents += [Sent(200, "req-bad"), Sent(413, "req-big")]
    dynamodb = FakeDynamoDB(
        {
            message_id_for("generic", "ok"): ["MessageReceived"],
            "request#req-bad": ["MessageRejected"],
        },
        later={message_id_for("generic", "late"): ["MessageReceived"]},
    )
    watcher, _ = observer(dynamodb)
    verdict = watcher.settle(hooks, sents, timeout=10, poll=1)
    assert verdict.problems == []
    tally = verdict.tallies["generic"]
    assert (tally.sent, tally.processed, tally.rejected) == (4, 2, 2)
    assert (tally.duplicates_suppressed, tally.missing, tally.dead_lettered) == (1, 0, 0)
    assert verdict.seconds == 1  # one poll interval waited for the late one


def test_what_is_not_recorded_in_time_is_missing() -> None:
    watcher, clock = observer(FakeDynamoDB({}))
    verdict = watcher.settle([hook("lost", "processed")], [Sent(200, "r")], timeout=5, poll=2)
    assert verdict.tallies["generic"].missing == 1
    assert verdict.problems == ["generic: lost not recorded within 5 s"]
    assert 5 < clock.now <= 7


def test_unexpected_endings_http_errors_and_dead_letters_are_problems() -> None:
    hooks = [
        hook("was-rejected", "processed"),
        hook("refused", "processed"),
        hook("x", "processed"),
    ]
    sents = [Sent(200, "a"), Sent(500, "b"), Sent(413, "c")]
    dynamodb = FakeDynamoDB({message_id_for("generic", "was-rejected"): ["MessageRejected"]})
    watcher, _ = observer(dynamodb, dlq_depth=3)
    verdict = watcher.settle(hooks, sents, timeout=1, dead_letters_before={"generic": 1})
    assert verdict.problems == [
        "generic: refused answered HTTP 500",
        "generic: x rejected, expected processed",
        "generic: was-rejected was rejected",
        "generic: 2 message(s) reached the dead-letter queue",
    ]
    assert verdict.tallies["generic"].dead_lettered == 2
    assert not verdict.ok


def test_a_duplicate_published_twice_is_a_problem() -> None:
    dynamodb = FakeDynamoDB({message_id_for("generic", "k"): ["MessageReceived"] * 2})
    watcher, _ = observer(dynamodb)
    verdict = watcher.settle(
        [hook("k", "processed"), hook("k", "duplicate")],
        [Sent(200, "a"), Sent(200, "b")],
        timeout=1,
    )
    assert verdict.problems == ["generic: k delivered twice, published 2 time(s)"]
    assert verdict.tallies["generic"].duplicates_suppressed == 0


def test_an_analyzed_message_waits_for_triage_and_fails_without_it() -> None:
    """The smoke suite's triage check: received is not enough, MessageAnalyzed must follow
    (an unusable CMK on the triage workflow leaves it out, with no other symptom)."""
    pk = message_id_for("generic", "t")
    hooks = [hook("t", "analyzed")]
    sents = [Sent(200, "req-t")]
    dynamodb = FakeDynamoDB({pk: ["MessageReceived"]}, later={pk: ["MessageAnalyzed"]})
    watcher, _ = observer(dynamodb)
    verdict = watcher.settle(hooks, sents, timeout=10, poll=1)
    assert verdict.problems == []
    assert verdict.tallies["generic"].processed == 1

    never = FakeDynamoDB({pk: ["MessageReceived"]})
    watcher, _ = observer(never)
    verdict = watcher.settle(hooks, sents, timeout=5, poll=1)
    assert verdict.problems == ["generic: t not recorded within 5 s"]
