"""Webhooks to send and how each should end, built from the providers' own signing code."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.inbound.providers import discover
from services.inbound.providers.base import Provider

Secrets = Mapping[str, Mapping[str, str]]


@dataclass
class Webhook:
    """One request a provider sends, and how it is expected to end."""

    provider: str
    key: str  # provider_message_id
    headers: dict[str, str]
    body: bytes
    expect: str  # processed | analyzed (processed, then triaged) | rejected | duplicate
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def webhook_url(base_url: str, provider: str) -> str:
    """The public URL a provider calls (and signs): <ApiUrl>v1/webhooks/<provider>."""
    return f"{base_url.rstrip('/')}/v1/webhooks/{provider}"


@dataclass(frozen=True)
class Signer:
    """Signs requests for every provider with its secret, for one deployed API."""

    secrets: Secrets
    base_url: str

    def provider(self, name: str) -> Provider:
        return discover()[name]

    def signed(self, name: str, key: str, **kw: Any) -> tuple[dict[str, str], bytes]:
        return self.provider(name).sample_request(
            secret=self.secrets[name],
            url=webhook_url(self.base_url, name),
            provider_message_id=key,
            **kw,
        )

    def resign(self, name: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """Headers that sign `body` correctly, so that only its parsing can fail."""
        return self.provider(name).sign(
            secret=self.secrets[name],
            url=webhook_url(self.base_url, name),
            body=body,
            headers=headers,
        )


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def smoke(signer: Signer, providers: list[str], *, analyzed: bool = True) -> list[Webhook]:
    """One correctly signed webhook per provider (with `analyzed`, the first one's text must
    also come back analyzed by triage: the whole event path), and one badly signed one."""
    run = run_id()
    hooks = [
        Webhook(
            name,
            f"{name}-{run}-smoke",
            *signer.signed(name, f"{name}-{run}-smoke"),
            "analyzed" if analyzed and n == 0 else "processed",
        )
        for n, name in enumerate(providers)
    ]
    name = providers[0]
    key = f"{name}-{run}-badsig"
    headers, body = signer.signed(name, key)
    hooks.append(Webhook(name, key, headers, body.replace(b"Hello", b"Jello"), "rejected"))
    return hooks


def acceptance(signer: Signer, providers: list[str], valid: int = 2) -> list[Webhook]:
    """Valid, duplicate, bad signature, stale timestamp and malformed webhooks per provider:
    what can be tried against real AWS without injecting faults."""
    hooks: list[Webhook] = []
    for name in providers:
        run = run_id()
        add = hooks.append
        for n in range(valid):
            key = f"{name}-{run}-valid-{n}"
            add(Webhook(name, key, *signer.signed(name, key), expect="processed"))
        key = f"{name}-{run}-dup"
        headers, body = signer.signed(name, key)
        add(Webhook(name, key, headers, body, "processed"))
        add(Webhook(name, key, headers, body, "duplicate"))
        key = f"{name}-{run}-badsig"
        headers, body = signer.signed(name, key)
        add(Webhook(name, key, headers, body.replace(b"Hello", b"Jello"), "rejected"))
        if name in ("slack", "generic"):  # the providers that sign a timestamp
            key = f"{name}-{run}-stale"
            old = datetime.now(UTC) - timedelta(minutes=10)
            add(Webhook(name, key, *signer.signed(name, key, now=old), expect="rejected"))
        key = f"{name}-{run}-malformed"
        headers, _ = signer.signed(name, key)
        bad = b"{not json" if "json" in headers["Content-Type"] else b"Body=x"
        add(Webhook(name, key, signer.resign(name, headers, bad), bad, "rejected"))
    return hooks


def load(signer: Signer, providers: list[str], count: int) -> list[Webhook]:
    """`count` valid webhooks spread over the providers."""
    run = run_id()
    hooks = []
    for n in range(count):
        name = providers[n % len(providers)]
        key = f"{name}-{run}-load-{n}"
        hooks.append(Webhook(name, key, *signer.signed(name, key), expect="processed"))
    return hooks


@dataclass(frozen=True)
class Handshake:
    """A subscription check a provider makes before it sends anything (Meta's GET), and the
    answer it needs: the challenge echoed for the right token, a refusal for a wrong one."""

    provider: str
    query: dict[str, str]
    expect_challenge: str | None  # None: must be refused


def handshakes(signer: Signer, providers: list[str]) -> list[Handshake]:
    """Meta's verification request (hub.mode, hub.verify_token, hub.challenge), per the
    WhatsApp Cloud API webhook docs, for each provider that subscribes that way."""
    checks = []
    for name in providers:
        if signer.provider(name).handshake != "meta-verify-get":
            continue
        token = signer.secrets[name].get("verify_token", "")
        challenge = run_id()
        for sent_token, expected in ((token, challenge), (token + "-wrong", None)):
            query = {
                "hub.mode": "subscribe",
                "hub.verify_token": sent_token,
                "hub.challenge": challenge,
            }
            checks.append(Handshake(name, query, expected))
    return checks
