"""Platform-PlaintextSecret: no secret-looking literal in any synthesized resource property."""

# detect-secrets' token detectors (AWS, Slack, Stripe, Twilio, private keys, JWT, GitHub, ...) run
# on every string literal; its entropy detectors only on values meant to carry data (VALUE_PATHS).

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin

from policies.rules.base import Resource, Result, Rule

# Not secrets: an IP address is not a credential, and the keyword detector flags the project's
# own names (SECRET_NAME = "messaging/webhooks/slack") rather than values.
SKIPPED = frozenset({"Public IP (ipv4)", "Secret Keyword"})
# Entropy only where a literal is data: asset hashes, logical ids, ARNs, IAM actions and
# generated names elsewhere in a template are high-entropy by construction, never secrets.
VALUE_PATHS = (
    re.compile(r"^Environment/Variables/[^/]+$"),  # Lambda
    re.compile(r"^Value$"),  # SSM parameter
    re.compile(r"^SecretString$"),  # a secret's literal value is plaintext in the template
    re.compile(r"^(DefinitionSubstitutions|Parameters)/[^/]+$"),  # Step Functions, ...
)
NOT_DATA = re.compile(r"^(arn:|\$\{|https?://[^@]*$)")


@cache
def _detectors() -> tuple[tuple[BasePlugin, ...], tuple[BasePlugin, ...]]:
    """(token detectors, entropy detectors), each instantiated once with its default limits."""
    tokens: list[BasePlugin] = []
    entropy: list[BasePlugin] = []
    plugins: Mapping[str, type[BasePlugin]] = get_mapping_from_secret_type_to_class()
    for name, plugin in plugins.items():
        if name in SKIPPED:
            continue
        (entropy if issubclass(plugin, HighEntropyStringsPlugin) else tokens).append(plugin())
    return tuple(tokens), tuple(entropy)


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}/{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}/{index}")


def secret_types(path: str, value: str) -> set[str]:
    """The detect-secrets types that flag `value`, found at property path `path`."""
    found = set(_token_types(value))
    if any(r.match(path) for r in VALUE_PATHS) and not NOT_DATA.match(value):
        found |= _entropy_types(value)
    return found


# A template repeats its literals (names, ARNs, actions, and each Stage repeats the others), and
# a detector's verdict depends on the string alone: each distinct string is scanned once per run.
@cache
def _token_types(value: str) -> frozenset[str]:
    tokens, _ = _detectors()
    return frozenset(
        p.secret_type for p in tokens if p.analyze_line(filename="template", line=value)
    )


@cache
def _entropy_types(value: str) -> frozenset[str]:
    _, entropy = _detectors()
    line = f'"{value}"'  # entropy detectors look at quoted strings
    return frozenset(
        p.secret_type for p in entropy if p.analyze_line(filename="template", line=line)
    )


class PlaintextSecret(Rule):
    id = "PlaintextSecret"
    info = "A resource property holds a literal that looks like a secret."
    explanation = (
        "Template literals are readable by anyone who can read the stack or the cloud assembly; "
        "keep the secret in Secrets Manager and pass its name or ARN instead."
    )

    def check(self, resource: Resource) -> Result:
        findings = sorted(
            f"{path}::{kind}"
            for path, value in _strings(resource.properties)
            for kind in secret_types(path, value)
        )
        return findings
