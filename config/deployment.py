"""The deployment as typed data: toolchain, source, environments and what each one runs.

Each service owns its settings model (services/<unit>/settings.py); this module composes them
per environment and adds what only the delivery system knows (accounts, regions, approvals).
Pure pydantic: validating a config never starts jsii.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from services.common.settings import Settings, check_emails
from services.events.settings import EventSettings
from services.inbound.settings import InboundSettings, Rollout
from services.monitoring.settings import MonitoringSettings

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9]{1,15}$")
_CONNECTION_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
    r"connection/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_PRINCIPAL = re.compile(r"^(\d{12}|arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/[\w+=,.@/-]+)$")


class ConfigError(Exception):
    """The deployment config is invalid; each entry of `problems` is one printable line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _account(value: str) -> str:
    if not _ACCOUNT.match(value):
        raise ValueError("must be a 12-digit AWS account id")
    return value


def _region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError("must be an AWS region such as eu-west-1")
    return value


def _as_text(value: Any) -> Any:
    # JSON numbers and `-c` strings both arrive here; account ids are identifiers, not numbers.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Toolchain(Settings):
    """The account and region that host the pipeline itself."""

    account: str
    region: str

    _text = field_validator("account", mode="before")(_as_text)
    _acc = field_validator("account")(_account)
    _reg = field_validator("region")(_region)


class Source(Settings):
    """The repository the pipeline builds from, via an AWS CodeConnections connection."""

    owner: str
    repo: str
    branch: str
    connection_arn: str

    @field_validator("owner", "repo")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _GITHUB_NAME.match(value):
            raise ValueError("must be a repository owner/name (letters, digits, '.', '_', '-')")
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if any(c.isspace() for c in value) or ".." in value or value.startswith("-"):
            raise ValueError("is not a valid git branch name")
        return value

    @field_validator("connection_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not _CONNECTION_ARN.match(value):
            raise ValueError(
                "must be a CodeConnections ARN "
                "(arn:aws:codeconnections:<region>:<account>:connection/<uuid>)"
            )
        return value

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"


class DeliverySettings(Settings):
    """How releases reach this environment: processor rollout and the post-deploy tests."""

    # Traffic shifting of the processors' `live` alias; their error and throttle alarms roll
    # a shift back automatically.
    rollout: Rollout = "AllAtOnce"
    # After deploying: `smoke` (one signed and one badly signed webhook per provider),
    # `acceptance` (the scenario suite plus a bounded load test), or `none`.
    verification: Literal["smoke", "acceptance", "none"] = "smoke"
    load_messages: int = Field(default=300, ge=1, le=5000)
    load_rate_per_second: float = Field(default=20, gt=0, le=500)
    verification_timeout_seconds: int = Field(default=300, ge=30, le=3600)


class EnvironmentSettings(Settings):
    """Per-environment knobs of the messaging services; every field has a safe default."""

    inbound: InboundSettings = Field(default_factory=InboundSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)


class Environment(Settings):
    """One deployment target: a Stage in its own account and region."""

    name: str
    account: str
    region: str
    requires_approval: bool = False
    retain_data: bool = False
    # More regions of the same account, deployed in parallel with `region` after one approval.
    additional_regions: list[str] = Field(default_factory=list)
    settings: EnvironmentSettings = Field(default_factory=EnvironmentSettings)

    _text = field_validator("account", mode="before")(_as_text)
    _acc = field_validator("account")(_account)
    _reg = field_validator("region")(_region)

    @field_validator("additional_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        for region in value:
            _region(region)
        if len(set(value)) != len(value):
            raise ValueError("lists a region twice")
        return value

    @property
    def regions(self) -> list[str]:
        return [self.region, *self.additional_regions]

    def stage_id_for(self, region: str) -> str:
        """'Prod' in the primary region (stable logical ids), 'ProdUsEast1' in the others."""
        if region == self.region:
            return self.stage_id
        return self.stage_id + "".join(part.capitalize() for part in region.split("-"))

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError("must be 2-16 lowercase letters or digits, starting with a letter")
        return value

    @property
    def stage_id(self) -> str:
        """Construct id of the Stage: 'prod' -> 'Prod'."""
        return self.name[:1].upper() + self.name[1:]


class Approvals(Settings):
    """Who hears about a release waiting for approval, and who may approve or reject it."""

    notify: list[str] = Field(default_factory=list)
    # Principals (12-digit accounts or IAM role/user ARNs) allowed to assume the approver
    # role; the toolchain account (its IAM policies decide) when empty.
    approvers: list[str] = Field(default_factory=list)

    _notify = field_validator("notify")(check_emails)

    @field_validator("approvers")
    @classmethod
    def _principals(cls, value: list[str]) -> list[str]:
        for principal in value:
            if not _PRINCIPAL.match(principal):
                raise ValueError(f"{principal!r} is not an account id or an IAM role/user ARN")
        return value


class Notifications(Settings):
    """Who hears about failed pipeline executions and approval outcomes."""

    emails: list[str] = Field(default_factory=list)

    _emails = field_validator("emails")(check_emails)


class Ownership(Settings):
    """Who answers for the platform's resources: applied as tags on every resource."""

    owner: str = "platform-team"
    cost_centre: str = "CC-0000"


class DeploymentConfig(Settings):
    """The whole deployment: toolchain, source and the ordered environments (the last is prod)."""

    toolchain: Toolchain
    source: Source
    # Pipeline artifacts, per-execution reviews and the released diff base expire after this
    # (each release rewrites the base, so it only lapses after this long without a release).
    artifact_retention_days: int = Field(default=365, ge=30)
    ownership: Ownership = Field(default_factory=Ownership)
    approvals: Approvals = Field(default_factory=Approvals)
    notifications: Notifications = Field(default_factory=Notifications)
    environments: list[Environment] = Field(min_length=1)
    allow_toolchain_as_workload_account: bool = False

    @model_validator(mode="after")
    def _cross_checks(self) -> Self:
        problems: list[str] = []
        seen: dict[str, int] = {}
        placed: dict[tuple[str, str], str] = {}
        for i, env in enumerate(self.environments):
            where = f"environments[{i}]"
            if env.name in seen:
                problems.append(
                    f"{where}.name: {env.name!r} is a duplicate of environments[{seen[env.name]}]"
                )
            seen.setdefault(env.name, i)
            for region in env.regions:
                key = (env.account, region)
                if key in placed:
                    problems.append(
                        f"{where}: account {env.account} region {region} is already used by "
                        f"environment {placed[key]!r}; each environment needs its own "
                        "account/region"
                    )
                placed.setdefault(key, env.name)
            if (
                env.account == self.toolchain.account
                and not self.allow_toolchain_as_workload_account
            ):
                problems.append(
                    f"{where}.account: {env.account!r} is the toolchain account; use a separate "
                    "account or set allow_toolchain_as_workload_account: true"
                )
        last = self.environments[-1]
        if not last.requires_approval:
            problems.append(
                f"environments[{len(self.environments) - 1}].requires_approval: false for "
                f"{last.name!r}, the production (last) environment; it must be true"
            )
        if problems:
            raise ConfigError(problems)
        return self

    @property
    def production(self) -> Environment:
        return self.environments[-1]

    def environment(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)
