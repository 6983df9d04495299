"""The scenario plan: every provider gets every kind of ending, and the faults act on its keys."""

from __future__ import annotations

from collections import Counter

from rehearsal.scenarios import scenario_plan
from services.inbound.providers import discover


def test_every_provider_gets_every_kind_of_ending() -> None:
    providers = sorted(discover())
    plan = scenario_plan(providers, "http://127.0.0.1:1")
    for name in providers:
        expected = Counter(h.expect for h in plan.webhooks if h.provider == name)
        stale = 1 if name in ("slack", "generic") else 0
        assert expected == {
            "processed": 8,  # five valid (one with media), the duplicated one, crash, throttled
            "duplicate": 1,
            "rejected": 3 + stale,  # bad signature, malformed, oversized
            "dead-lettered": 2,  # media that never downloads, poison event
        }, name


def test_faults_name_the_keys_of_their_own_provider() -> None:
    plan = scenario_plan(["generic", "twilio"], "http://127.0.0.1:1")
    keys = {h.key for h in plan.webhooks}
    for name, faults in plan.faults.items():
        assert {f["operation"] for f in faults} == {"dynamodb.PutItem", "events.PutEvents"}
        for fault in faults:
            assert fault["match"] in keys
            assert fault["match"].startswith(f"{name}-")


def test_the_duplicate_is_the_same_request_sent_twice() -> None:
    plan = scenario_plan(["generic"], "http://127.0.0.1:1")
    (dup,) = [h for h in plan.webhooks if h.expect == "duplicate"]
    (first,) = [h for h in plan.webhooks if h.key == dup.key and h.expect == "processed"]
    assert (first.headers, first.body) == (dup.headers, dup.body)
