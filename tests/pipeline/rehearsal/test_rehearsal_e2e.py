"""End to end: the dev Stage's synthesized templates deployed to moto_server, real traffic through
the real request templates and handlers, every message accounted for exactly once."""

from __future__ import annotations

import pytest

from pipeline.rehearsal.run import Outcome, rehearse
from services.inbound.providers import discover
from tests.conftest import Synth


@pytest.fixture(scope="module")
def outcome(synth: Synth) -> Outcome:
    ((title, result),) = rehearse(synth.outdir, "Dev", scenarios=True, load=0)
    assert title == "scenarios"
    return result


def test_every_message_is_accounted_for_exactly_once(outcome: Outcome) -> None:
    assert outcome.ledger.violations() == []
    assert outcome.mismatches == []


def test_every_provider_saw_every_kind_of_ending(outcome: Outcome) -> None:
    assert set(outcome.ledger.tallies) == set(discover())
    for provider, tally in outcome.ledger.tallies.items():
        assert tally.processed >= 8, provider  # valid, media, duplicate, crash, throttled
        assert tally.rejected >= 3, provider  # bad signature, malformed, oversized (+ stale)
        assert tally.dead_lettered == 2, provider  # media that never downloads, poison event
        assert tally.duplicates == 1, provider


def test_handlers_ran_from_the_synthesized_asset(outcome: Outcome, synth: Synth) -> None:
    (handler,) = outcome.handler_files
    assert handler.startswith(str(synth.outdir))
    assert handler.endswith("services/inbound/runtime/processor.py")
