"""`python -m pipeline.ops`: status, review, approve and reject releases; redrive dead letters.

Pipeline commands run with credentials for the toolchain account (approving or rejecting needs the
release approver role, the Pipeline stack's ApproverRoleArn output); `redrive` with credentials
for the environment's account. The pipeline, its region and the accounts come from cdk.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from rich.console import Console

from config.deployment import DeploymentConfig
from pipeline.names import REVIEW_PREFIX
from pipeline.ops import pipeline as pl
from pipeline.ops import redrive as dead_letters
from pipeline.ops import render
from pipeline.ops import target as tg
from pipeline.ops.redrive import DeadLetterQueue
from pipeline.ops.target import OpsError
from pipeline.review import console_url

EXIT_CODES = """exit codes:
  0  done
  1  not confirmed at the prompt (nothing was changed)
  2  usage or configuration problem (e.g. no region)
  3  nothing is waiting for approval
  4  not found: the pipeline, its review report, or the Stage's stack
  5  no usable credentials, or credentials for another account
  6  permission denied (the message names the action)
  7  the watched execution or move task did not succeed
  130  stopped with Ctrl-C (the execution or move task goes on)
"""

# clients(service, region) -> a boto3 client; tests pass Stubber-backed ones.
Clients = Callable[[str, str], Any]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.ops",
        description=__doc__.split("\n")[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--pipeline", help="pipeline name (default: the Pipeline stack's PipelineName output)"
    )
    parser.add_argument(
        "--region", help="toolchain region (default: cdk.json's deployment.toolchain.region)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    status = commands.add_parser(
        "status",
        help="stages, latest execution and its commit, pending approvals",
        description="Show each stage's status, the latest execution with its commit, and any "
        "approval waiting for an answer; --watch follows an execution until it ends.",
    )
    status.add_argument("--watch", action="store_true", help="follow the execution until it ends")
    status.add_argument("--execution", help="execution to watch (default: the latest)")
    status.add_argument("--interval", type=float, default=15.0, help="seconds between polls")
    review = commands.add_parser(
        "review",
        help="summarize the security changes of the pending release",
        description="Read the security diff the build step stored for the execution that waits "
        "for approval (or --execution), and summarize it.",
    )
    review.add_argument("--execution", help="execution to review (default: the pending one)")
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
    move = commands.add_parser(
        "redrive",
        help="move an environment's dead-lettered messages back to their queues",
        description="Count the messages in the dead-letter queues of an environment's Stage, ask "
        "for confirmation, and start SQS message move tasks that return them to their source "
        "queues. Needs credentials for that environment's account.",
    )
    move.add_argument("--environment", required=True, help="environment name in cdk.json")
    move.add_argument("--source", help="only this queue (e.g. Twilio, CustomerCare)")
    move.add_argument("--rate", type=int, help="messages per second (default: SQS chooses)")
    move.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    move.add_argument("--no-wait", action="store_true", help="start the moves and return")
    move.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    return parser


class Ops:
    """One run of the CLI: its arguments, clients, prompt, output and clock."""

    def __init__(
        self,
        args: argparse.Namespace,
        clients: Clients,
        ask: Callable[[str], str],
        sleep: Callable[[float], None],
    ) -> None:
        self.args = args
        self.clients = clients
        self.ask = ask
        self.sleep = sleep
        self.console = Console(highlight=False)

    def run(self, default_region: str | None) -> int:
        config = tg.read_config()
        if self.args.command == "redrive":
            return self.redrive(config)
        target = tg.toolchain_target(self.args.region, config, default_region)
        self.region = target.region
        account = config.toolchain.account if config else None
        tg.check_account(self.client("sts"), account, "the pipeline")
        self.name = tg.pipeline_name(self.client("cloudformation"), self.args.pipeline, self.region)
        if self.args.command == "status":
            return self.watch() if self.args.watch else self.status()
        if self.args.command == "review":
            if self.args.execution:
                self.review(self.args.execution)
            else:
                approval = self.pending(None)
                self.review(approval.execution_id, approval)
            return 0
        return self.answer()

    def client(self, service: str, region: str | None = None) -> Any:
        return self.clients(service, region or self.region)

    def confirm(self, question: str) -> bool:
        return bool(self.args.yes) or self.ask(question).strip().lower() in ("y", "yes")

    # -- pipeline ---------------------------------------------------------------------------

    def status(self) -> int:
        codepipeline = self.client("codepipeline")
        print(f"pipeline {self.name} ({self.region})")
        execution = pl.latest_execution(codepipeline, self.name)
        if execution:
            revisions = execution.get("artifactRevisions", [])
            commit = revisions[0].get("revisionId", "?")[:12] if revisions else "?"
            summary = revisions[0].get("revisionSummary", "") if revisions else ""
            print(
                f"latest execution {execution['pipelineExecutionId']}: {execution['status']}, "
                f"commit {commit} {summary}".rstrip()
            )
        for stage in pl.stages(codepipeline, self.name):
            actions = ", ".join(f"{a} {s}" for a, s in stage.actions)
            print(f"  {stage.name:<16} {stage.status:<12} {actions}")
        pending = pl.pending_approvals(codepipeline, self.name)
        for approval in pending:
            since = f" since {approval.since:%Y-%m-%d %H:%M} UTC" if approval.since else ""
            print(f"waiting for approval: {approval.stage}/{approval.action}{since}")
        if not pending:
            print("nothing is waiting for approval")
        return 0

    def watch(self) -> int:
        codepipeline = self.client("codepipeline")
        execution_id = self.args.execution
        if not execution_id:
            latest = pl.latest_execution(codepipeline, self.name)
            if latest is None:
                raise OpsError(f"pipeline {self.name} has no execution to watch", tg.NOT_FOUND)
            execution_id = latest["pipelineExecutionId"]
        print(f"watching execution {execution_id} of {self.name} (Ctrl-C stops watching)")
        try:
            status = pl.watch(
                codepipeline,
                self.name,
                execution_id,
                interval=self.args.interval,
                sleep=self.sleep,
                say=print,
            )
        except KeyboardInterrupt:
            print(f"\nstopped watching; execution {execution_id} goes on")
            return tg.INTERRUPTED
        print(f"execution {execution_id}: {status}")
        return 0 if status == "Succeeded" else tg.DID_NOT_SUCCEED

    def pending(self, action: str | None) -> pl.Approval:
        pending = pl.pending_approvals(self.client("codepipeline"), self.name)
        if action:
            pending = [p for p in pending if p.action == action]
        if not pending:
            raise OpsError(f"nothing is waiting for approval in {self.name}", tg.NOTHING_WAITING)
        if len(pending) > 1:
            names = ", ".join(p.action for p in pending)
            raise OpsError(f"several approvals are waiting ({names}); choose one with --action")
        return pending[0]

    def review(self, execution_id: str, approval: pl.Approval | None = None) -> None:
        bucket = pl.artifact_bucket(self.client("codepipeline"), self.name, self.region)
        if approval:
            print(f"release {execution_id} waits at {approval.stage}/{approval.action}")
        else:
            print(f"release {execution_id}")
        diff = pl.review_diff(self.client("s3"), bucket, execution_id)
        link = console_url(self.region, bucket, f"{REVIEW_PREFIX}/{execution_id}/index.html")
        render.show(self.console, diff, link)

    def answer(self) -> int:
        if not self.args.comment.strip():
            raise OpsError("--comment must say why")
        approval = self.pending(self.args.action)
        self.review(approval.execution_id, approval)
        verb = "Approved" if self.args.command == "approve" else "Rejected"
        question = (
            f"{self.args.command} release {approval.execution_id} at {approval.action}? [y/N] "
        )
        if not self.confirm(question):
            print("not confirmed; nothing changed")
            return tg.NOT_CONFIRMED
        self.client("codepipeline").put_approval_result(
            pipelineName=self.name,
            stageName=approval.stage,
            actionName=approval.action,
            result={"summary": self.args.comment, "status": verb},
            token=approval.token,
        )
        print(f"{verb.lower()}: {approval.stage}/{approval.action} of {approval.execution_id}")
        return 0

    # -- dead letters -----------------------------------------------------------------------

    def redrive(self, config: DeploymentConfig | None) -> int:
        if config is None:
            raise OpsError("redrive reads the environment from cdk.json: run it in the repository")
        try:
            env = config.environment(self.args.environment)
        except KeyError:
            names = ", ".join(e.name for e in config.environments)
            wanted = self.args.environment
            raise OpsError(f"no environment {wanted!r} (cdk.json: {names})") from None
        self.region = env.regions[0]
        tg.check_account(self.client("sts"), env.account, f"environment {env.name}")
        queues: list[tuple[str, DeadLetterQueue]] = []
        for region in env.regions:
            stack = dead_letters.stack_name(env.stage_id_for(region))
            try:
                sources = dead_letters.source_queues(self.client("cloudformation", region), stack)
            except ClientError as err:
                if "does not exist" not in str(err):
                    raise
                raise OpsError(f"not found: no stack {stack} in {region}", tg.NOT_FOUND) from None
            if self.args.source:
                sources = {k: v for k, v in sources.items() if k.startswith(self.args.source)}
            sqs = self.client("sqs", region)
            queues += [(region, q) for q in dead_letters.dead_letter_queues(sqs, sources)]
        return self._move(env.name, queues)

    def _move(self, environment: str, queues: list[tuple[str, DeadLetterQueue]]) -> int:
        for region, queue in queues:
            note = " (a move task is already running)" if queue.moving else ""
            print(f"  {region} {queue.source:<14} {queue.name:<48} {queue.messages:>7}{note}")
        todo = [(r, q) for r, q in queues if q.messages and not q.moving]
        total = sum(q.messages for _, q in todo)
        if not todo:
            print(f"nothing to redrive in {environment}")
            return 0
        question = (
            f"move {total} messages from {len(todo)} dead-letter queues of {environment} back "
            "to their source queues? [y/N] "
        )
        if not self.confirm(question):
            print("not confirmed; nothing changed")
            return tg.NOT_CONFIRMED
        for region, queue in todo:
            dead_letters.start(self.client("sqs", region), queue, self.args.rate)
            print(f"started moving {queue.messages} messages from {queue.name}")
        if self.args.no_wait:
            return 0
        return self._follow(todo)

    def _follow(self, todo: list[tuple[str, DeadLetterQueue]]) -> int:
        failed = []
        try:
            for region in dict.fromkeys(r for r, _ in todo):
                final = dead_letters.follow(
                    self.client("sqs", region),
                    [q for r, q in todo if r == region],
                    interval=self.args.interval,
                    sleep=self.sleep,
                    say=print,
                )
                failed += [t for t in final.values() if t["Status"] != "COMPLETED"]
        except KeyboardInterrupt:
            print("\nstopped watching; the move tasks go on")
            return tg.INTERRUPTED
        for task in failed:
            print(f"move task {task['Status']}: {task.get('FailureReason', '')}".rstrip())
        return tg.DID_NOT_SUCCEED if failed else 0


def _hint(command: str) -> str:
    if command == "redrive":
        return "credentials of the environment's account that may move its dead letters"
    return tg.APPROVER_HINT


def main(
    argv: list[str] | None = None,
    clients: Clients | None = None,
    ask: Callable[[str], str] = input,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    args = _parser().parse_args(argv)
    try:
        default_region = None
        if clients is None:
            session = boto3.Session()
            default_region = session.region_name
            if session.get_credentials() is None:
                raise NoCredentialsError()

            def clients(service: str, region: str) -> Any:
                return session.client(service, region_name=region)

        return Ops(args, clients, ask, sleep).run(default_region)
    except OpsError as err:
        print(f"ops: {err}", file=sys.stderr)
        return err.code
    except NoCredentialsError:
        print(
            "ops: no AWS credentials: sign in first (aws sso login, AWS_PROFILE, or the "
            "environment's credentials)",
            file=sys.stderr,
        )
        return tg.NO_CREDENTIALS
    except ClientError as err:
        problem = tg.explain(err, _hint(args.command))
        print(f"ops: {problem}", file=sys.stderr)
        return problem.code
    except BotoCoreError as err:
        print(f"ops: {err}", file=sys.stderr)
        return tg.USAGE


if __name__ == "__main__":
    sys.exit(main())
