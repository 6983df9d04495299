"""Credentials per AWS account for `make bootstrap RUN=1` and `make preflight`.

By default the ambient credentials (environment, AWS_PROFILE, SSO) are used for every account
and each account's block first checks they belong to it. `--profile ACCOUNT=PROFILE` names a
profile per account; `--assume-role NAME` assumes `arn:aws:iam::<account>:role/NAME` from the
ambient credentials for every account they do not already belong to.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = re.compile(r"^\d{12}$")
SESSION_NAME = "messaging-platform-setup"

# (account, service, region) -> a boto3 client for that account; tests pass stubbed clients.
ClientFactory = Callable[[str, str, str], Any]


class CredentialsError(Exception):
    """The credentials for an account are missing, unusable or belong to another account."""


class NoCredentials(CredentialsError):
    """No AWS credentials at all were found."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="ACCOUNT=PROFILE",
        help="AWS profile for one account (repeat per account)",
    )
    parser.add_argument(
        "--assume-role",
        metavar="NAME",
        help="role name to assume in each account the ambient credentials do not belong to",
    )


def parse_profiles(values: list[str]) -> dict[str, str]:
    """`["222222222222=dev"]` -> `{"222222222222": "dev"}`; ValueError names a bad entry."""
    profiles: dict[str, str] = {}
    for value in values:
        account, sep, profile = value.partition("=")
        if not sep or not ACCOUNT.match(account) or not profile:
            raise ValueError(f"--profile {value!r}: expected ACCOUNT=PROFILE (12-digit account)")
        profiles[account] = profile
    return profiles


@dataclass
class Credentials:
    """Builds boto3 clients per account from profiles, an assumed role or the ambient session."""

    profiles: dict[str, str] = field(default_factory=dict)
    assume_role: str | None = None
    _sessions: dict[str, Any] = field(default_factory=dict, repr=False)

    def session(self, account: str) -> Any:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if account in self._sessions:
            return self._sessions[account]
        try:
            if account in self.profiles:
                session = boto3.Session(profile_name=self.profiles[account])
            else:
                session = boto3.Session()
                if self.assume_role and _account_of(session) != account:
                    role = f"arn:aws:iam::{account}:role/{self.assume_role}"
                    creds = session.client("sts").assume_role(
                        RoleArn=role, RoleSessionName=SESSION_NAME
                    )["Credentials"]
                    session = boto3.Session(
                        aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"],
                    )
            actual = _account_of(session)
        except NoCredentialsError:
            raise NoCredentials("no AWS credentials found") from None
        except (BotoCoreError, ClientError) as err:
            raise CredentialsError(f"account {account}: {err}") from None
        if actual != account:
            raise CredentialsError(
                f"account {account}: the credentials belong to account {actual}; pass "
                f"--profile {account}=<profile> or --assume-role <name>"
            )
        self._sessions[account] = session
        return session

    def client(self, account: str, service: str, region: str) -> Any:
        return self.session(account).client(service, region_name=region)

    def environment(self, account: str) -> dict[str, str]:
        """Environment variables that give a subprocess (the cdk CLI) this account's credentials."""
        if account in self.profiles:
            return {"AWS_PROFILE": self.profiles[account]}
        frozen = self.session(account).get_credentials().get_frozen_credentials()
        env = {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key}
        if frozen.token:
            env["AWS_SESSION_TOKEN"] = frozen.token
        return env


def _account_of(session: Any) -> str:
    return str(session.client("sts").get_caller_identity()["Account"])
