"""`make bootstrap`: the execution policies and `cdk bootstrap` commands for every account.

Each account first gets customer-managed policies from this folder (never AdministratorAccess)
and CloudFormation deploys with only those; workload accounts trust the toolchain account for
deployments and lookups. Printed by default; `--run` applies them account by account (creating a
policy, or adding a default version when it exists) and stops at the first failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.deployment import ConfigError, DeploymentConfig
from config.loading import load_config
from pipeline.bootstrap.accounts import (
    Credentials,
    CredentialsError,
    add_arguments,
    parse_profiles,
)
from pipeline.toolchain import read_versions

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
POLICY_NAME = "MessagingPlatformCfnExecution"
# One managed policy each (IAM caps one at 6,144 characters): bootstrap attaches them all.
POLICIES: dict[str, tuple[Path, ...]] = {
    "toolchain": (HERE / "toolchain-execution-policy.json",),
    "workload": (
        HERE / "workload-execution-policy.json",
        HERE / "workload-execution-policy-2.json",
    ),
}
MAX_POLICY_VERSIONS = 5  # IAM keeps at most five versions of a managed policy
NEEDS = (
    "an administrator of this account, or a role that may create and version IAM policies "
    "and deploy the CDKToolkit CloudFormation stack"
)


def policy_names(kind: str) -> list[str]:
    """`MessagingPlatformCfnExecution<Kind>`, then `...2` for a kind's further documents."""
    base = POLICY_NAME + kind.capitalize()
    return [base + (str(n + 1) if n else "") for n in range(len(POLICIES[kind]))]


@dataclass(frozen=True)
class ManagedPolicy:
    """One execution policy document, as a customer-managed policy in one account."""

    account: str
    kind: str
    name: str
    path: Path

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:policy/{self.name}"

    @property
    def description(self) -> str:
        return f"CloudFormation execution policy ({self.kind}), {self.path.name}"

    def command(self) -> tuple[str, ...]:
        document = f"file://{self.path.relative_to(ROOT)}"
        return (
            "aws", "iam", "create-policy", "--policy-name", self.name,
            "--policy-document", document, "--description", self.description,
        )  # fmt: skip

    def update_command(self) -> tuple[str, ...]:
        document = f"file://{self.path.relative_to(ROOT)}"
        return (
            "aws", "iam", "create-policy-version", "--policy-arn", self.arn,
            "--policy-document", document, "--set-as-default",
        )  # fmt: skip


@dataclass(frozen=True)
class Bootstrap:
    """One `cdk bootstrap` of an account/region with its execution policies and trust."""

    account: str
    region: str
    policy_arns: tuple[str, ...]
    trust: str | None

    def command(self, cdk: tuple[str, ...]) -> tuple[str, ...]:
        argv = [*cdk, "bootstrap", f"aws://{self.account}/{self.region}"]
        if self.trust:
            argv += ["--trust", self.trust, "--trust-for-lookup", self.trust]
        argv += ["--cloudformation-execution-policies", ",".join(self.policy_arns)]
        return tuple(argv)


@dataclass
class AccountPlan:
    """Everything bootstrap does in one account, under that account's credentials."""

    account: str
    roles: list[str]
    policies: list[ManagedPolicy] = field(default_factory=list)
    bootstraps: list[Bootstrap] = field(default_factory=list)


def plan(config: DeploymentConfig) -> list[AccountPlan]:
    """Per account (toolchain first): its policies and one bootstrap per region it deploys to."""
    toolchain = config.toolchain.account
    accounts: dict[str, AccountPlan] = {toolchain: AccountPlan(toolchain, ["toolchain"])}
    kinds: dict[tuple[str, str], list[str]] = {(toolchain, config.toolchain.region): ["toolchain"]}
    for env in config.environments:
        accounts.setdefault(env.account, AccountPlan(env.account, [])).roles.append(env.name)
        for region in env.regions:
            region_kinds = kinds.setdefault((env.account, region), [])
            if "workload" not in region_kinds:
                region_kinds.append("workload")
    for (account, region), region_kinds in kinds.items():
        target = accounts[account]
        for kind in region_kinds:
            if not any(p.kind == kind for p in target.policies):
                target.policies += [
                    ManagedPolicy(account, kind, name, path)
                    for name, path in zip(policy_names(kind), POLICIES[kind], strict=True)
                ]
        arns = tuple(p.arn for p in target.policies if p.kind in region_kinds)
        trust = toolchain if account != toolchain else None
        target.bootstraps.append(Bootstrap(account, region, arns, trust))
    return list(accounts.values())


def cdk_cli(root: Path = ROOT) -> tuple[str, ...]:
    """The pinned CLI: the project's node_modules copy, else npx of the package.json version."""
    local = root / "node_modules" / ".bin" / "cdk"
    if local.exists():
        return (str(local.relative_to(root)),)
    return ("npx", "--yes", f"aws-cdk@{read_versions(root / 'package.json').cdk_cli}")


def render(plans: list[AccountPlan], cdk: tuple[str, ...]) -> list[str]:
    """The commands, account by account, with the credentials each block needs."""
    lines: list[str] = []
    for account in plans:
        lines.append(f"# account {account.account} ({', '.join(account.roles)}): credentials of")
        lines.append(f"# {NEEDS}")
        for policy in account.policies:
            lines.append(shlex.join(policy.command()))
            lines.append(f"#   exists already: {shlex.join(policy.update_command())}")
        if account.policies:
            lines.append(
                f"#   (IAM keeps {MAX_POLICY_VERSIONS} versions: at five, first "
                "`aws iam delete-policy-version` the oldest non-default one)"
            )
        lines += [shlex.join(b.command(cdk)) for b in account.bootstraps]
    return lines


def _document(value: Any) -> Any:
    """A policy version's document: boto3 decodes it to a dict; the raw API URL-encodes it."""
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value


def ensure_policy(iam: Any, policy: ManagedPolicy) -> str:
    """Create the policy, or make the document its default version; what was done, in words."""
    document = policy.path.read_text()
    try:
        iam.create_policy(
            PolicyName=policy.name, PolicyDocument=document, Description=policy.description
        )
        return f"created {policy.arn}"
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    versions = iam.list_policy_versions(PolicyArn=policy.arn)["Versions"]
    default = next(v for v in versions if v["IsDefaultVersion"])
    current = iam.get_policy_version(PolicyArn=policy.arn, VersionId=default["VersionId"])
    if _document(current["PolicyVersion"]["Document"]) == json.loads(document):
        return f"unchanged {policy.arn} ({default['VersionId']})"
    pruned = ""
    if len(versions) >= MAX_POLICY_VERSIONS:
        oldest = min(
            (v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"]
        )
        iam.delete_policy_version(PolicyArn=policy.arn, VersionId=oldest["VersionId"])
        pruned = f", deleted the oldest version {oldest['VersionId']}"
    created = iam.create_policy_version(
        PolicyArn=policy.arn, PolicyDocument=document, SetAsDefault=True
    )
    return f"updated {policy.arn} to {created['PolicyVersion']['VersionId']}{pruned}"


def apply(
    plans: list[AccountPlan], credentials: Credentials, cdk: tuple[str, ...], iam_region: str
) -> int:
    """Run every block with its account's credentials; stop at the first failure."""
    from botocore.exceptions import BotoCoreError, ClientError

    for account in plans:
        print(f"# account {account.account} ({', '.join(account.roles)})")
        try:
            iam = credentials.client(account.account, "iam", iam_region)
            for policy in account.policies:
                print(ensure_policy(iam, policy))
            env = {**os.environ, **credentials.environment(account.account)}
        except CredentialsError as err:
            print(f"bootstrap: stopped, {err}", file=sys.stderr)
            return 1
        except (BotoCoreError, ClientError) as err:
            print(f"bootstrap: stopped in account {account.account}: {err}", file=sys.stderr)
            return 1
        for bootstrap in account.bootstraps:
            argv = bootstrap.command(cdk)
            print(shlex.join(argv))
            completed = subprocess.run(argv, check=False, env=env, cwd=ROOT)  # noqa: S603
            if completed.returncode != 0:
                print(
                    f"bootstrap: stopped, `{shlex.join(argv)}` exited {completed.returncode}",
                    file=sys.stderr,
                )
                return completed.returncode
    return 0


def read_inputs(
    tool: str, profile_args: list[str], context: dict[str, object] | None = None
) -> tuple[DeploymentConfig, dict[str, str]] | None:
    """The deployment (cdk.json's context unless given) and the --profile mapping; None after
    printing one line per problem, for a command-line tool to exit 2."""
    if context is None:
        context = json.loads((ROOT / "cdk.json").read_text())["context"]
    try:
        return load_config(context), parse_profiles(profile_args)
    except ConfigError as err:
        for problem in err.problems:
            print(f"config error: {problem}", file=sys.stderr)
    except ValueError as err:
        print(f"{tool}: {err}", file=sys.stderr)
    return None


def main(argv: list[str] | None = None, context: dict[str, object] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bootstrap", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--run", action="store_true", help="apply them (needs credentials for every account)"
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    inputs = read_inputs("bootstrap", args.profile, context)
    if inputs is None:
        return 2
    config, profiles = inputs
    plans, cdk = plan(config), cdk_cli()
    if not args.run:
        print("\n".join(render(plans, cdk)))
        return 0
    credentials = Credentials(profiles=profiles, assume_role=args.assume_role)
    return apply(plans, credentials, cdk, config.toolchain.region)


if __name__ == "__main__":
    sys.exit(main())
