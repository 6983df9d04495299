"""Settings of the event backbone and of the services that hang off it (audit, triage, backup)."""

from __future__ import annotations

from pydantic import Field, field_validator

from services.common.settings import Settings, check_log_retention


class EventSettings(Settings):
    """Knobs of the event backbone, audit and triage."""

    archive_retention_days: int = Field(default=30, ge=1)
    audit_ttl_days: int = Field(default=90, ge=1)
    # Rule targets: how long and how often EventBridge retries before the target's DLQ.
    target_retry_attempts: int = Field(default=8, ge=0, le=185)
    target_max_event_age_hours: int = Field(default=2, ge=1, le=24)
    # Log retention of the audit and triage workflows (the inbound service has its own).
    log_retention_days: int = 30
    # AWS Backup of the Stage's tables, where the environment retains data.
    backup_retention_days: int = Field(default=35, ge=1)
    backup_schedule_cron: str = "cron(0 3 * * ? *)"

    _retention = field_validator("log_retention_days")(check_log_retention)
