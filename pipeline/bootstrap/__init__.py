"""`make bootstrap`: the exact `cdk bootstrap` commands for the toolchain and every environment.

Each account first gets a customer-managed policy from this folder (never AdministratorAccess)
and CloudFormation deploys with only that; workload accounts trust the toolchain account for
deployments and lookups. Printed by default; `--run` executes them, stopping at the first failure.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from config.deployment import ConfigError, DeploymentConfig
from config.loading import load_config

HERE = Path(__file__).resolve().parent
POLICY_NAME = "MessagingPlatformCfnExecution"
# One managed policy each (IAM caps one at 6,144 characters): bootstrap attaches them all.
POLICIES: dict[str, tuple[Path, ...]] = {
    "toolchain": (HERE / "toolchain-execution-policy.json",),
    "workload": (
        HERE / "workload-execution-policy.json",
        HERE / "workload-execution-policy-2.json",
    ),
}


@dataclass(frozen=True)
class Command:
    """One command and the account whose credentials it needs."""

    account: str
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return shlex.join(self.argv)


def policy_names(kind: str) -> list[str]:
    """`MessagingPlatformCfnExecution`, then `...2`, `...3` for the further documents of a kind."""
    return [POLICY_NAME + (str(n + 1) if n else "") for n in range(len(POLICIES[kind]))]


def policy_arns(account: str, kind: str) -> str:
    return ",".join(f"arn:aws:iam::{account}:policy/{name}" for name in policy_names(kind))


def commands(config: DeploymentConfig) -> list[Command]:
    toolchain = config.toolchain.account
    out: list[Command] = []

    def create_policy(account: str, kind: str) -> None:
        for name, path in zip(policy_names(kind), POLICIES[kind], strict=True):
            document = path.relative_to(HERE.parents[1])
            out.append(
                Command(
                    account,
                    (
                        "aws", "iam", "create-policy", "--policy-name", name,
                        "--policy-document", f"file://{document}",
                        "--description", f"CloudFormation execution policy ({kind})",
                    ),
                )
            )  # fmt: skip

    create_policy(toolchain, "toolchain")
    out.append(
        Command(
            toolchain,
            (
                "cdk", "bootstrap", f"aws://{toolchain}/{config.toolchain.region}",
                "--cloudformation-execution-policies", policy_arns(toolchain, "toolchain"),
            ),
        )
    )  # fmt: skip
    seen: set[str] = set()
    for env in config.environments:
        if env.account not in seen and env.account != toolchain:
            create_policy(env.account, "workload")
            seen.add(env.account)
        for region in env.regions:
            out.append(
                Command(
                    env.account,
                    (
                        "cdk", "bootstrap", f"aws://{env.account}/{region}",
                        "--trust", toolchain, "--trust-for-lookup", toolchain,
                        "--cloudformation-execution-policies",
                        policy_arns(env.account, "workload"),
                    ),
                )
            )  # fmt: skip
    return out


def main(argv: list[str] | None = None, context: dict[str, object] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bootstrap", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--run", action="store_true", help="execute the commands (needs AWS credentials)"
    )
    args = parser.parse_args(argv)
    if context is None:
        context = json.loads((HERE.parents[1] / "cdk.json").read_text())["context"]
    try:
        config = load_config(context)
    except ConfigError as err:
        for problem in err.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    current = None
    for command in commands(config):
        if command.account != current:
            print(f"# with credentials for account {command.account}")
            current = command.account
        print(command)
        if args.run:
            completed = subprocess.run(command.argv, check=False)  # noqa: S603 - our own argv
            if completed.returncode != 0:
                print(
                    f"bootstrap: stopped, `{command}` exited {completed.returncode}",
                    file=sys.stderr,
                )
                return completed.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
