"""Settings of the monitoring service: alarm thresholds and who hears about them."""

from __future__ import annotations

from pydantic import Field, field_validator

from services.common.settings import Settings, check_emails


class MonitoringSettings(Settings):
    """Alarm thresholds and notification targets."""

    alarm_emails: list[str] = Field(default_factory=list)
    # Age of the oldest message in a webhook queue before it alarms.
    queue_age_seconds: int = Field(default=900, ge=60)
    # Processor errors and throttles per alarm period before they alarm. These alarms roll a
    # traffic shift back, so one period must fit inside the shortest canary/linear interval.
    processor_errors: int = Field(default=5, ge=1)
    processor_throttles: int = Field(default=5, ge=1)
    rollback_alarm_period_seconds: int = Field(default=60, ge=60, le=300)
    api_5xx_rate_percent: float = Field(default=5.0, gt=0, le=100)
    api_p99_latency_ms: int = Field(default=2000, ge=50)
    state_machine_failures: int = Field(default=1, ge=1)
    rule_failed_invocations: int = Field(default=1, ge=1)

    _emails = field_validator("alarm_emails")(check_emails)
