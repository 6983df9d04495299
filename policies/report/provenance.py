"""Where a report comes from: commit, pipeline execution, date and the gate's tool versions.

Written beside the assembly (`cdk.out/provenance.json`) so the released copy carries it and a
later diff can name its base release by commit and execution instead of a folder path.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess  # nosec B404: git with fixed arguments
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

FILE = "provenance.json"
ROOT = Path(__file__).resolve().parents[2]
# The synth's own libraries and the asset scanner (this interpreter), and the template scanners
# (their own venv, exact pins).
LIBRARIES = ("aws-cdk-lib", "cdk-nag", "cdk-monitoring-constructs", "detect-secrets")
SCANNERS = ("cfn-lint", "checkov", "parliament")
CLI = ("aws-cdk",)


@dataclass(frozen=True)
class Provenance:
    """Commit, pipeline execution (None outside the pipeline), UTC date and tool versions."""

    commit: str
    execution: str | None
    date: str
    versions: dict[str, str] = field(default_factory=dict)
    repository: str = ""  # https URL of the source repository ("" where unknown)
    branch: str = ""

    def label(self) -> str:
        where = f"execution {self.execution}" if self.execution else "local build"
        return f"commit {self.commit[:12]} ({where}, {self.date})"

    def tools(self) -> str:
        return ", ".join(f"{name} {version}" for name, version in sorted(self.versions.items()))


def _commit(env: Mapping[str, str], root: Path) -> str:
    # CodeBuild's source artifact has no .git; the build environment names the commit.
    if sha := env.get("CODEBUILD_RESOLVED_SOURCE_VERSION"):
        return sha
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv
            [git, "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _source(root: Path) -> tuple[str, str]:
    """(repository URL, branch) the pipeline builds from: `deployment.source` in cdk.json."""
    cdk_json = root / "cdk.json"
    if not cdk_json.is_file():
        return "", ""
    source = json.loads(cdk_json.read_text()).get("context", {}).get("deployment", {})
    source = source.get("source", {}) if isinstance(source, dict) else {}
    owner, repo = source.get("owner"), source.get("repo")
    if not (isinstance(owner, str) and isinstance(repo, str) and owner and repo):
        return "", ""
    return f"https://github.com/{owner}/{repo}", str(source.get("branch", ""))


def _pins(path: Path, names: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    if not path.is_file():
        return found
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if match and match.group(1).lower() in names:
            found[match.group(1).lower()] = match.group(2)
    return found


def _versions(root: Path) -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    versions.update(_pins(root / "constraints-scanners.txt", SCANNERS))
    package = root / "package.json"
    if package.is_file():
        pinned = json.loads(package.read_text()).get("devDependencies", {})
        versions.update({name: pinned[name] for name in CLI if name in pinned})
    return versions


def collect(env: Mapping[str, str] | None = None, root: Path = ROOT) -> Provenance:
    env = os.environ if env is None else env
    repository, branch = _source(root)
    return Provenance(
        commit=_commit(env, root),
        execution=env.get("EXECUTION_ID") or None,
        date=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        versions=_versions(root),
        repository=repository,
        branch=branch,
    )


def write(cdk_out: Path, provenance: Provenance) -> None:
    (cdk_out / FILE).write_text(json.dumps(asdict(provenance), indent=1, sort_keys=True) + "\n")


def load(cdk_out: Path) -> Provenance | None:
    path = cdk_out / FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return Provenance(
        commit=str(data.get("commit", "unknown")),
        execution=data.get("execution"),
        date=str(data.get("date", "")),
        versions={str(k): str(v) for k, v in data.get("versions", {}).items()},
        repository=str(data.get("repository", "")),
        branch=str(data.get("branch", "")),
    )


def ensure(cdk_out: Path, env: Mapping[str, str] | None = None) -> Provenance:
    """The assembly's provenance: the recorded one, or collected now and recorded."""
    found = load(cdk_out)
    if found is None:
        found = collect(env)
        write(cdk_out, found)
    return found
