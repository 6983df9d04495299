"""`make preflight` against stubbed AWS clients (botocore Stubber, no network): a passing
deployment, each class of problem, unusable credentials for one account, and no credentials."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from config.loading import load_config
from pipeline.bootstrap.accounts import CredentialsError, NoCredentials
from pipeline.preflight import checks, main
from services.inbound.providers import discover
from tests.support.synth import cdk_json_context

TOOLCHAIN, REGION = "111111111111", "eu-west-1"
WORKLOADS = ("222222222222", "333333333333", "444444444444")
CONNECTION = cdk_json_context()["deployment"]["source"]["connection_arn"]
PROVIDERS = list(discover())


def policy_arns(account: str) -> str:
    if account == TOOLCHAIN:
        return f"arn:aws:iam::{account}:policy/MessagingPlatformCfnExecutionToolchain"
    return ",".join(
        f"arn:aws:iam::{account}:policy/MessagingPlatformCfnExecutionWorkload{n}" for n in ("", "2")
    )


class Stubbed:
    """Stubbed clients per (account, service, region); unknown accounts have no credentials."""

    def __init__(self) -> None:
        self.stubs: dict[tuple[str, str, str], tuple[Any, Stubber]] = {}
        self.broken: dict[str, CredentialsError] = {}

    def stub(self, account: str, service: str, region: str = REGION) -> Stubber:
        key = (account, service, region)
        if key not in self.stubs:
            client = boto3.client(
                service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
            )
            self.stubs[key] = (client, Stubber(client))
            self.stubs[key][1].activate()
        return self.stubs[key][1]

    def client(self, account: str, service: str, region: str) -> Any:
        if account in self.broken:
            raise self.broken[account]
        return self.stubs[(account, service, region)][0]

    def verify(self) -> None:
        for _, stub in self.stubs.values():
            stub.assert_no_pending_responses()


def quota(name: str, value: float) -> dict[str, Any]:
    return {"QuotaName": f"Concurrently running builds for {name} environment", "Value": value}


def passing(**override: Any) -> Stubbed:
    """Every check met, unless `override` swaps one response for an error or another value."""
    s = Stubbed()
    s.stub(TOOLCHAIN, "codeconnections").add_response(
        "get_connection",
        override.get("connection", {"Connection": {"ConnectionStatus": "AVAILABLE"}}),
        {"ConnectionArn": CONNECTION},
    )
    s.stub(TOOLCHAIN, "service-quotas").add_response(
        "list_service_quotas",
        {"Quotas": override.get("quotas", [quota("Linux/Small", 20), quota("Linux/Medium", 20)])},
        {"ServiceCode": "codebuild"},
    )
    if "default_quotas" in override:
        s.stub(TOOLCHAIN, "service-quotas").add_response(
            "list_aws_default_service_quotas", {"Quotas": override["default_quotas"]}
        )
    if "approver" in override:
        s.stub(TOOLCHAIN, "iam").add_client_error("get_role", **override["approver"])
    else:
        s.stub(TOOLCHAIN, "iam").add_response(
            "get_role",
            {
                "Role": {
                    "Path": "/", "RoleName": "ReleaseManagers", "RoleId": "AROAEXAMPLEEXAMPLE1",
                    "Arn": f"arn:aws:iam::{TOOLCHAIN}:role/ReleaseManagers",
                    "CreateDate": "2025-01-01T00:00:00Z",
                }
            },
            {"RoleName": "ReleaseManagers"},
        )  # fmt: skip
    for account in (TOOLCHAIN, *WORKLOADS):
        parameters = [{"ParameterKey": "CloudFormationExecutionPolicies",
                       "ParameterValue": policy_arns(account)}]  # fmt: skip
        if account != TOOLCHAIN:
            parameters.append({"ParameterKey": "TrustedAccounts", "ParameterValue": TOOLCHAIN})
        stack = {
            "StackName": "CDKToolkit", "CreationTime": "2025-01-01T00:00:00Z",
            "StackStatus": "UPDATE_COMPLETE", "Parameters": parameters,
        }  # fmt: skip
        override_stack = override.get("stack", {}).get(account)
        if override_stack == "missing":
            s.stub(account, "cloudformation").add_client_error(
                "describe_stacks", "ValidationError", "Stack with id CDKToolkit does not exist"
            )
        else:
            s.stub(account, "cloudformation").add_response(
                "describe_stacks",
                {"Stacks": [{**stack, **(override_stack or {})}]},
                {"StackName": "CDKToolkit"},
            )
    for account in WORKLOADS:
        for provider in PROVIDERS:
            name = f"messaging/webhooks/{provider}"
            if (account, provider) in override.get("missing_secrets", ()):
                s.stub(account, "secretsmanager").add_client_error(
                    "describe_secret", "ResourceNotFoundException"
                )
            else:
                s.stub(account, "secretsmanager").add_response(
                    "describe_secret", {"Name": name}, {"SecretId": name}
                )
    return s


def run(stubbed: Stubbed, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main([], clients=stubbed)
    out = capsys.readouterr()
    return code, [line for line in out.out.splitlines() if line.startswith("preflight: ")]


def test_every_prerequisite_met_passes(capsys: pytest.CaptureFixture[str]) -> None:
    stubbed = passing()
    code, lines = run(stubbed, capsys)
    assert (code, lines) == (0, ["preflight: all 19 checks passed in 4 account(s)"])
    stubbed.verify()


def test_a_missing_provider_secret_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(passing(missing_secrets={("333333333333", "slack")}), capsys)
    assert code == 1
    assert lines == [
        "preflight: 333333333333 eu-west-1: secret messaging/webhooks/slack not found: "
        "create it before the first deployment"
    ]


def test_a_missing_approver_role_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(passing(approver={"service_error_code": "NoSuchEntity"}), capsys)
    assert (code, lines) == (
        1,
        [
            "preflight: 111111111111 eu-west-1: approver role "
            "arn:aws:iam::111111111111:role/ReleaseManagers does not exist"
        ],
    )


def test_a_pending_connection_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(passing(connection={"Connection": {"ConnectionStatus": "PENDING"}}), capsys)
    assert code == 1
    assert lines == [
        "preflight: 111111111111 eu-west-1: connection is PENDING: finish the handshake in the "
        "console (Settings)"
    ]


def test_a_codebuild_quota_of_one_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # A new account lists only the Small quota as applied; Medium comes from the defaults.
    code, lines = run(
        passing(quotas=[quota("Linux/Small", 20)], default_quotas=[quota("Linux/Medium", 1)]),
        capsys,
    )
    assert code == 1
    assert lines == [
        "preflight: 111111111111 eu-west-1: CodeBuild quota 'Concurrently running builds for "
        "Linux/Medium environment' is 1: request an increase (Service Quotas, AWS CodeBuild), "
        "or the pipeline's builds run one at a time"
    ]


def test_bootstrap_problems_are_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    stacks = {
        "222222222222": "missing",
        "333333333333": {
            "Parameters": [
                {
                    "ParameterKey": "CloudFormationExecutionPolicies",
                    "ParameterValue": "arn:aws:iam::aws:policy/AdministratorAccess",
                },
                {"ParameterKey": "TrustedAccounts", "ParameterValue": ""},
            ]
        },
        "444444444444": {"StackStatus": "UPDATE_ROLLBACK_COMPLETE"},
    }
    code, lines = run(passing(stack=stacks), capsys)
    assert code == 1
    arn = "arn:aws:iam::333333333333:policy/MessagingPlatformCfnExecutionWorkload"
    assert lines == [
        "preflight: 222222222222 eu-west-1: CDKToolkit stack not found: run make bootstrap",
        f"preflight: 333333333333 eu-west-1: CDKToolkit does not attach {arn}: run make bootstrap",
        f"preflight: 333333333333 eu-west-1: CDKToolkit does not attach {arn}2: run make bootstrap",
        "preflight: 333333333333 eu-west-1: CDKToolkit does not trust account 111111111111: "
        "run make bootstrap",
        "preflight: 444444444444 eu-west-1: CDKToolkit stack is UPDATE_ROLLBACK_COMPLETE",
    ]


def test_credentials_of_another_account_skip_that_account_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stubbed = passing()
    stubbed.broken["444444444444"] = CredentialsError(
        "account 444444444444: the credentials belong to account 111111111111; pass "
        "--profile 444444444444=<profile> or --assume-role <name>"
    )
    code, lines = run(stubbed, capsys)
    assert code == 1
    assert lines == [
        "preflight: 444444444444: cannot check: account 444444444444: the credentials belong to "
        "account 111111111111; pass --profile 444444444444=<profile> or --assume-role <name>"
    ]


class NoCredentialsAtAll:
    def client(self, account: str, service: str, region: str) -> Any:
        raise NoCredentials("no AWS credentials found")


def test_without_credentials_it_prints_the_checklist_and_one_error_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([], clients=NoCredentialsAtAll()) == 2
    out = capsys.readouterr()
    assert out.err.count("\n") == 1
    assert out.err.startswith("preflight: no AWS credentials found; nothing was checked")
    checklist = out.out.splitlines()
    assert len(checklist) == 1 + len(checks(load_config(cdk_json_context()), PROVIDERS))
    assert "  [ ] 222222222222 eu-west-1: secret messaging/webhooks/twilio exists" in checklist
    assert "Traceback" not in out.err


def test_a_bad_profile_mapping_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--profile", "222222222222"], clients=NoCredentialsAtAll()) == 2
    assert capsys.readouterr().err == (
        "preflight: --profile '222222222222': expected ACCOUNT=PROFILE (12-digit account)\n"
    )
