"""The emulator side of the dry run: the stand-in artifact bucket, one IAM role per step, and
moto's IAM enforcement switched on while a step runs (moto enforces it for S3, SQS, IAM, STS).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rehearsal.emulator import ACCOUNT, Emulator

# Anyone in the emulator may assume a step's role: the dry run plays CodeBuild.
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}


class Sandbox:
    """Admin access to the emulator with enforcement off; `enforcing()` turns IAM checks on."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._roles = 0

    def _auth_after(self, count: str) -> None:
        # moto's /moto-api/reset-auth sets INITIAL_NO_AUTH_ACTION_COUNT in the server process:
        # "0" authenticates and authorizes every request from now on, "inf" none.
        request = urllib.request.Request(  # noqa: S310 - the loopback emulator's own API
            f"{self.emulator.endpoint}/moto-api/reset-auth",
            data=count.encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    @contextmanager
    def enforcing(self) -> Iterator[None]:
        self._auth_after("0")
        try:
            yield
        finally:
            self._auth_after("inf")

    def create_bucket(self, name: str) -> None:
        s3 = self.emulator.client("s3")
        s3.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": self.emulator.region},
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        s3 = self.emulator.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def credentials(self, name: str, policies: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        """Session credentials of a new role holding exactly `policies` (name -> document)."""
        self._roles += 1
        role = f"dry-run-{self._roles}-{re.sub(r'[^A-Za-z0-9+=,.@_-]', '-', name)}"[:64]
        iam = self.emulator.client("iam")
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(_TRUST))
        for policy, document in policies.items():
            iam.put_role_policy(
                RoleName=role, PolicyName=policy[:128], PolicyDocument=json.dumps(document)
            )
        session = self.emulator.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="dry-run"
        )["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": session["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
            "AWS_SESSION_TOKEN": session["SessionToken"],
        }
