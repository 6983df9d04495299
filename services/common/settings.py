"""The base of every service's settings model: strict, frozen, finite, shared field checks.

Pure pydantic (no CDK import), so the config loads and validates without starting jsii.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

# CloudWatch Logs' allowed retention periods, in days (services.common.logs maps them to CDK).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Settings(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default), and so are
    non-finite numbers (`inf`, `nan`: pydantic accepts them from strings by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def check_log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"must be one of CloudWatch's retention periods {LOG_RETENTION_DAYS}")
    return value


def check_emails(value: list[str]) -> list[str]:
    for email in value:
        if not _EMAIL.match(email):
            raise ValueError(f"{email!r} is not an email address")
    return value
