"""The local rehearsal: deploy the dev Stage to moto_server, push webhook traffic, account for it.

Composes the pieces: deploy (rehearsal.deploy), find and prepare the Stage (target, prepare),
send through the API's request templates (send, load) while the real handlers drain the queues
(process) and bus events are captured (capture), then read how every message ended (outcome).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.verify.outputs import StageOutputs
from pipeline.verify.suites import Settings
from pipeline.verify.suites import run as run_suite
from pipeline.verify.verdict import Verdict
from rehearsal.capture import captured_events
from rehearsal.deploy import deploy_stage, stage_directory, stage_region
from rehearsal.emulator import running
from rehearsal.load import LOAD_WINDOW, Pacer, load_plan, send_batched
from rehearsal.media import MediaServer
from rehearsal.outcome import Outcome, account
from rehearsal.prepare import prepare
from rehearsal.process import process
from rehearsal.scenarios import BASE_URL, Plan, scenario_plan
from rehearsal.send import RehearsalTransport, send
from rehearsal.target import Target, discover_target

# The pipeline's post-deploy suites `make rehearse` runs on the emulator, in this order.
SUITES = ("smoke", "acceptance")
# The emulator runs no state machine (rehearsal.deploy removes their rule targets), so the
# triage workflow never analyzes a message here: the smoke suite does not wait for it.
EMULATOR_SETTINGS = Settings(timeout=60, poll=0.2, triage=False)


@dataclass
class Drained:
    """What the background work of a traffic run saw: the workers' reports, the bus events."""

    events: list[dict[str, Any]] = field(default_factory=list)
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)


@contextmanager
def draining(target: Target, faults: dict[str, list[dict[str, Any]]]) -> Iterator[Drained]:
    """The processors drain their queues and the capture queue is read while the block sends;
    on leaving, both run until their queues are empty (`events` grows meanwhile)."""
    drained = Drained()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=2) as background:
        sent_all, done = Path(tmp) / "sent", Path(tmp) / "drained"
        workers = background.submit(process, target, faults, sent_all)
        capture = background.submit(
            captured_events, target, lambda: not done.exists(), drained.events
        )
        try:
            yield drained
        finally:
            sent_all.touch()
            try:
                drained.workers = workers.result()
            finally:  # a failed worker must not leave the capture polling forever
                done.touch()
                capture.result()


def run_traffic(target: Target, plan: Plan, *, batched: bool = False) -> Outcome:
    """Send the plan while the workers drain and the capture queue is read, all at once, so
    queues stay shallow (the emulator's SendMessage slows down as a queue grows)."""
    start = time.perf_counter()
    with draining(target, plan.faults) as drained:
        if batched:
            pacer = Pacer(drained.events.__len__, LOAD_WINDOW)
            statuses = send_batched(target, plan.webhooks, pacer)
        else:
            statuses = [send(target, hook) for hook in plan.webhooks]
    outcome = account(target, plan, statuses, drained.events)
    outcome.seconds = time.perf_counter() - start
    outcome.handler_files = {r["handler_file"] for r in drained.workers.values()}
    return outcome


def drive(target: Target, suites: tuple[str, ...], settings: Settings) -> list[Verdict]:
    """Run post-deploy suites of the shared driver against the emulator, one after the other,
    the processors draining their queues meanwhile (started once for all of them): the same
    code the pipeline runs against real AWS."""
    # Requests are rendered for the rehearsal's public URL (which Twilio signs), not the
    # emulator's unreachable API endpoint.
    stage = replace(StageOutputs.from_mapping(target.stack.outputs), api_url=BASE_URL)
    with draining(target, {}):
        return [
            run_suite(
                suite,
                stage,
                target.emulator.client,
                settings=settings,
                transport=RehearsalTransport(target),
            )
            for suite in suites
        ]


def _report_deploy(target: Target, seconds: float) -> None:
    stack = target.stack
    skipped = ", ".join(sorted(set(stack.skipped.values())))
    print(f"deployed {stack.name} to the emulator in {seconds:.1f} s")
    for step in stack.prepared:
        print(f"prepared for the emulator: {step}")
    print(f"not created by the emulator (listed, not needed for traffic): {skipped}")


def _traffic(
    target: Target,
    media: MediaServer,
    deployed: float,
    scenarios: bool,
    load: int,
    suites: tuple[str, ...],
) -> list[tuple[str, Verdict]]:
    results: list[tuple[str, Verdict]] = []
    if scenarios:
        plan = scenario_plan(sorted(target.providers), media.base)
        results.append(("scenarios", run_traffic(target, plan)))
    if suites:  # the pipeline's post-deploy suites, on the emulator
        verdicts = drive(target, suites, EMULATOR_SETTINGS)
        results += [
            (f"post-deploy {suite} (pipeline.verify)", verdict)
            for suite, verdict in zip(suites, verdicts, strict=True)
        ]
    if load:
        outcome = run_traffic(target, load_plan(sorted(target.providers), load), batched=True)
        outcome.seconds += deployed
        results.append((f"load ({load} messages, deploy included)", outcome))
    return results


def rehearse(
    cdk_out: Path,
    stage_id: str = "Dev",
    *,
    scenarios: bool = True,
    load: int = 0,
    region: str | None = None,
    suites: tuple[str, ...] = (),
) -> list[tuple[str, Verdict]]:
    """Deploy the Stage to a fresh emulator and run the scenarios, the driver's `suites` and a
    `load` run on it, in that order; one titled Verdict each."""
    assembly = stage_directory(cdk_out, stage_id)
    with running(region or stage_region(cdk_out, stage_id)) as emulator:
        start = time.perf_counter()
        (stack,) = deploy_stage(emulator, cdk_out, stage_id)
        target = discover_target(emulator, stack, assembly)
        media = MediaServer()
        try:
            prepare(target, media)
            deployed = time.perf_counter() - start
            _report_deploy(target, deployed)
            return _traffic(target, media, deployed, scenarios, load, suites)
        finally:
            media.close()
