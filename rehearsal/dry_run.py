"""`python -m rehearsal.dry_run`: replay the synthesized pipeline's CodeBuild steps, in pipeline
order, in a scratch clone against the local emulator, each under its own role's policies with IAM
enforcement on; one line per step, non-zero exit if any step failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rehearsal.dry_run_clone import scratch_clone
from rehearsal.dry_run_sandbox import Sandbox
from rehearsal.dry_run_steps import Step, pipeline_template, steps
from rehearsal.emulator import running

NOT_RECURSIVE = "the dry run itself runs inside make test: no recursion; run make test on its own"
NEEDS_STAGE = "skipped: needs a deployed Stage (covered by make rehearse)"
# What the child processes must not inherit: the caller's AWS identity and make's own state.
_DROP_PREFIXES = ("AWS_", "MAKE", "MFLAGS", "VIRTUAL_ENV", "CDK_")
TAIL_LINES = 15


@dataclass
class CommandResult:
    """One buildspec command: passed, failed, skipped, no-op or not run (after a failure)."""

    command: str
    outcome: str
    seconds: float = 0.0
    reason: str = ""
    output: str = ""

    def describe(self) -> str:
        text = f"{self.command}: {self.outcome}"
        if self.outcome in ("passed", "failed"):
            text += f" {self.seconds:.1f}s"
        return text + (f" ({self.reason})" if self.reason else "")


@dataclass
class StepResult:
    """One step's outcome (passed/failed/skipped), its duration and its commands' results."""

    step: Step
    outcome: str
    seconds: float
    reason: str = ""
    commands: list[CommandResult] = field(default_factory=list)

    def line(self) -> str:
        head = (
            f"{self.step.stage + '/' + self.step.name:<30} {self.outcome:<7} {self.seconds:6.1f}s"
        )
        detail = "; ".join(c.describe() for c in self.commands) or self.reason
        return f"{head}  {detail}"

    def output_tail(self) -> str:
        failed = [c for c in self.commands if c.outcome == "failed"]
        lines = failed[0].output.rstrip().splitlines()[-TAIL_LINES:] if failed else []
        return "\n".join(f"    | {line}" for line in lines)


@dataclass(frozen=True)
class Options:
    """How to replay: reuse an existing cdk.out instead of `make synth`; per-command timeout."""

    reuse_cdk_out: Path | None = None
    timeout: float = 900.0
    execution_id: str = field(default_factory=lambda: f"dry-run-{uuid.uuid4().hex[:12]}")


def base_environment(scratch: Path) -> dict[str, str]:
    """The caller's environment minus its AWS identity and make state, AWS config files off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP_PREFIXES)}
    env["AWS_CONFIG_FILE"] = str(scratch / "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(scratch / "no-aws-credentials")
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return env


def _run_command(command: str, clone: Path, env: dict[str, str], options: Options) -> CommandResult:
    if command == "make test":
        return CommandResult(command, "no-op", reason=NOT_RECURSIVE)
    if command.startswith("make verify"):
        return CommandResult(command, "skipped", reason=NEEDS_STAGE.removeprefix("skipped: "))
    if command == "make synth" and options.reuse_cdk_out is not None:
        shutil.copytree(options.reuse_cdk_out, clone / "cdk.out", symlinks=True)
        return CommandResult(
            command, "no-op", reason=f"reused {options.reuse_cdk_out} (--reuse-synth)"
        )
    start = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 - the synthesized buildspec's own command
            ["bash", "-eo", "pipefail", "-c", command],  # noqa: S607 - bash from PATH
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=options.timeout,
            check=False,
        )
        output, code = done.stdout.decode(errors="replace"), done.returncode
    except subprocess.TimeoutExpired as err:
        output = (err.stdout or b"").decode(errors="replace") + f"\ntimed out after {err.timeout}s"
        code = -1
    outcome = "passed" if code == 0 else "failed"
    reason = "" if code == 0 else f"exit {code}"
    return CommandResult(command, outcome, time.monotonic() - start, reason, output)


def run_step(
    step: Step, clone: Path, sandbox: Sandbox, base_env: dict[str, str], options: Options
) -> StepResult:
    """Run one step's commands, in order, stopping at the first failure as CodeBuild does."""
    start = time.monotonic()
    if not step.runs_makefile:
        what = step.commands[0] if step.commands else "a buildspec file"
        reason = f"skipped: CDK's own step ({what}), needs the real toolchain account"
        return StepResult(step, "skipped", 0.0, reason)
    env = {
        **base_env,
        **sandbox.emulator.environment(),
        **step.env,
        **sandbox.credentials(step.name, step.policies),
    }
    results: list[CommandResult] = []
    with sandbox.enforcing():
        for command in step.commands:
            if results and results[-1].outcome == "failed":
                results.append(CommandResult(command, "not run", reason="an earlier one failed"))
                continue
            results.append(_run_command(command, clone, env, options))
    outcomes = {r.outcome for r in results}
    outcome = "failed" if "failed" in outcomes else "passed" if "passed" in outcomes else "skipped"
    return StepResult(step, outcome, time.monotonic() - start, commands=results)


def _print(line: str) -> None:
    print(line, flush=True)


def dry_run(
    selected: Iterable[Step],
    repo: Path,
    *,
    region: str,
    options: Options,
    prepare: Callable[[Path], None] | None = None,
    report: Callable[[str], None] | None = None,
    inspect: Callable[[Sandbox], None] | None = None,
) -> list[StepResult]:
    """Replay `selected` in a scratch clone of `repo`; `prepare` may alter the clone first and
    `inspect` sees the emulator (enforcement off) after the last step."""
    chosen = list(selected)
    report = report or _print
    results: list[StepResult] = []
    with tempfile.TemporaryDirectory(prefix="pipeline-dry-run-") as tmp, running(region) as emu:
        clone, described = scratch_clone(repo, Path(tmp))
        if prepare is not None:
            prepare(clone)
        sandbox = Sandbox(emu)
        buckets = sorted({s.env["REVIEW_BUCKET"] for s in chosen if s.env.get("REVIEW_BUCKET")})
        for bucket in buckets:
            sandbox.create_bucket(bucket)
        report(f"scratch: {described} in {clone}")
        report(
            f"emulator: {emu.endpoint} ({region}), IAM enforcement on during each step; "
            f"execution id {options.execution_id}; "
            + ", ".join(f"REVIEW_BUCKET s3://{b} (emulator stand-in)" for b in buckets)
        )
        base_env = base_environment(Path(tmp))
        for step in chosen:
            result = run_step(step, clone, sandbox, base_env, options)
            results.append(result)
            report(result.line())
            for note in step.notes if result.commands else ():
                report(f"    note: {note}")
            if result.outcome == "failed":
                report(result.output_tail())
        if inspect is not None:
            inspect(sandbox)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal.dry_run", description=__doc__)
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository to clone")
    parser.add_argument(
        "--steps", default="", help="comma-separated step names (default: every CodeBuild step)"
    )
    parser.add_argument(
        "--reuse-synth",
        action="store_true",
        help="copy --cdk-out into the clone instead of running `make synth` (saves ~30 s)",
    )
    args = parser.parse_args(argv)
    options = Options(reuse_cdk_out=args.cdk_out.resolve() if args.reuse_synth else None)
    every = steps(args.cdk_out, options.execution_id)
    wanted = [name for name in args.steps.split(",") if name]
    unknown = set(wanted) - {s.name for s in every}
    if unknown:
        parser.error(f"unknown steps {sorted(unknown)}; known: {[s.name for s in every]}")
    chosen = [s for s in every if not wanted or s.name in wanted]
    region = pipeline_template(args.cdk_out).region
    start = time.monotonic()
    _print(f"pipeline dry run: {len(chosen)} CodeBuild steps of {args.cdk_out}, in pipeline order")
    results = dry_run(chosen, args.repo.resolve(), region=region, options=options)
    counts = {o: sum(r.outcome == o for r in results) for o in ("passed", "failed", "skipped")}
    print(", ".join(f"{n} {o}" for o, n in counts.items()) + f" in {time.monotonic() - start:.1f}s")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
