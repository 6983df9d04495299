"""End to end: the dev Stage's synthesized templates deployed to moto_server, real traffic through
the real request templates and handlers, every message accounted for exactly once."""

from __future__ import annotations

import pytest

from pipeline.verify.observe import Verdict
from rehearsal.outcome import Outcome
from rehearsal.run import rehearse
from services.inbound.providers import discover
from tests.support.synth import Synth

LOAD = 120  # a small load run: the batched, paced sender that `make rehearse` uses for 1,000


@pytest.fixture(scope="module")
def results(synth: Synth) -> dict[str, Outcome | Verdict]:
    found = rehearse(synth.outdir, "Dev", scenarios=True, load=LOAD, suites=("acceptance",))
    return dict(found)


@pytest.fixture(scope="module")
def outcome(results: dict[str, Outcome | Verdict]) -> Outcome:
    scenarios = results["scenarios"]
    assert isinstance(scenarios, Outcome)
    return scenarios


def test_the_pipelines_acceptance_suite_passes_against_the_rehearsal(
    results: dict[str, Outcome | Verdict],
) -> None:
    verdict = results["post-deploy acceptance (pipeline.verify)"]
    assert isinstance(verdict, Verdict)
    assert verdict.problems == []
    for provider, tally in verdict.tallies.items():
        assert tally.processed == 3, provider  # two valid and the duplicated one
        assert tally.duplicates_suppressed == 1, provider
        # bad signature and malformed; stale too where the provider signs a timestamp
        assert tally.rejected == (3 if provider in ("slack", "generic") else 2), provider
        assert tally.sent == tally.processed + tally.rejected, provider


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


def test_a_paced_load_run_loses_nothing(results: dict[str, Outcome | Verdict]) -> None:
    (load,) = [outcome for title, outcome in results.items() if title.startswith("load")]
    assert isinstance(load, Outcome)
    assert load.ledger.violations() == []
    assert load.mismatches == []
    assert sum(t.processed for t in load.ledger.tallies.values()) == LOAD
