"""The rehearsal's scenarios: every kind of ending, for every provider, with the faults the
workers inject to produce the ones real traffic rarely does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.verify.plan import Signer, Webhook

OVERSIZE_BYTES = 1024 * 1024 + 4096  # over SQS's 1 MiB maximum message size
SECRETS: dict[str, dict[str, str]] = {
    "twilio": {"auth_token": "rehearsal-twilio-token", "account_sid": "AC" + "0" * 32},
    "whatsapp": {"app_secret": "rehearsal-meta-secret", "access_token": "rehearsal-meta-token"},
    "slack": {"signing_secret": "rehearsal-slack-secret", "bot_token": "xoxb-rehearsal"},
    "generic": {"signing_key": "rehearsal-generic-key"},
}
BASE_URL = "https://rehearsal.execute-api.localhost/live/"
SIGNER = Signer(SECRETS, BASE_URL)


@dataclass
class Plan:
    """Webhooks to send plus the faults the workers inject."""

    webhooks: list[Webhook] = field(default_factory=list)
    faults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _hook(name: str, key: str, expect: str, **kw: Any) -> Webhook:
    return Webhook(name, key, *SIGNER.signed(name, key, **kw), expect=expect)


def _at_the_edge(name: str, run: str, media_base: str, valid: int) -> list[Webhook]:
    """Valid (the first with media), duplicate, and what signature checks and parsing reject."""
    hooks = []
    for n in range(valid):
        media = (f"{media_base}/ok/{name}-{n}",) if n == 0 else ()
        if name == "whatsapp" and media:
            media = (f"{name}-{n}",)  # WhatsApp sends media ids, resolved via the Graph API
        hooks.append(_hook(name, f"{name}-{run}-valid-{n}", "processed", media_urls=media))
    key = f"{name}-{run}-dup"
    headers, body = SIGNER.signed(name, key)
    hooks += [Webhook(name, key, headers, body, "processed")]
    hooks += [Webhook(name, key, headers, body, "duplicate")]
    key = f"{name}-{run}-badsig"
    headers, body = SIGNER.signed(name, key)
    hooks.append(Webhook(name, key, headers, body.replace(b"Hello", b"Jello"), "rejected"))
    if name in ("slack", "generic"):
        old = datetime.now(UTC) - timedelta(minutes=10)
        hooks.append(_hook(name, f"{name}-{run}-stale", "rejected", now=old))
    key = f"{name}-{run}-malformed"
    headers, _ = SIGNER.signed(name, key)
    bad = b"{not json" if "json" in headers["Content-Type"] else b"Body=x"
    # Headers that sign the bad body correctly, so that only its parsing can fail.
    hooks.append(Webhook(name, key, SIGNER.resign(name, headers, bad), b"", "rejected"))
    key = f"{name}-{run}-oversize"
    hooks.append(_hook(name, key, "rejected", text="x" * OVERSIZE_BYTES))
    return hooks


def _in_the_processor(name: str, run: str, media_base: str) -> list[Webhook]:
    """Media that never downloads, and the messages the injected faults act on."""
    failing = (f"{media_base}/fail/{name}",)
    if name == "whatsapp":
        failing = ("fail",)  # the Graph API answers with a URL that then fails
    return [
        _hook(name, f"{name}-{run}-mediafail", "dead-lettered", media_urls=failing),
        _hook(name, f"{name}-{run}-crash", "processed"),
        _hook(name, f"{name}-{run}-throttled", "processed"),
        _hook(name, f"{name}-{run}-poison", "dead-lettered"),
    ]


def _faults(name: str, run: str) -> list[dict[str, Any]]:
    return [
        # A crash on one record of a batch, once: that record is retried, the rest go on.
        {
            "operation": "dynamodb.PutItem",
            "match": f"{name}-{run}-crash",
            "times": 1,
            "crash": True,
        },
        # PutEvents throttled twice, then fine: retried and processed.
        {"operation": "events.PutEvents", "match": f"{name}-{run}-throttled", "times": 2},
        # PutEvents failing for good for one message: it ends in the DLQ.
        {"operation": "events.PutEvents", "match": f"{name}-{run}-poison"},
    ]


def scenario_plan(providers: list[str], media_base: str, valid: int = 5) -> Plan:
    """Every scenario of the rehearsal, for every provider."""
    plan = Plan()
    for name in providers:
        run = uuid.uuid4().hex[:8]
        plan.webhooks += _at_the_edge(name, run, media_base, valid)
        plan.webhooks += _in_the_processor(name, run, media_base)
        plan.faults[name] = _faults(name, run)
    return plan
