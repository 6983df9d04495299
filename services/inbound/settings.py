"""Settings of the inbound service (webhook API, queues, processors and their rollout)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from services.common.settings import Settings, check_log_retention

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


class RouteThrottle(Settings):
    """Steady-state requests per second and burst for one webhook route."""

    rate_limit: float = Field(default=50, gt=0)
    burst_limit: int = Field(default=100, gt=0)


class InboundSettings(Settings):
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
    # Raw bodies of rejected webhooks (personal data) expire after this many days.
    rejected_retention_days: int = Field(default=30, ge=1, le=3650)
    log_retention_days: int = 30
    # Whether this Stage sets API Gateway's account-wide CloudWatch Logs role (an
    # AWS::ApiGateway::Account resource, which overwrites whatever the account had). Leave it
    # on for a fresh account; turn it off where a landing zone already sets that role.
    manage_account_logging_role: bool = True

    _retention = field_validator("log_retention_days")(check_log_retention)
