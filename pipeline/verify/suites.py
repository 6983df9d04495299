"""The suites: smoke (dev, prod), acceptance and load (staging). Same code for any target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.verify import plan
from pipeline.verify.observe import Observer
from pipeline.verify.outputs import StageOutputs, read_secrets
from pipeline.verify.transport import Answer, HttpTransport, Transport
from pipeline.verify.verdict import Verdict

SUITES = ("smoke", "acceptance", "load")


@dataclass(frozen=True)
class Settings:
    """Bounds of a run: how long to wait for outcomes; how many and how fast for load."""

    timeout: float = 300.0
    load_messages: int = 300
    load_rate: float = 20.0
    poll: float = 2.0
    # Whether the Stage's triage workflow runs: the smoke suite then waits for the first
    # provider's message to come back analyzed. The local emulator cannot run Step Functions.
    triage: bool = True


def webhooks(
    suite: str, signer: plan.Signer, providers: list[str], settings: Settings
) -> list[plan.Webhook]:
    if suite == "smoke":
        return plan.smoke(signer, providers, analyzed=settings.triage)
    if suite == "acceptance":
        return plan.acceptance(signer, providers)
    if suite == "load":
        return plan.load(signer, providers, settings.load_messages)
    raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")


def run(
    suite: str,
    stage: StageOutputs,
    clients: Any,
    *,
    settings: Settings = Settings(),
    transport: Transport | None = None,
) -> Verdict:
    """Send the suite's webhooks and account for every one. `clients(name)` returns a boto3
    client (for the real Stage, of a session in the Stage's account)."""
    secrets = read_secrets(clients("secretsmanager"), stage)
    signer = plan.Signer(secrets, stage.api_url)
    hooks = webhooks(suite, signer, sorted(stage.providers), settings)
    observer = Observer(
        clients("dynamodb"),
        clients("sqs"),
        audit_table=stage.audit_table,
        dead_letter_urls={n: p.dead_letter_url for n, p in stage.providers.items()},
    )
    before = observer.dead_letter_depths()
    if transport is None:
        rate = settings.load_rate if suite == "load" else None
        transport = HttpTransport(stage.api_url, rate_per_second=rate)
    sents = [transport.send(hook) for hook in hooks]
    verdict = observer.settle(
        hooks, sents, timeout=settings.timeout, poll=settings.poll, dead_letters_before=before
    )
    if suite == "smoke" and isinstance(transport, Answer):
        verdict.problems += check_handshakes(
            transport, plan.handshakes(signer, sorted(stage.providers))
        )
    return verdict


def check_handshakes(transport: Answer, checks: list[plan.Handshake]) -> list[str]:
    """Problems with the providers' subscription checks: a provider whose challenge is not
    echoed can never register its webhook; one that is answered for a wrong token is open."""
    problems = []
    for check in checks:
        status, body = transport.get(check.provider, check.query)
        if check.expect_challenge is None:
            if 200 <= status < 300:
                problems.append(f"{check.provider}: handshake answered for a wrong token")
        elif status != 200 or check.expect_challenge not in body:
            problems.append(
                f"{check.provider}: handshake answered HTTP {status} {body[:80]!r}, "
                f"expected the challenge {check.expect_challenge!r}"
            )
    return problems
