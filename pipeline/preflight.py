"""`make preflight`: what the first `git push` needs in the accounts, checked before it runs.

One line per problem, account by account: bootstrap stacks with the execution policies, the
source connection AVAILABLE, approver roles, the CodeBuild concurrency quota, provider secrets.
Without credentials it prints the checklist and exits 2 (credentials per account: --profile
ACCOUNT=PROFILE or --assume-role NAME, as pipeline/bootstrap/accounts.py describes).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from config.deployment import DeploymentConfig
from pipeline.bootstrap import plan, read_inputs
from pipeline.bootstrap.accounts import (
    Credentials,
    CredentialsError,
    NoCredentials,
    add_arguments,
)

BOOTSTRAP_STACK = "CDKToolkit"
# The pipeline's CodeBuild projects run on these (pipeline_stack.py: MEDIUM for the build, the
# CDK Pipelines default SMALL for the rest). A new account can start at 1 concurrent build,
# which serialises the pipeline's parallel asset and verify actions.
BUILD_ENVIRONMENTS = ("Linux/Small", "Linux/Medium")
# Quota names as Service Quotas lists them for service code `codebuild`.
QUOTA_NAME = "Concurrently running builds for {} environment"


class Clients(Protocol):
    """Gives a boto3 client for an account (Credentials, or stubbed clients in tests)."""

    def client(self, account: str, service: str, region: str) -> Any: ...


@dataclass(frozen=True)
class Check:
    """One prerequisite in one account/region; `run` returns its problems (none when met)."""

    account: str
    region: str
    description: str
    run: Callable[[Clients], list[str]]


def _code(err: Exception) -> str:
    response: dict[str, Any] = getattr(err, "response", {})
    return str(response.get("Error", {}).get("Code", ""))


def bootstrap_check(account: str, region: str, arns: tuple[str, ...], trust: str | None) -> Check:
    def run(clients: Clients) -> list[str]:
        cfn = clients.client(account, "cloudformation", region)
        try:
            stack = cfn.describe_stacks(StackName=BOOTSTRAP_STACK)["Stacks"][0]
        except Exception as err:
            if _code(err) == "ValidationError":
                return [f"{BOOTSTRAP_STACK} stack not found: run make bootstrap"]
            raise
        problems = []
        status = stack["StackStatus"]
        if not status.endswith("_COMPLETE") or "ROLLBACK" in status:
            problems.append(f"{BOOTSTRAP_STACK} stack is {status}")
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack["Parameters"]}
        attached = set(parameters.get("CloudFormationExecutionPolicies", "").split(","))
        for arn in arns:
            if arn not in attached:
                problems.append(f"{BOOTSTRAP_STACK} does not attach {arn}: run make bootstrap")
        if trust and trust not in parameters.get("TrustedAccounts", "").split(","):
            problems.append(f"{BOOTSTRAP_STACK} does not trust account {trust}: run make bootstrap")
        return problems

    what = f"{BOOTSTRAP_STACK} stack attaching {', '.join(a.rsplit('/', 1)[1] for a in arns)}"
    if trust:
        what += f", trusting {trust}"
    return Check(account, region, what, run)


def connection_check(account: str, arn: str) -> Check:
    service, region = arn.split(":")[2], arn.split(":")[3]

    def run(clients: Clients) -> list[str]:
        try:
            connection = clients.client(account, service, region).get_connection(ConnectionArn=arn)[
                "Connection"
            ]
        except Exception as err:
            if _code(err) == "ResourceNotFoundException":
                return [f"connection {arn} not found"]
            raise
        status = connection["ConnectionStatus"]
        if status != "AVAILABLE":
            return [f"connection is {status}: finish the handshake in the console (Settings)"]
        return []

    return Check(account, region, f"CodeConnections connection {arn} is AVAILABLE", run)


def approver_check(account: str, region: str, arn: str) -> Check:
    name = arn.rsplit("/", 1)[1]

    def run(clients: Clients) -> list[str]:
        try:
            clients.client(account, "iam", region).get_role(RoleName=name)
        except Exception as err:
            if _code(err) == "NoSuchEntity":
                return [f"approver role {arn} does not exist"]
            raise
        return []

    return Check(account, region, f"approver role {arn} exists", run)


def _quotas(client: Any, operation: str) -> dict[str, float]:
    found: dict[str, float] = {}
    kwargs: dict[str, str] = {"ServiceCode": "codebuild"}
    while True:
        page = getattr(client, operation)(**kwargs)
        found.update({q["QuotaName"].lower(): float(q["Value"]) for q in page["Quotas"]})
        if not page.get("NextToken"):
            return found
        kwargs["NextToken"] = page["NextToken"]


def quota_check(account: str, region: str) -> Check:
    def run(clients: Clients) -> list[str]:
        client = clients.client(account, "service-quotas", region)
        applied = _quotas(client, "list_service_quotas")
        wanted = [QUOTA_NAME.format(env) for env in BUILD_ENVIRONMENTS]
        if any(name.lower() not in applied for name in wanted):
            applied = {**_quotas(client, "list_aws_default_service_quotas"), **applied}
        problems = []
        for name in wanted:
            value = applied.get(name.lower())
            if value is None:
                problems.append(f"CodeBuild quota {name!r} not found in Service Quotas")
            elif value <= 1:
                problems.append(
                    f"CodeBuild quota {name!r} is {value:g}: request an increase "
                    "(Service Quotas, AWS CodeBuild), or the pipeline's builds run one at a time"
                )
        return problems

    return Check(account, region, "CodeBuild concurrent builds quota > 1 (Linux Small/Medium)", run)


def secret_check(account: str, region: str, name: str) -> Check:
    def run(clients: Clients) -> list[str]:
        try:
            clients.client(account, "secretsmanager", region).describe_secret(SecretId=name)
        except Exception as err:
            if _code(err) == "ResourceNotFoundException":
                return [f"secret {name} not found: create it before the first deployment"]
            raise
        return []

    return Check(account, region, f"secret {name} exists", run)


def checks(config: DeploymentConfig, providers: list[str]) -> list[Check]:
    """Every prerequisite, toolchain account first."""
    toolchain, home = config.toolchain.account, config.toolchain.region
    out = [
        connection_check(toolchain, config.source.connection_arn),
        quota_check(toolchain, home),
    ]
    out += [
        approver_check(toolchain, home, arn)
        for arn in config.approvals.approvers
        if arn.startswith(f"arn:aws:iam::{toolchain}:role/")
    ]
    for account in plan(config):
        out += [
            bootstrap_check(b.account, b.region, b.policy_arns, b.trust) for b in account.bootstraps
        ]
    for env in config.environments:
        prefix = env.settings.inbound.secret_prefix
        for region in env.regions:
            out += [secret_check(env.account, region, prefix + p) for p in providers]
    order = [account.account for account in plan(config)]
    return sorted(out, key=lambda check: order.index(check.account))


def run_checks(all_checks: list[Check], clients: Clients) -> list[str]:
    """One line per problem; an account whose credentials fail is one line, its checks skipped."""
    from botocore.exceptions import BotoCoreError, ClientError

    problems: list[str] = []
    unusable: set[str] = set()
    for check in all_checks:
        if check.account in unusable:
            continue
        try:
            found = check.run(clients)
        except NoCredentials:
            raise
        except CredentialsError as err:
            unusable.add(check.account)
            problems.append(f"{check.account}: cannot check: {err}")
            continue
        except (BotoCoreError, ClientError) as err:
            found = [f"{check.description}: cannot check: {err}"]
        problems += [f"{check.account} {check.region}: {p}" for p in found]
    return problems


def main(
    argv: list[str] | None = None,
    context: dict[str, object] | None = None,
    clients: Clients | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog="make preflight", description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    inputs = read_inputs("preflight", args.profile, context)
    if inputs is None:
        return 2
    config, profiles = inputs
    from services.inbound.providers import discover

    all_checks = checks(config, list(discover()))
    if clients is None:
        clients = Credentials(profiles=profiles, assume_role=args.assume_role)
    try:
        problems = run_checks(all_checks, clients)
    except NoCredentials:
        print("Checklist before the first push (account region: what):")
        for check in all_checks:
            print(f"  [ ] {check.account} {check.region}: {check.description}")
        print(
            "preflight: no AWS credentials found; nothing was checked (set AWS_PROFILE, or "
            "pass --profile ACCOUNT=PROFILE per account or --assume-role NAME)",
            file=sys.stderr,
        )
        return 2
    for problem in problems:
        print(f"preflight: {problem}")
    accounts = len({c.account for c in all_checks})
    if problems:
        print(f"preflight: {len(problems)} problem(s) in {accounts} account(s)", file=sys.stderr)
        return 1
    print(f"preflight: all {len(all_checks)} checks passed in {accounts} account(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
