"""`python -m pipeline.ops`: status, review, approve and reject releases of the pipeline.

Run it with credentials for the toolchain account; approving or rejecting needs the release
approver role (the Pipeline stack's ApproverRoleArn output), which alone may answer approvals.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from pipeline.names import REVIEW_PREFIX
from pipeline.ops import pipeline as pl

EXIT_CODES = """exit codes:
  0  done
  1  not confirmed at the prompt (nothing was changed)
  2  usage, credentials or permissions problem
  3  nothing is waiting for approval
  4  the pipeline or its review report was not found
"""

Clients = Callable[[str], Any]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.ops",
        description=__doc__.split("\n")[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--pipeline",
        help="pipeline name (default: the PipelineName output of the Pipeline stack)",
    )
    parser.add_argument("--region", help="toolchain region (default: your AWS configuration)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "status",
        help="stages, latest execution and its commit, pending approvals",
        description="Show each stage's status, the latest execution with its commit, and any "
        "approval waiting for an answer.",
    )
    commands.add_parser(
        "review",
        help="print the security review (report summary and diff) of the pending release",
        description="Fetch the security review the build step stored for the execution that "
        "waits for approval, and print it.",
    )
    for verb in ("approve", "reject"):
        sub = commands.add_parser(
            verb,
            help=f"{verb} the pending release (shows its review first)",
            description=f"Show the pending release's review, ask for confirmation, then {verb} "
            "it with your comment. Refuses when nothing is waiting.",
        )
        sub.add_argument("--comment", required=True, help="why (recorded in the pipeline)")
        sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        sub.add_argument("--action", help="which approval, when several wait (e.g. PromoteProd)")
    return parser


def _status(clients: Clients, name: str) -> int:
    codepipeline = clients("codepipeline")
    print(f"pipeline {name}")
    execution = pl.latest_execution(codepipeline, name)
    if execution:
        revisions = execution.get("artifactRevisions", [])
        commit = revisions[0].get("revisionId", "?")[:12] if revisions else "?"
        summary = revisions[0].get("revisionSummary", "") if revisions else ""
        print(
            f"latest execution {execution['pipelineExecutionId']}: {execution['status']}, "
            f"commit {commit} {summary}".rstrip()
        )
    for stage in pl.stages(codepipeline, name):
        actions = ", ".join(f"{a} {s}" for a, s in stage.actions)
        print(f"  {stage.name:<16} {stage.status:<12} {actions}")
    pending = pl.pending_approvals(codepipeline, name)
    for approval in pending:
        since = f" since {approval.since:%Y-%m-%d %H:%M} UTC" if approval.since else ""
        print(f"waiting for approval: {approval.stage}/{approval.action}{since}")
    if not pending:
        print("nothing is waiting for approval")
    return 0


def _pending(clients: Clients, name: str, action: str | None) -> pl.Approval:
    pending = pl.pending_approvals(clients("codepipeline"), name)
    if action:
        pending = [p for p in pending if p.action == action]
    if not pending:
        raise pl.OpsError(f"nothing is waiting for approval in {name}", 3)
    if len(pending) > 1:
        names = ", ".join(p.action for p in pending)
        raise pl.OpsError(f"several approvals are waiting ({names}); choose one with --action")
    return pending[0]


def _review(clients: Clients, name: str, approval: pl.Approval, region: str) -> None:
    bucket = pl.artifact_bucket(clients("codepipeline"), name, region)
    print(f"release {approval.execution_id} waits at {approval.stage}/{approval.action}")
    print(pl.review_summary(clients("s3"), bucket, approval.execution_id).rstrip())
    print(
        f"full report: https://{region}.console.aws.amazon.com/s3/object/{bucket}"
        f"?prefix={REVIEW_PREFIX}/{approval.execution_id}/index.html"
    )


def _answer(
    clients: Clients,
    name: str,
    args: argparse.Namespace,
    region: str,
    ask: Callable[[str], str],
) -> int:
    if not args.comment.strip():
        raise pl.OpsError("--comment must say why")
    approval = _pending(clients, name, args.action)
    _review(clients, name, approval, region)
    verb = "Approved" if args.command == "approve" else "Rejected"
    if not args.yes:
        question = f"{args.command} release {approval.execution_id} at {approval.action}? [y/N] "
        if ask(question).strip().lower() not in ("y", "yes"):
            print("not confirmed; nothing changed")
            return 1
    clients("codepipeline").put_approval_result(
        pipelineName=name,
        stageName=approval.stage,
        actionName=approval.action,
        result={"summary": args.comment, "status": verb},
        token=approval.token,
    )
    print(f"{verb.lower()}: {approval.stage}/{approval.action} of {approval.execution_id}")
    return 0


def main(
    argv: list[str] | None = None,
    clients: Clients | None = None,
    ask: Callable[[str], str] = input,
) -> int:
    args = _parser().parse_args(argv)
    try:
        if clients is None:
            session = boto3.Session(region_name=args.region)

            def clients(service: str) -> Any:
                return session.client(service)

        region = args.region or clients("codepipeline").meta.region_name
        name = pl.pipeline_name(clients("cloudformation"), args.pipeline)
        if args.command == "status":
            return _status(clients, name)
        if args.command == "review":
            _review(clients, name, _pending(clients, name, None), region)
            return 0
        return _answer(clients, name, args, region, ask)
    except pl.OpsError as err:
        print(f"ops: {err}", file=sys.stderr)
        return err.code
    except NoCredentialsError:
        print("ops: no AWS credentials; sign in to the toolchain account first", file=sys.stderr)
        return 2
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if code in ("AccessDenied", "AccessDeniedException"):
            print(
                f"ops: not allowed to call {err.operation_name}; approvals need the release "
                "approver role (ApproverRoleArn output of the Pipeline stack)",
                file=sys.stderr,
            )
            return 2
        if code in ("PipelineNotFoundException", "ValidationError"):
            print(f"ops: {err.response['Error'].get('Message', code)}", file=sys.stderr)
            return 4
        print(f"ops: {err.operation_name} failed: {code}", file=sys.stderr)
        return 2
    except BotoCoreError as err:
        print(f"ops: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
