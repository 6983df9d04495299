"""Typed, validated model of the deployment, read once at the edge (app.py).

The data lives under the `deployment` key of cdk.json; `-c deployment.<path>=<value>` overrides
single fields. Every problem is reported as one line naming the field and the offending value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONTEXT_KEY = "deployment"
OVERRIDE_PREFIX = CONTEXT_KEY + "."

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9]{1,15}$")
_CONNECTION_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
    r"connection/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PRINCIPAL = re.compile(r"^(\d{12}|arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/[\w+=,.@/-]+)$")


class ConfigError(Exception):
    """The deployment config is invalid; each entry of `problems` is one printable line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class Toolchain(_Strict):
    """The account and region that host the pipeline itself."""

    account: str
    region: str

    _text = field_validator("account", mode="before")(_as_text)
    _acc = field_validator("account")(_account)
    _reg = field_validator("region")(_region)


class Source(_Strict):
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


class RouteThrottle(_Strict):
    """Steady-state requests per second and burst for one webhook route."""

    rate_limit: float = Field(default=50, gt=0)
    burst_limit: int = Field(default=100, gt=0)


class InboundSettings(_Strict):
    """Knobs of the inbound messaging service (webhooks, queues, processors)."""

    # API Gateway stage throttling, and per-route throttling (default, then per provider).
    stage_throttle: RouteThrottle = RouteThrottle(rate_limit=200, burst_limit=400)
    route_throttle: RouteThrottle = RouteThrottle()
    route_throttle_overrides: dict[str, RouteThrottle] = Field(default_factory=dict)
    # WAF rate-based rule: requests per source IP per 5 minutes. Providers send from few
    # addresses, so this must sit above their real peak.
    waf_rate_limit: int = Field(default=20_000, ge=100)
    # Secrets Manager secret holding each provider's keys: <secret_prefix><provider>.
    secret_prefix: str = "messaging/webhooks/"  # noqa: S105 - a name, not a secret
    batch_size: int = Field(default=10, ge=1, le=10)
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    processor_memory_mb: int = Field(default=256, ge=128, le=10240)
    processor_timeout_seconds: int = Field(default=30, ge=3, le=900)
    idempotency_ttl_days: int = Field(default=7, ge=1)
    log_retention_days: int = 30

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        from services.common.logs import ALLOWED_DAYS

        if value not in ALLOWED_DAYS:
            raise ValueError(f"must be one of CloudWatch's retention periods {ALLOWED_DAYS}")
        return value

    # Public Powertools for AWS Lambda (Python) v3 layer version, the same in every region.
    powertools_layer_version: int = Field(default=27, ge=1)


class EventSettings(_Strict):
    """Knobs of the event backbone, audit and triage."""

    archive_retention_days: int = Field(default=30, ge=1)
    audit_ttl_days: int = Field(default=90, ge=1)
    # Rule targets: how long and how often EventBridge retries before the target's DLQ.
    target_retry_attempts: int = Field(default=8, ge=0, le=185)
    target_max_event_age_hours: int = Field(default=2, ge=1, le=24)
    # AWS Backup of the Stage's tables, where the environment retains data.
    backup_retention_days: int = Field(default=35, ge=1)
    backup_schedule_cron: str = "cron(0 3 * * ? *)"


class MonitoringSettings(_Strict):
    """Alarm thresholds and notification targets."""

    alarm_emails: list[str] = Field(default_factory=list)
    # Age of the oldest message in a webhook queue before it alarms.
    queue_age_seconds: int = Field(default=900, ge=60)
    # Processor errors and throttles per 5 minutes before they alarm.
    processor_errors: int = Field(default=5, ge=1)
    processor_throttles: int = Field(default=5, ge=1)
    api_5xx_rate_percent: float = Field(default=5.0, gt=0, le=100)
    api_p99_latency_ms: int = Field(default=2000, ge=50)
    state_machine_failures: int = Field(default=1, ge=1)
    rule_failed_invocations: int = Field(default=1, ge=1)

    @field_validator("alarm_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return _emails(value)


def _emails(value: list[str]) -> list[str]:
    for email in value:
        if not _EMAIL.match(email):
            raise ValueError(f"{email!r} is not an email address")
    return value


# CodeDeploy's predefined Lambda traffic-shifting configurations.
Rollout = Literal[
    "AllAtOnce",
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
]


class DeliverySettings(_Strict):
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


class EnvironmentSettings(_Strict):
    """Per-environment knobs of the messaging services; every field has a safe default."""

    inbound: InboundSettings = Field(default_factory=InboundSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)


class Environment(_Strict):
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


class Approvals(_Strict):
    """Who hears about a release waiting for approval, and who may approve or reject it."""

    notify: list[str] = Field(default_factory=list)
    # Principals (12-digit accounts or IAM role/user ARNs) allowed to assume the approver
    # role; the toolchain account (its IAM policies decide) when empty.
    approvers: list[str] = Field(default_factory=list)

    _notify = field_validator("notify")(_emails)

    @field_validator("approvers")
    @classmethod
    def _principals(cls, value: list[str]) -> list[str]:
        for principal in value:
            if not _PRINCIPAL.match(principal):
                raise ValueError(f"{principal!r} is not an account id or an IAM role/user ARN")
        return value


class Notifications(_Strict):
    """Who hears about failed pipeline executions and approval outcomes."""

    emails: list[str] = Field(default_factory=list)

    _emails = field_validator("emails")(_emails)


class Ownership(_Strict):
    """Who answers for the platform's resources: applied as tags on every resource."""

    owner: str = "platform-team"
    cost_centre: str = "CC-0000"


class DeploymentConfig(_Strict):
    """The whole deployment: toolchain, source and the ordered environments (the last is prod)."""

    toolchain: Toolchain
    source: Source
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


def _format_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or CONTEXT_KEY


def _lookup(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Apply `deployment.a.b=value` keys; environments are addressed by name, not index."""
    for key, value in sorted(overrides.items()):
        path = key[len(OVERRIDE_PREFIX) :].split(".")
        target: Any = raw
        walked: list[str] = []
        for part in path[:-1]:
            walked.append(part)
            if isinstance(target, list):
                match = [e for e in target if isinstance(e, dict) and e.get("name") == part]
                if not match:
                    names = ", ".join(str(e.get("name")) for e in target if isinstance(e, dict))
                    raise ConfigError(
                        [f"{key}: unknown environment {part!r} (configured: {names})"]
                    )
                target = match[0]
            elif isinstance(target, dict):
                target = target.setdefault(part, {})
            else:
                raise ConfigError([f"{key}: {'.'.join(walked)!r} is not a section"])
        if not isinstance(target, dict) or not path[-1]:
            raise ConfigError([f"{key}: cannot override {'.'.join(path)!r}"])
        target[path[-1]] = _parse_scalar(value)
    return raw


def _parse_scalar(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return value


def _without_comments(data: Any) -> Any:
    """Drop `"//"` keys: JSON has no comments, so cdk.json marks placeholders with them."""
    if isinstance(data, dict):
        return {k: _without_comments(v) for k, v in data.items() if not k.startswith("//")}
    if isinstance(data, list):
        return [_without_comments(v) for v in data]
    return data


def load_config(context: Mapping[str, Any]) -> DeploymentConfig:
    """Build the config from CDK context: the `deployment` object plus `deployment.*` overrides."""
    raw = context.get(CONTEXT_KEY)
    if not isinstance(raw, dict):
        raise ConfigError([f"{CONTEXT_KEY}: missing or not an object in cdk.json context"])
    data = _apply_overrides(
        _without_comments(raw),
        {k: v for k, v in context.items() if k.startswith(OVERRIDE_PREFIX)},
    )
    try:
        return DeploymentConfig.model_validate(data)
    except ConfigError:
        raise
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if isinstance(err.get("ctx", {}).get("error"), ConfigError):
                problems.extend(err["ctx"]["error"].problems)
                continue
            where = _format_location(loc)
            value = _lookup(data, loc)
            message = str(err["msg"]).removeprefix("Value error, ")
            shown = "(missing)" if err["type"] == "missing" else repr(value)
            problems.append(f"{where}: {shown} {message}")
        raise ConfigError(problems) from None
