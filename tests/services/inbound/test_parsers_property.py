"""Property tests: arbitrary bodies and headers never escape a provider or the batch; each
record is either canonical or rejected."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.inbound.providers import discover
from services.inbound.providers.base import InboundRequest, ParsedMessage, Rejected
from tests.support.inbound import PROVIDERS, SECRETS

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def request(provider: str, body: bytes, headers: dict[str, str]) -> InboundRequest:
    return InboundRequest(
        provider=provider,
        body=body,
        headers={k.lower(): v for k, v in headers.items()},
        url="https://example.test/live/v1/webhooks/" + provider,
        request_id="r",
        received_at=datetime.now(UTC),
    )


@pytest.mark.parametrize("provider", PROVIDERS)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=400) | json_like.map(lambda v: __import__("json").dumps(v).encode()),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "X-Twilio-Signature",
                "X-Hub-Signature-256",
                "X-Slack-Signature",
                "X-Slack-Request-Timestamp",
                "X-Signature",
                "X-Timestamp",
            ]
        ),
        st.text(max_size=80),
        max_size=4,
    ),
)
def test_arbitrary_input_is_parsed_or_rejected_never_raised(
    provider: str, body: bytes, headers: dict[str, str]
) -> None:
    p = discover()[provider]
    r = request(provider, body, headers)
    verdict = None
    try:
        p.verify(r, SECRETS[provider], datetime.now(UTC))
    except Rejected as rejection:
        verdict = rejection.reason
    assert verdict in (None, "invalid_signature", "stale_timestamp", "malformed")
    parsed: list[ParsedMessage] = []
    try:
        parsed = p.parse(r)
    except Rejected as rejection:
        verdict = rejection.reason
    else:
        verdict = None
    assert verdict in (None, "malformed", "unsupported")
    assert all(isinstance(m, ParsedMessage) and m.provider_message_id for m in parsed)


@pytest.mark.parametrize("provider", PROVIDERS)
@settings(max_examples=60, deadline=None)
@given(
    text=st.text(min_size=1, max_size=300),
    message_id=st.from_regex(r"[A-Za-z0-9_.:-]{1,40}", fullmatch=True),
)
def test_signed_samples_always_verify_and_round_trip(
    provider: str, text: str, message_id: str
) -> None:
    p = discover()[provider]
    headers, body = p.sample_request(
        secret=SECRETS[provider],
        url="https://example.test/x",
        provider_message_id=message_id,
        text=text,
    )
    r = InboundRequest(
        provider,
        body,
        {k.lower(): v for k, v in headers.items()},
        "https://example.test/x",
        "r",
        datetime.now(UTC),
    )
    p.verify(r, SECRETS[provider], datetime.now(UTC))
    (message,) = p.parse(r)
    assert message.provider_message_id == message_id
    assert message.text == text
