"""`python -m pipeline.verify smoke|acceptance|load`: verify a deployed Stage from its outputs.

Assumes the Stage's read-only verification role (`VERIFICATION_ROLE_ARN`), reads the Stage's
outputs from its stack (`STAGE_STACK` in `STAGE_REGION`; `CFN_<Key>` variables override), sends
signed webhooks to the API and waits (bounded) until each is recorded. Exit 0 when every
message is accounted for, 1 when not, 2 on bad input or missing credentials or permissions.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from pipeline.verify.outputs import (
    PREFIX,
    REGION,
    ROLE,
    STACK,
    StageOutputs,
    VerifyError,
    overrides,
    stack_outputs,
)
from pipeline.verify.suites import SUITES, Settings, run
from stages import outputs as names


def session_for(role_arn: str, region: str | None = None) -> boto3.Session:
    session = boto3.Session(region_name=region)
    if not role_arn:
        return session
    credentials = session.client("sts").assume_role(
        RoleArn=role_arn,
        RoleSessionName="pipeline-verify",
        DurationSeconds=3600,
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=session.region_name,
    )


def stage_from(environ: dict[str, str]) -> tuple[StageOutputs, boto3.Session]:
    """The Stage's outputs and a session as its verification role, in the Stage's region."""
    given = overrides(environ)
    role = environ.get(ROLE) or given.get(names.VERIFICATION_ROLE_ARN, "")
    stack = environ.get(STACK)
    if not stack:
        stage = StageOutputs.from_environment(environ)
        return stage, session_for(role, environ.get(REGION) or None)
    session = session_for(role, environ.get(REGION) or None)
    outputs = stack_outputs(session.client("cloudformation"), stack)
    return StageOutputs.from_mapping({**outputs, **given}), session


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise VerifyError(f"{name}: {raw!r} is not a number") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.verify",
        description=__doc__.split("\n")[0],
        epilog=f"Environment: {STACK}, {REGION}, {ROLE} (the pipeline sets them), or "
        f"{PREFIX}{names.API_URL}, {PREFIX}{names.AUDIT_TABLE}, "
        f"{PREFIX}<Provider>{names.SECRET_NAME}, {PREFIX}<Provider>{names.DEAD_LETTER_QUEUE_URL}, "
        f"{PREFIX}{names.VERIFICATION_ROLE_ARN} (optional); "
        "VERIFY_TIMEOUT_SECONDS, LOAD_MESSAGES, LOAD_RATE set the defaults below.",
    )
    parser.add_argument("suite", choices=SUITES)
    parser.add_argument("--timeout", type=float, help="seconds to wait for outcomes")
    parser.add_argument("--count", type=int, help="load: number of webhooks")
    parser.add_argument("--rate", type=float, help="load: webhooks per second")
    args = parser.parse_args(argv)
    try:
        stage, session = stage_from(dict(os.environ))
        settings = Settings(
            timeout=args.timeout or _number("VERIFY_TIMEOUT_SECONDS", 300),
            load_messages=args.count or int(_number("LOAD_MESSAGES", 300)),
            load_rate=args.rate or _number("LOAD_RATE", 20),
        )

        def clients(name: str) -> Any:
            return session.client(name)

        verdict = run(args.suite, stage, clients, settings=settings)
    except VerifyError as err:
        print(f"verify: {err}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print(
            "verify: no AWS credentials (run in the pipeline, or export a profile)", file=sys.stderr
        )
        return 2
    except ClientError as err:
        error = err.response.get("Error", {})
        print(
            f"verify: {err.operation_name} failed: {error.get('Code')}: {error.get('Message')}",
            file=sys.stderr,
        )
        return 2
    except BotoCoreError as err:
        print(f"verify: {err}", file=sys.stderr)
        return 2
    print(f"{args.suite}: {stage.api_url}")
    print(verdict.table())
    for problem in verdict.problems:
        print(f"  problem: {problem}")
    print(f"{args.suite}: {'passed' if verdict.ok else 'FAILED'} in {verdict.seconds:.1f} s")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
