"""The smoke suite's subscription checks: Meta's GET verification (WhatsApp Cloud API webhook
docs: GET ?hub.mode=subscribe&hub.verify_token=<token>&hub.challenge=<n>, answered with the
challenge) for the right token, and a refusal for a wrong one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from pipeline.verify import plan
from pipeline.verify.suites import check_handshakes
from pipeline.verify.transport import HttpTransport

SECRETS = {
    "whatsapp": {"app_secret": "s", "access_token": "t", "verify_token": "meatyhamhock"},
    "twilio": {"auth_token": "a", "account_sid": "AC" + "1" * 32},
}
SIGNER = plan.Signer(SECRETS, "https://api.example.com/live/")


def test_the_smoke_plan_checks_triage_once_and_the_meta_handshake_both_ways() -> None:
    hooks = plan.smoke(SIGNER, ["twilio", "whatsapp"])
    assert [h.expect for h in hooks].count("analyzed") == 1
    # Where no triage workflow runs (the emulator), nothing waits to be analyzed.
    untriaged = plan.smoke(SIGNER, ["twilio", "whatsapp"], analyzed=False)
    assert [h.expect for h in untriaged] == ["processed", "processed", "rejected"]
    checks = plan.handshakes(SIGNER, ["twilio", "whatsapp"])
    assert [c.provider for c in checks] == ["whatsapp", "whatsapp"]
    right, wrong = checks
    assert right.query["hub.verify_token"] == "meatyhamhock"
    assert right.query["hub.mode"] == "subscribe"
    assert right.expect_challenge == right.query["hub.challenge"]
    assert wrong.expect_challenge is None
    assert wrong.query["hub.verify_token"] != "meatyhamhock"


class _Meta(BaseHTTPRequestHandler):
    """Answers like the deployed route: the challenge for the right token, 403 otherwise;
    `broken` answers 503 the way an integration without KMS rights does."""

    broken = False

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        if self.broken:
            self.send_response(503)
            body = b'{"message":"Internal server error"}'
        elif query.get("hub.verify_token") == ["meatyhamhock"]:
            self.send_response(200)
            body = query["hub.challenge"][0].encode()
        else:
            self.send_response(403)
            body = b'{"message":"Forbidden"}'
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Meta)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/live/"
    httpd.shutdown()
    _Meta.broken = False


def test_a_working_handshake_passes(server: str) -> None:
    checks = plan.handshakes(SIGNER, ["whatsapp"])
    assert check_handshakes(HttpTransport(server), checks) == []


def test_a_handshake_the_integration_cannot_run_is_reported(server: str) -> None:
    _Meta.broken = True
    problems = check_handshakes(HttpTransport(server), plan.handshakes(SIGNER, ["whatsapp"]))
    assert len(problems) == 1
    assert problems[0].startswith("whatsapp: handshake answered HTTP 503")


def test_a_handshake_answered_for_any_token_is_reported() -> None:
    class Open:
        def get(self, provider: str, query: dict[str, str]) -> tuple[int, str]:
            return 200, query["hub.challenge"]

    problems = check_handshakes(Open(), plan.handshakes(SIGNER, ["whatsapp"]))
    assert problems == ["whatsapp: handshake answered for a wrong token"]
