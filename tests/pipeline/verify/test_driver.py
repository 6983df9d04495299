"""The post-deploy driver's edges: outputs from the environment, the HTTP transport, the CLI."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from pipeline.verify.__main__ import main
from pipeline.verify.outputs import StageOutputs, VerifyError
from pipeline.verify.plan import Webhook
from pipeline.verify.transport import HttpTransport

OUTPUTS = {
    "CFN_ApiUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/live/",
    "CFN_AuditTable": "audit",
    "CFN_TwilioSecretName": "messaging/webhooks/twilio",  # pragma: allowlist secret - a name
    "CFN_TwilioDeadLetterQueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/dlq",
    "CFN_VerificationRoleArn": "arn:aws:iam::222222222222:role/verify",
}


def test_outputs_come_from_cfn_environment_variables() -> None:
    stage = StageOutputs.from_environment(OUTPUTS)
    assert stage.api_url.endswith("/live/")
    assert set(stage.providers) == {"twilio"}
    twilio = stage.providers["twilio"]
    assert twilio.secret_name == OUTPUTS["CFN_TwilioSecretName"]
    assert stage.verification_role_arn.endswith(":role/verify")


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("CFN_ApiUrl", "CFN_ApiUrl"),
        ("CFN_TwilioDeadLetterQueueUrl", "CFN_TwilioDeadLetterQueueUrl"),
    ],
)
def test_a_missing_output_is_named(missing: str, named: str) -> None:
    environ = {k: v for k, v in OUTPUTS.items() if k != missing}
    with pytest.raises(VerifyError, match=f"missing stack output {named}"):
        StageOutputs.from_environment(environ)


class _Flaky(BaseHTTPRequestHandler):
    """503 twice, then 200 with a request id; records every request."""

    seen: list[str] = []  # noqa: RUF012 - test double state

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        _Flaky.seen.append(self.path)
        status = 503 if len(_Flaky.seen) <= 2 else (400 if "bad" in self.path else 200)
        self.send_response(status)
        self.send_header("X-Request-Id", f"req-{len(_Flaky.seen)}")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Flaky.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/live/"
    httpd.shutdown()


def hook(provider: str) -> Webhook:
    return Webhook(provider, "k", {"Content-Type": "application/json"}, b"{}", "processed")


def test_5xx_is_retried_with_backoff_and_the_request_id_returned(server: str) -> None:
    transport = HttpTransport(server, backoff=0.01)
    sent = transport.send(hook("generic"))
    assert (sent.status, sent.request_id) == (200, "req-3")
    assert _Flaky.seen == ["/live/v1/webhooks/generic"] * 3


def test_a_client_error_is_not_retried(server: str) -> None:
    _Flaky.seen = ["x", "y"]  # past the flaky phase
    sent = HttpTransport(server, backoff=0.01).send(hook("bad"))
    assert sent.status == 400
    assert len(_Flaky.seen) == 3


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ValueError, match="HTTPS only"):
        HttpTransport("http://example.com/live/")


def test_cli_names_a_missing_output_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in OUTPUTS:
        monkeypatch.delenv(key, raising=False)
    assert main(["smoke"]) == 2
    assert capsys.readouterr().err == "verify: missing stack output CFN_ApiUrl\n"


def test_cli_without_credentials_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {k: v for k, v in OUTPUTS.items() if k != "CFN_VerificationRoleArn"}
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CFN_VerificationRoleArn", raising=False)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert main(["smoke"]) == 2
    assert "no AWS credentials" in capsys.readouterr().err


def test_outputs_are_read_from_the_stage_stack_as_the_verification_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pipeline sets STAGE_STACK, STAGE_REGION and VERIFICATION_ROLE_ARN; the driver
    assumes the role in the Stage's region, then reads that stack's outputs (CFN_* override)."""
    from botocore.stub import Stubber

    import pipeline.verify.__main__ as driver

    calls: list[tuple[str, str | None]] = []

    def session_for(role_arn: str, region: str | None = None) -> boto3.Session:
        calls.append((role_arn, region))
        return boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=region)

    cloudformation = boto3.client(
        "cloudformation", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="y"
    )
    stub = Stubber(cloudformation)
    outputs = {k.removeprefix("CFN_"): v for k, v in OUTPUTS.items()}
    stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "Dev-Messaging",
                    "CreationTime": "2026-11-27T00:00:00Z",
                    "StackStatus": "UPDATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        },
        {"StackName": "Dev-Messaging"},
    )
    monkeypatch.setattr(driver, "session_for", session_for)
    monkeypatch.setattr(boto3.Session, "client", lambda self, name, **kw: cloudformation)
    role = "arn:aws:iam::222222222222:role/Dev-Verification"
    with stub:
        stage, session = driver.stage_from(
            {
                "STAGE_STACK": "Dev-Messaging",
                "STAGE_REGION": "eu-west-2",
                "VERIFICATION_ROLE_ARN": role,
                "CFN_AuditTable": "override",
            }
        )
    assert calls == [(role, "eu-west-2")]
    assert session.region_name == "eu-west-2"
    assert stage.api_url == OUTPUTS["CFN_ApiUrl"]
    assert stage.audit_table == "override"
    assert set(stage.providers) == {"twilio"}


def test_make_verify_runs_the_driver_as_the_verify_step_does() -> None:
    """The Verify steps' own command, with the variables their project sets: here the driver
    gets as far as asking AWS for the Stage's outputs and says, in one line, that it has no
    credentials (a broken target or module would fail before that)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    drop = ("AWS_", "CFN_", "MAKE", "MFLAGS", "STAGE_", "VERIFICATION_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        STAGE_STACK="Dev-Messaging",
        STAGE_REGION="eu-west-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    done = subprocess.run(
        ["make", "--no-print-directory", "verify", "SUITE=smoke"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "verify: no AWS credentials" in done.stderr, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
