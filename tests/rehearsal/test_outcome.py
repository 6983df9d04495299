"""The rehearsal's accounting: every message of the plan found once where the Stage records it."""

from __future__ import annotations

from typing import Any

from pipeline.verify.plan import Webhook
from rehearsal.outcome import Recorded, judge
from rehearsal.scenarios import Plan


def hook(key: str, expect: str) -> Webhook:
    return Webhook("generic", key, {}, b"", expect)


def received(key: str) -> dict[str, Any]:
    return {
        "provider": "generic",
        "provider_message_id": key,
        "message_id": f"m-{key}",
        "record": {"conversation_id": "c", "sort_key": key},
        "attachments": [],
    }


PLAN = Plan(
    webhooks=[
        hook("ok", "processed"),
        hook("ok", "duplicate"),
        hook("bad", "rejected"),
        hook("big", "rejected"),
        hook("poison", "dead-lettered"),
    ]
)
STATUSES = [200, 200, 200, 413, 200]


def recorded(*keys: str, **changes: Any) -> Recorded:
    seen = Recorded(
        received=[received(k) for k in keys],
        rejected=[{"provider": "generic"}],
        audited={f"m-{k}" for k in keys},
        rows={("c", k): f"m-{k}" for k in keys},
        dead_letters={"generic": ["poison"]},
    )
    for name, value in changes.items():
        setattr(seen, name, value)
    return seen


def test_a_clean_run_accounts_for_every_message_once() -> None:
    outcome = judge(PLAN, STATUSES, recorded("ok"), ["generic"])
    assert outcome.problems == []
    tally = outcome.tallies["generic"]
    assert tally.sent == 4  # the repeated delivery is not a message of its own
    assert tally.ended == {"processed": 1, "rejected": 2, "dead-lettered": 1}
    assert tally.duplicates_suppressed == 1


def test_a_repeated_delivery_published_twice_is_caught() -> None:
    outcome = judge(PLAN, STATUSES, recorded("ok", "ok"), ["generic"])
    assert "generic: 2 events for provider message id 'ok'" in outcome.problems
    assert "generic: expected 1 processed, found 2" in outcome.problems
    assert outcome.tallies["generic"].duplicates_suppressed == 0


def test_a_lost_message_breaks_the_invariant() -> None:
    outcome = judge(PLAN, STATUSES, recorded("ok", dead_letters={"generic": []}), ["generic"])
    assert outcome.problems == [
        "generic: sent 4 != processed 1 + rejected 2 + dead-lettered 0",
        "generic: expected 1 dead-lettered, found 0",
    ]


def test_processed_needs_its_audit_item_row_and_media() -> None:
    seen = recorded("ok", audited=set(), rows={}, bad_media=["generic: media k does not match"])
    outcome = judge(PLAN, STATUSES, seen, ["generic"])
    assert outcome.problems == [
        "generic: 1 processed but 0 audited",
        "generic: no messages-table row for m-ok",
        "generic: media k does not match",
    ]
