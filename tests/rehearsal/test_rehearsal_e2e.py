"""End to end: the dev Stage's synthesized templates deployed to moto_server, real traffic through
the real request templates and handlers, every message accounted for exactly once."""

from __future__ import annotations

import pytest

from pipeline.verify.verdict import Verdict
from rehearsal.outcome import Outcome
from rehearsal.run import SUITES, rehearse
from services.inbound.providers import discover
from tests.support.synth import Synth

LOAD = 120  # a small load run: the batched, paced sender that `make rehearse` uses for 1,000


@pytest.fixture(scope="module")
def results(synth: Synth) -> dict[str, Verdict]:
    # The suites `make rehearse` runs (python -m rehearsal), so the target cannot rot unseen.
    found = rehearse(synth.outdir, "Dev", scenarios=True, load=LOAD, suites=SUITES)
    return dict(found)


@pytest.fixture(scope="module")
def outcome(results: dict[str, Verdict]) -> Outcome:
    scenarios = results["scenarios"]
    assert isinstance(scenarios, Outcome)
    return scenarios


def test_the_pipelines_acceptance_suite_passes_against_the_rehearsal(
    results: dict[str, Verdict],
) -> None:
    verdict = results["post-deploy acceptance (pipeline.verify)"]
    assert not isinstance(verdict, Outcome)  # the driver's own accounting, not the rehearsal's
    assert verdict.problems == []
    for provider, tally in verdict.tallies.items():
        assert tally.processed == 3, provider  # two valid and the duplicated one
        assert tally.duplicates_suppressed == 1, provider
        # bad signature and malformed; stale too where the provider signs a timestamp
        assert tally.rejected == (3 if provider in ("slack", "generic") else 2), provider
        assert tally.sent == tally.processed + tally.rejected, provider


def test_the_pipelines_smoke_suite_passes_against_the_rehearsal(
    results: dict[str, Verdict],
) -> None:
    # Triage (Step Functions) does not run on the emulator: every valid smoke webhook must end
    # processed, the badly signed one rejected, and Meta's handshake must echo the challenge.
    verdict = results["post-deploy smoke (pipeline.verify)"]
    assert verdict.problems == []
    assert sum(t.processed for t in verdict.tallies.values()) == len(discover())
    assert sum(t.rejected for t in verdict.tallies.values()) == 1


def test_every_message_is_accounted_for_exactly_once(outcome: Outcome) -> None:
    # The problems include: sent != processed + rejected + dead-lettered, a processed message
    # without its audit item or messages-table row, two events for one provider message id.
    assert outcome.problems == []
    for provider, tally in outcome.tallies.items():
        assert tally.sent == sum(tally.ended.values()), provider
        assert tally.missing == 0, provider


def test_every_provider_saw_every_kind_of_ending(outcome: Outcome) -> None:
    assert set(outcome.tallies) == set(discover())
    for provider, tally in outcome.tallies.items():
        assert tally.processed >= 8, provider  # valid, media, duplicate, crash, throttled
        assert tally.rejected >= 3, provider  # bad signature, malformed, oversized (+ stale)
        assert tally.dead_lettered == 2, provider  # media that never downloads, poison event
        assert tally.duplicates_suppressed == 1, provider  # delivered twice, published once


def test_handlers_ran_from_the_synthesized_asset(outcome: Outcome, synth: Synth) -> None:
    (handler,) = outcome.handler_files
    assert handler.startswith(str(synth.outdir))
    assert handler.endswith("services/inbound/runtime/processor.py")


def test_a_paced_load_run_loses_nothing(results: dict[str, Verdict]) -> None:
    (load,) = [outcome for title, outcome in results.items() if title.startswith("load")]
    assert isinstance(load, Outcome)
    assert load.problems == []
    assert load.total().processed == LOAD
