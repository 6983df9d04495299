"""Providers against their published behaviour: the official SDKs' test vectors and the payload
shapes in the providers' webhook references (each test cites its source)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from services.inbound.providers import discover
from services.inbound.providers.base import InboundRequest, Rejected
from services.inbound.providers.twilio import signature

# -- Twilio ---------------------------------------------------------------------------------------
# Vectors from twilio/twilio-python tests/unit/test_request_validator.py (ValidationTest.setUp).
TWILIO_TOKEN = {"auth_token": "12345", "account_sid": "AC" + "0" * 32}
TWILIO_URI = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
TWILIO_EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def _request(
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
    url: str = "https://example.test/v1/webhooks/x",
    received_at: datetime | None = None,
) -> InboundRequest:
    return InboundRequest(
        provider=provider,
        body=body,
        headers={k.lower(): v for k, v in headers.items()},
        url=url,
        request_id="r",
        received_at=received_at or datetime.now(UTC),
    )


def _twilio(url: str, body: bytes, sig: str, content_type: str = "") -> InboundRequest:
    return _request(
        "twilio",
        body,
        {
            "X-Twilio-Signature": sig,
            "Content-Type": content_type or "application/x-www-form-urlencoded",
        },
        url=url,
    )


def test_twilio_signature_matches_the_sdk_vector() -> None:
    # twilio-python test_compute_signature
    assert signature("12345", TWILIO_URI, TWILIO_PARAMS.items()) == TWILIO_EXPECTED


def test_twilio_verifies_a_url_with_its_query_string() -> None:
    # test_validation: the signed URL keeps ?foo=1&bar=2
    body = urlencode(TWILIO_PARAMS).encode()
    discover()["twilio"].verify(_twilio(TWILIO_URI, body, TWILIO_EXPECTED), TWILIO_TOKEN, _now())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # test_validation_removes_port_on_https
        (TWILIO_URI.replace(".com", ".com:1234"), TWILIO_EXPECTED),
        # test_validation_removes_port_on_http ("hash of http uri with port 1234")
        (
            TWILIO_URI.replace(".com", ".com:1234").replace("https", "http"),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
        # test_validation_adds_port_on_https ("hash of uri with port 443")
        (TWILIO_URI, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        # test_validation_adds_port_on_http ("hash of uri with port 80")
        (TWILIO_URI.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),
    ],
)
def test_twilio_accepts_the_url_with_and_without_the_default_port(url: str, expected: str) -> None:
    body = urlencode(TWILIO_PARAMS).encode()
    discover()["twilio"].verify(_twilio(url, body, expected), TWILIO_TOKEN, _now())


def test_twilio_signs_repeated_form_keys_like_the_sdk() -> None:
    # test_compute_signature_duplicate_multi_dict / _query_dict: Digits=5678&Digits=1234
    body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"
    request = _twilio(TWILIO_URI, body, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    discover()["twilio"].verify(request, TWILIO_TOKEN, _now())


def test_twilio_json_webhook_is_verified_by_body_sha256() -> None:
    # test_validation_of_body_succeeds: URL + &bodySHA256=<sha256 hex of the body>
    body = b'{"property": "value", "boolean": true}'
    body_hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    url = TWILIO_URI + "&bodySHA256=" + body_hash
    twilio = discover()["twilio"]
    request = _twilio(url, body, "a9nBmqA0ju/hNViExpshrM61xv4=", "application/json")
    twilio.verify(request, TWILIO_TOKEN, _now())
    assert twilio.parse(request) == []  # authentic, but not an inbound SMS/MMS
    tampered = _twilio(
        url, body.replace(b"value", b"other"), "a9nBmqA0ju/hNViExpshrM61xv4=", "application/json"
    )
    with pytest.raises(Rejected, match="bodySHA256"):
        twilio.verify(tampered, TWILIO_TOKEN, _now())


@pytest.mark.parametrize("status", ["queued", "sent", "delivered", "undelivered", "failed"])
def test_twilio_status_callback_is_a_receipt_not_a_message(status: str) -> None:
    # Status callback parameters (MessageStatus, SmsStatus, no Body):
    # https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
    params = {
        "AccountSid": "AC" + "0" * 32,
        "From": "+15017122661",
        "To": "+15558675310",
        "MessageSid": "SM" + "1" * 32,
        "SmsSid": "SM" + "1" * 32,
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
    }
    request = _twilio(TWILIO_URI, urlencode(params).encode(), "")
    assert discover()["twilio"].parse(request) == []


# -- Slack ----------------------------------------------------------------------------------------
# Vector from slackapi/python-slack-sdk tests/slack_sdk/signature/test_signature_verifier.py,
# itself from https://docs.slack.dev/authentication/verifying-requests-from-slack/
SLACK_SECRET = {"signing_secret": "8f742231b10e8888abcd99yyyzzz85a5", "bot_token": "xoxb-x"}
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977008"
    b"85554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c44"
    b"7fce8b6703c"
)
SLACK_TIMESTAMP = "1531420618"
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_slack_signature_matches_the_sdk_vector_at_receive_time() -> None:
    headers = {"X-Slack-Request-Timestamp": SLACK_TIMESTAMP, "X-Slack-Signature": SLACK_SIGNATURE}
    received = datetime.fromtimestamp(int(SLACK_TIMESTAMP) + 60, tz=UTC)
    request = _request("slack", SLACK_BODY, headers, received_at=received)
    discover()["slack"].verify(request, SLACK_SECRET, received)
    tampered = _request("slack", SLACK_BODY + b"------", headers, received_at=received)
    with pytest.raises(Rejected, match="does not match"):
        discover()["slack"].verify(tampered, SLACK_SECRET, received)


def _slack_signed(payload: dict[str, Any], *, raw: bytes | None = None) -> InboundRequest:
    body = raw if raw is not None else json.dumps(payload).encode()
    ts = str(int(_now().timestamp()))
    headers = discover()["slack"].sign(
        secret=SLACK_SECRET,
        url="https://example.test/x",
        body=body,
        headers={"X-Slack-Request-Timestamp": ts, "Content-Type": "application/json"},
    )
    return _request("slack", body, headers)


def test_slack_url_verification_is_recognised_by_its_type_not_a_substring() -> None:
    # https://api.slack.com/events/url_verification: {"token", "challenge", "type"}
    slack = discover()["slack"]
    handshake = _slack_signed(
        {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1a", "type": "url_verification"}
    )
    slack.verify(handshake, SLACK_SECRET, _now())
    assert slack.parse(handshake) == []
    message = _slack_message({"text": 'my bot said "type":"url_verification" again'})
    (parsed,) = slack.parse(_slack_signed(message))
    assert parsed.text is not None
    assert "url_verification" in parsed.text


def _slack_message(extra: dict[str, Any]) -> dict[str, Any]:
    # Event wrapper (https://docs.slack.dev/reference/events/file_shared) around a message event
    return {
        "token": "XXYYZZ",
        "team_id": "T123ABC456",
        "api_app_id": "A123ABC456",
        "event": {
            "type": "message",
            "channel": "C123ABC456",
            "user": "U123ABC456",
            "text": "Hello world",
            "ts": "1355517523.000005",
            **extra,
        },
        "type": "event_callback",
        "event_id": "Ev123ABC456",
        "event_time": 1355517523,
    }


def test_slack_connect_file_without_url_private_keeps_the_message() -> None:
    # Slack Connect files arrive as {"id", "mode": "file_access", "file_access": "check_file_info"}
    # without url_private: https://docs.slack.dev/reference/events/message/file_share
    # ("Slack Connect files"); example payload in https://zenn.dev/straydog/articles/42c4152bf963e3
    files = [
        {
            "id": "F123ABC456",
            "mode": "file_access",
            "file_access": "check_file_info",
            "created": 0,
            "timestamp": 0,
            "user": "",
        },
        {
            "id": "F999",
            "mimetype": "image/png",
            "url_private": "https://files.slack.com/files-pri/T1-F999/a.png",
        },
    ]
    event = _slack_message({"subtype": "file_share", "files": files})
    (parsed,) = discover()["slack"].parse(_slack_signed(event))
    assert parsed.text == "Hello world"
    first, second = parsed.media
    assert first.unavailable == "check_file_info"
    assert second.unavailable is None
    assert second.locator.startswith("https://files.slack.com/")


# -- WhatsApp -------------------------------------------------------------------------------------


def _whatsapp(messages: list[dict[str, Any]], contacts: list[dict[str, Any]]) -> InboundRequest:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            "contacts": contacts,
                            "messages": messages,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    return _request("whatsapp", json.dumps(payload).encode(), {})


def test_whatsapp_user_without_phone_number_is_known_by_bsuid() -> None:
    # Business-scoped user IDs: contacts[].user_id ("US.13491208655302741918"), no phone number
    # in the payload for users with a username:
    # https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/
    contacts = [{"profile": {"name": "Sheena", "username": "@sheena"}, "user_id": "US.1349120"}]
    message = {
        "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
        "timestamp": "1739321024",
        "type": "text",
        "text": {"body": "hi"},
    }
    (parsed,) = discover()["whatsapp"].parse(_whatsapp([message], contacts))
    assert parsed.sender == "US.1349120"
    # ... and messages[].from_user_id when Meta sends it alongside (or instead of) `from`.
    with_field = {**message, "from_user_id": "IN.1410018717833190"}
    (parsed,) = discover()["whatsapp"].parse(_whatsapp([with_field], []))
    assert parsed.sender == "IN.1410018717833190"


@pytest.mark.parametrize(
    ("message", "text"),
    [
        # https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/interactive
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "cancel-button", "title": "Cancel"},
                },
            },
            "Cancel",
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {
                        "id": "priority_express",
                        "title": "Priority Mail Express",
                        "description": "Next Day to 2 Days",
                    },
                },
            },
            "Priority Mail Express",
        ),
        # https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/button/
        (
            {"type": "button", "button": {"payload": "Unsubscribe", "text": "Unsubscribe"}},
            "Unsubscribe",
        ),
    ],
)
def test_whatsapp_interactive_replies_keep_the_choice_as_text(
    message: dict[str, Any], text: str
) -> None:
    full = {
        "context": {"from": "15550783881", "id": "wamid.ctx"},
        "from": "16505551234",
        "id": "wamid.reply",
        "timestamp": "1739321024",
        **message,
    }
    contacts = [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}]
    (parsed,) = discover()["whatsapp"].parse(_whatsapp([full], contacts))
    assert parsed.text == text
    assert parsed.sender == "16505551234"


# -- pathological but signed input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in the json module
        b'{"a":' * 200 + b"1" + b"}" * 200,  # deep, but under the recursion limit
        b'{"type":"event_callback","event_id":NaN}',
        b'{"type":"event_callback","event_id":Infinity}',
        b'{"type":"event_callback","event_time":1e999}',
    ],
)
@pytest.mark.parametrize("provider", ["slack", "whatsapp", "generic"])
def test_pathological_json_is_malformed_not_an_exception(provider: str, body: bytes) -> None:
    with pytest.raises(Rejected) as rejection:
        discover()[provider].parse(_request(provider, body, {}))
    assert rejection.value.reason == "malformed"


def _now() -> datetime:
    return datetime.now(UTC)
