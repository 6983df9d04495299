"""The media client against scripted hosts: every hop checked, credentials kept on their host,
bounded in time and size, and the host's own content type recorded."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from services.inbound.providers import discover
from services.inbound.providers.base import MediaPolicy, MediaRef, MediaUnavailable, Transient
from services.inbound.runtime.media import MediaClient, RawResponse, is_public
from tests.support.inbound import SECRETS

PUBLIC_IP = "93.184.216.34"


@dataclass
class Hop:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"media-bytes"


@dataclass
class Hosts:
    """Scripted hosts: URL -> response; records every request (host, path, headers, ip)."""

    routes: dict[str, Hop]
    addresses: dict[str, list[str]] = field(default_factory=dict)
    seen: list[tuple[str, str, dict[str, str], str]] = field(default_factory=list)
    clock: list[float] = field(default_factory=lambda: [0.0])
    seconds_per_read: float = 0.0

    def resolve(self, host: str, port: int) -> list[str]:
        return self.addresses.get(host, [PUBLIC_IP])

    def connect(
        self,
        scheme: str,
        host: str,
        port: int,
        ip: str,
        target: str,
        headers: Mapping[str, str],
        timeout: float,
    ) -> RawResponse:
        self.seen.append((host, target, dict(headers), ip))
        hop = self.routes[f"{scheme}://{host}{target}"]
        remaining = [hop.body]

        def read(n: int) -> bytes:
            self.clock[0] += self.seconds_per_read
            chunk, remaining[0] = remaining[0][:n], remaining[0][n:]
            return chunk

        return RawResponse(
            status=hop.status,
            headers={k.lower(): v for k, v in hop.headers.items()},
            read=read,
            set_timeout=lambda seconds: None,
            close=lambda: None,
        )

    def client(self, **kw: object) -> MediaClient:
        return MediaClient(
            resolver=self.resolve,
            connector=self.connect,
            allow_loopback=False,
            clock=lambda: self.clock[0],
            **kw,  # type: ignore[arg-type]
        )


TWILIO_MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
TWILIO_POLICY = discover()["twilio"].media_policy(SECRETS["twilio"])
AUTH = {"Authorization": "Basic c2VjcmV0"}


def test_twilio_redirect_to_its_cdn_drops_the_credentials() -> None:
    # Media URLs redirect to a short-lived mms.twiliocdn.com URL (HTTP auth enforced) or
    # s3-external-1.amazonaws.com: https://help.twilio.com/articles/223183748
    hosts = Hosts(
        {
            TWILIO_MEDIA: Hop(302, {"Location": "https://mms.twiliocdn.com/AC1/abc?Expires=1"}),
            "https://mms.twiliocdn.com/AC1/abc?Expires=1": Hop(
                200, {"Content-Type": "image/png; charset=binary"}, b"png"
            ),
        }
    )
    body, content_type = hosts.client().get(TWILIO_MEDIA, AUTH, policy=TWILIO_POLICY)
    assert (body, content_type) == (b"png", "image/png")
    (api, cdn) = hosts.seen
    assert api[2] == AUTH
    assert "Authorization" not in cdn[2]


def test_redirect_to_a_host_off_the_allow_list_is_refused() -> None:
    hosts = Hosts({TWILIO_MEDIA: Hop(302, {"Location": "https://attacker.example/steal"})})
    with pytest.raises(MediaUnavailable, match="not allowed"):
        hosts.client().get(TWILIO_MEDIA, AUTH, policy=TWILIO_POLICY)
    assert [h for h, *_ in hosts.seen] == ["api.twilio.com"]


def test_redirect_to_plain_http_is_refused() -> None:
    hosts = Hosts({TWILIO_MEDIA: Hop(301, {"Location": "http://mms.twiliocdn.com/x"})})
    with pytest.raises(MediaUnavailable, match="over 'http'"):
        hosts.client().get(TWILIO_MEDIA, AUTH, policy=TWILIO_POLICY)


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "10.0.0.7",
        "127.0.0.1",
        "192.168.1.1",
        "::1",
        "::ffff:127.0.0.1",
        "fe80::1",
    ],
)
def test_hosts_resolving_to_non_public_addresses_are_refused(address: str) -> None:
    hosts = Hosts(
        {TWILIO_MEDIA: Hop(302, {"Location": "https://mms.twiliocdn.com/x"})},
        addresses={"mms.twiliocdn.com": [PUBLIC_IP, address]},
    )
    with pytest.raises(MediaUnavailable, match="non-public"):
        hosts.client().get(TWILIO_MEDIA, AUTH, policy=TWILIO_POLICY)
    assert not is_public(address)
    assert is_public(PUBLIC_IP)


def test_the_connection_goes_to_the_checked_address() -> None:
    hosts = Hosts({TWILIO_MEDIA: Hop()}, addresses={"api.twilio.com": ["8.8.4.4"]})
    hosts.client().get(TWILIO_MEDIA, AUTH, policy=TWILIO_POLICY)
    assert hosts.seen[0][3] == "8.8.4.4"


def test_without_a_policy_nothing_is_fetched() -> None:
    hosts = Hosts({TWILIO_MEDIA: Hop()})
    with pytest.raises(MediaUnavailable):
        hosts.client().get(TWILIO_MEDIA, AUTH)
    assert hosts.seen == []


def test_slack_bot_token_goes_only_to_slack_file_hosts() -> None:
    slack = discover()["slack"]
    url = "https://files.slack.com/files-pri/T1-F1/a.png"
    hosts = Hosts(
        {
            url: Hop(302, {"Location": "https://cdn.attacker.example/a.png"}),
            "https://evil.example/a.png": Hop(),
        }
    )
    with pytest.raises(MediaUnavailable):
        slack.fetch_media(MediaRef(url, "image/png"), SECRETS["slack"], hosts.client())
    with pytest.raises(MediaUnavailable):
        slack.fetch_media(MediaRef("https://evil.example/a.png"), SECRETS["slack"], hosts.client())
    tokens = [h for h, _, headers, _ in hosts.seen if "xoxb" in headers.get("Authorization", "")]
    assert tokens == ["files.slack.com"]


def test_whatsapp_media_url_comes_from_the_graph_api_and_keeps_the_token() -> None:
    # GET /<MEDIA_ID> -> {"url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=…"}
    # then an authenticated GET of that URL: https://dualhook.com/docs/media-upload
    secret = {"access_token": "meta-token", "app_secret": "x"}
    lookaside = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=3"
    hosts = Hosts(
        {
            "https://graph.facebook.com/v21.0/1037543291543636": Hop(
                200, {"Content-Type": "application/json"}, f'{{"url": "{lookaside}"}}'.encode()
            ),
            lookaside: Hop(200, {"Content-Type": "audio/ogg"}, b"ogg"),
        }
    )
    whatsapp = discover()["whatsapp"]
    body, content_type = whatsapp.fetch_media(
        MediaRef("1037543291543636", "audio/ogg; codecs=opus"), secret, hosts.client()
    )
    assert (body, content_type) == (b"ogg", "audio/ogg")
    assert all(h[2]["Authorization"] == "Bearer meta-token" for h in hosts.seen)


def test_size_cap_by_content_length_and_by_bytes_read() -> None:
    hosts = Hosts(
        {
            TWILIO_MEDIA: Hop(200, {"Content-Length": "2048"}, b"x" * 2048),
            "https://api.twilio.com/big": Hop(200, {}, b"x" * 2048),
        }
    )
    with pytest.raises(MediaUnavailable, match="over 1024"):
        hosts.client(max_bytes=1024).get(TWILIO_MEDIA, AUTH, policy=TWILIO_POLICY)
    with pytest.raises(MediaUnavailable, match="larger than 1024"):
        hosts.client(max_bytes=1024).get("https://api.twilio.com/big", AUTH, policy=TWILIO_POLICY)


def test_one_deadline_bounds_the_whole_attachment() -> None:
    hosts = Hosts({TWILIO_MEDIA: Hop(200, {}, b"x" * (64 * 1024 * 10))}, seconds_per_read=2.0)
    with pytest.raises(Transient, match="out of time"):
        hosts.client(attachment_seconds=5).get(TWILIO_MEDIA, AUTH, policy=TWILIO_POLICY)
    # An earlier invocation deadline wins over the per-attachment one.
    hosts = Hosts({TWILIO_MEDIA: Hop()})
    with pytest.raises(Transient, match="out of time"):
        hosts.client().get(TWILIO_MEDIA, AUTH, policy=TWILIO_POLICY, deadline=-1.0)


@pytest.mark.parametrize(
    ("status", "error"), [(503, Transient), (429, Transient), (404, MediaUnavailable)]
)
def test_retryable_and_permanent_statuses(status: int, error: type[Exception]) -> None:
    hosts = Hosts({TWILIO_MEDIA: Hop(status)})
    with pytest.raises(error):
        hosts.client().get(TWILIO_MEDIA, AUTH, policy=TWILIO_POLICY)


def test_redirect_loops_end() -> None:
    hosts = Hosts({TWILIO_MEDIA: Hop(302, {"Location": TWILIO_MEDIA})})
    with pytest.raises(MediaUnavailable, match="redirects"):
        hosts.client().get(TWILIO_MEDIA, AUTH, policy=TWILIO_POLICY)


def test_policy_patterns() -> None:
    policy = MediaPolicy(hosts=("*.twiliocdn.com",), credential_hosts=("api.twilio.com",))
    assert policy.allows("mms.twiliocdn.com")
    assert not policy.allows("twiliocdn.com.attacker.example")
    assert not policy.allows("eviltwiliocdn.com")
    assert policy.sends_credentials("API.TWILIO.COM")
    assert not policy.sends_credentials("mms.twiliocdn.com")


def test_basic_auth_is_the_account_sid_and_token() -> None:
    hosts = Hosts({TWILIO_MEDIA: Hop()})
    discover()["twilio"].fetch_media(MediaRef(TWILIO_MEDIA), SECRETS["twilio"], hosts.client())
    sent = hosts.seen[0][2]["Authorization"]
    sid, token = base64.b64decode(sent.split()[1]).decode().split(":")
    assert (sid, token) == (SECRETS["twilio"]["account_sid"], SECRETS["twilio"]["auth_token"])
