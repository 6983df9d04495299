"""`make bootstrap`: the commands per account, idempotent policy versions, credential checks."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from config.loading import load_config
from pipeline.bootstrap import POLICIES, ManagedPolicy, apply, cdk_cli, ensure_policy, main, plan
from pipeline.bootstrap.accounts import CredentialsError
from tests.support.synth import cdk_json_context


def test_bootstrap_prints_the_commands_for_the_example_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        "node_modules/.bin/cdk bootstrap aws://111111111111/eu-west-1 "
        "--cloudformation-execution-policies "
        "arn:aws:iam::111111111111:policy/MessagingPlatformCfnExecutionToolchain" in out
    )
    for account, name in (
        ("222222222222", "dev"),
        ("333333333333", "staging"),
        ("444444444444", "prod"),
    ):
        assert (
            f"node_modules/.bin/cdk bootstrap aws://{account}/eu-west-1 --trust 111111111111 "
            "--trust-for-lookup 111111111111 --cloudformation-execution-policies "
            f"arn:aws:iam::{account}:policy/MessagingPlatformCfnExecutionWorkload,"
            f"arn:aws:iam::{account}:policy/MessagingPlatformCfnExecutionWorkload2"
        ) in out
        assert f"# account {account} ({name}): credentials of" in out
    assert sum(line.startswith("aws iam create-policy ") for line in out) == 1 + 3 * 2
    assert sum("aws iam create-policy-version " in line for line in out) == 1 + 3 * 2
    assert not any(line.startswith("cdk ") for line in out), "never a bare, unpinned cdk"
    assert not any("AdministratorAccess" in line for line in out)


def test_without_node_modules_the_cli_is_npx_of_the_pinned_version(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(
        json.dumps({"devDependencies": {"aws-cdk": "2.1148.1", "cdk-assets": "4.7.3"}})
    )
    assert cdk_cli(tmp_path) == ("npx", "--yes", "aws-cdk@2.1148.1")


def test_every_region_of_a_wave_is_bootstrapped_once_per_account() -> None:
    context = {
        **cdk_json_context(),
        "deployment.environments.prod.additional_regions": ["us-east-1"],
    }
    prod = next(p for p in plan(load_config(context)) if p.account == "444444444444")
    assert [(b.region, b.trust) for b in prod.bootstraps] == [
        ("eu-west-1", "111111111111"),
        ("us-east-1", "111111111111"),
    ]
    assert [p.name for p in prod.policies] == [
        "MessagingPlatformCfnExecutionWorkload",
        "MessagingPlatformCfnExecutionWorkload2",
    ]


def test_a_toolchain_account_that_also_hosts_a_stage_attaches_both_kinds() -> None:
    context = {
        **cdk_json_context(),
        "deployment.allow_toolchain_as_workload_account": True,
        "deployment.environments.dev.account": "111111111111",
        "deployment.environments.dev.region": "eu-central-1",
    }
    toolchain = next(p for p in plan(load_config(context)) if p.account == "111111111111")
    assert toolchain.roles == ["toolchain", "dev"]
    assert [p.kind for p in toolchain.policies] == ["toolchain", "workload", "workload"]
    home, dev = toolchain.bootstraps
    assert (home.region, home.trust, len(home.policy_arns)) == ("eu-west-1", None, 1)
    assert (dev.region, dev.trust, len(dev.policy_arns)) == ("eu-central-1", None, 2)


def test_bad_config_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    context = {**cdk_json_context(), "deployment.toolchain.account": "123"}
    assert main([], context=context) == 2
    assert capsys.readouterr().err.startswith("config error: toolchain.account: '123'")


def test_a_bad_profile_mapping_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--run", "--profile", "dev"]) == 2
    err = capsys.readouterr().err
    assert err == "bootstrap: --profile 'dev': expected ACCOUNT=PROFILE (12-digit account)\n"


POLICY = ManagedPolicy(
    "222222222222", "workload", "MessagingPlatformCfnExecutionWorkload", POLICIES["workload"][0]
)


def iam_stub() -> tuple[Any, Stubber]:
    iam = boto3.client(
        "iam", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return iam, Stubber(iam)


def test_ensure_policy_creates_a_missing_policy() -> None:
    iam, stub = iam_stub()
    stub.add_response(
        "create_policy",
        {"Policy": {"PolicyName": POLICY.name, "Arn": POLICY.arn}},
        {
            "PolicyName": POLICY.name,
            "PolicyDocument": POLICY.path.read_text(),
            "Description": POLICY.description,
        },
    )
    with stub:
        assert ensure_policy(iam, POLICY) == f"created {POLICY.arn}"
    stub.assert_no_pending_responses()


def versions(count: int, default: int) -> list[dict[str, Any]]:
    from datetime import datetime

    return [
        {
            "VersionId": f"v{n}",
            "IsDefaultVersion": n == default,
            "CreateDate": datetime(2025, 1, n, tzinfo=UTC),
        }
        for n in range(1, count + 1)
    ]


def test_ensure_policy_leaves_an_identical_default_version_alone() -> None:
    iam, stub = iam_stub()
    stub.add_client_error("create_policy", service_error_code="EntityAlreadyExists")
    stub.add_response("list_policy_versions", {"Versions": versions(2, default=2)})
    stub.add_response(
        "get_policy_version",
        {"PolicyVersion": {"Document": POLICY.path.read_text(), "VersionId": "v2"}},
        {"PolicyArn": POLICY.arn, "VersionId": "v2"},
    )
    with stub:
        assert ensure_policy(iam, POLICY) == f"unchanged {POLICY.arn} (v2)"
    stub.assert_no_pending_responses()


def test_ensure_policy_adds_a_default_version_pruning_the_oldest_non_default_at_five() -> None:
    iam, stub = iam_stub()
    stub.add_client_error("create_policy", service_error_code="EntityAlreadyExists")
    stub.add_response("list_policy_versions", {"Versions": versions(5, default=1)})
    stub.add_response(
        "get_policy_version",
        {"PolicyVersion": {"Document": '{"Version":"2012-10-17","Statement":[]}'}},
    )
    stub.add_response(
        "delete_policy_version", {}, {"PolicyArn": POLICY.arn, "VersionId": "v2"}
    )  # v1 is the default: v2 is the oldest of the others
    stub.add_response(
        "create_policy_version",
        {"PolicyVersion": {"VersionId": "v6", "IsDefaultVersion": True}},
        {"PolicyArn": POLICY.arn, "PolicyDocument": POLICY.path.read_text(), "SetAsDefault": True},
    )
    with stub:
        message = ensure_policy(iam, POLICY)
    assert message == f"updated {POLICY.arn} to v6, deleted the oldest version v2"
    stub.assert_no_pending_responses()


class WrongAccount:
    """Credentials that belong to another account than the one asked for."""

    def client(self, account: str, service: str, region: str) -> Any:
        raise CredentialsError(f"account {account}: the credentials belong to account 999999999999")

    def environment(self, account: str) -> dict[str, str]:
        raise AssertionError("not reached")


def test_run_stops_at_an_account_whose_credentials_do_not_match(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plans = plan(load_config(cdk_json_context()))
    assert apply(plans, WrongAccount(), ("cdk",), "eu-west-1") == 1  # type: ignore[arg-type]
    captured = capsys.readouterr()
    assert captured.err == (
        "bootstrap: stopped, account 111111111111: the credentials belong to account 999999999999\n"
    )


def test_run_applies_each_account_with_its_own_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[tuple[tuple[str, ...], str]] = []

    class Recorded:
        def client(self, account: str, service: str, region: str) -> Any:
            iam, stub = iam_stub()
            for _ in plan_by_account[account].policies:
                stub.add_response("create_policy", {"Policy": {}})
            stub.activate()
            return iam

        def environment(self, account: str) -> dict[str, str]:
            return {"AWS_PROFILE": f"p{account}"}

    def run(argv: tuple[str, ...], **kwargs: Any) -> Any:
        ran.append((argv, kwargs["env"]["AWS_PROFILE"]))
        return type("Done", (), {"returncode": 0})()

    plans = plan(load_config(cdk_json_context()))
    plan_by_account = {p.account: p for p in plans}
    monkeypatch.setattr("pipeline.bootstrap.subprocess.run", run)
    assert apply(plans, Recorded(), ("cdk",), "eu-west-1") == 0  # type: ignore[arg-type]
    assert [(argv[2], profile) for argv, profile in ran] == [
        ("aws://111111111111/eu-west-1", "p111111111111"),
        ("aws://222222222222/eu-west-1", "p222222222222"),
        ("aws://333333333333/eu-west-1", "p333333333333"),
        ("aws://444444444444/eu-west-1", "p444444444444"),
    ]
    assert capsys.readouterr().out.count("created arn:aws:iam::") == 7
