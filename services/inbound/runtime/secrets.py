"""The provider secret, cached, with rotation: refreshed on a signature mismatch, and the
Secrets Manager AWSPREVIOUS version accepted for a grace period after AWSCURRENT was created.

Rotation is Secrets Manager's own staging (put-secret-value moves AWSCURRENT to AWSPREVIOUS):
the secret stays one flat JSON object, and nothing in it says which key is "old". Powertools'
get_secret(max_age, force_fetch) covers the cache but not the version's CreatedDate, which
bounds how long AWSPREVIOUS stays acceptable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.inbound.providers.base import Transient

CACHE_SECONDS = 300
# A mismatch refreshes the secret at most this often (a flood of forged webhooks must not
# become a flood of GetSecretValue calls).
REFRESH_SECONDS = 30
ROTATION_GRACE_SECONDS = 24 * 3600


class SecretStore:
    """Caches AWSCURRENT (and AWSPREVIOUS, fetched only when a signature does not match)."""

    def __init__(
        self,
        name: str,
        client: Callable[[], Any],
        *,
        cache_seconds: float = CACHE_SECONDS,
        refresh_seconds: float = REFRESH_SECONDS,
        grace_seconds: float = ROTATION_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.client = client
        self.cache_seconds = cache_seconds
        self.refresh_seconds = refresh_seconds
        self.grace_seconds = grace_seconds
        self.clock = clock
        self._current: tuple[float, dict[str, str], datetime | None] | None = None
        self._previous: tuple[float, dict[str, str] | None] | None = None
        self._refreshed_at = float("-inf")

    def current(self, *, refresh: bool = False) -> dict[str, str]:
        now = self.clock()
        if refresh or self._current is None or now - self._current[0] >= self.cache_seconds:
            value, created = self._read("AWSCURRENT")
            if value is None:
                raise Transient("provider secret has no AWSCURRENT version")
            self._current = (now, value, created)
        return dict(self._current[1])

    def alternatives(self, tried: dict[str, str]) -> Iterator[dict[str, str]]:
        """Secrets worth a second try after `tried` did not verify: AWSCURRENT read again (if it
        changed), then AWSPREVIOUS while the rotation is recent."""
        if self.clock() - self._refreshed_at >= self.refresh_seconds:
            self._refreshed_at = self.clock()
            self._previous = None
            fresh = self.current(refresh=True)
            if fresh != tried:
                yield fresh
        previous = self.previous()
        if previous is not None and previous != tried:
            yield previous

    def previous(self) -> dict[str, str] | None:
        self.current()
        assert self._current is not None
        created = self._current[2]
        if created is None or (datetime.now(UTC) - created).total_seconds() > self.grace_seconds:
            return None  # no rotation in the grace period: the old value is no longer accepted
        now = self.clock()
        if self._previous is None or now - self._previous[0] >= self.cache_seconds:
            value, _ = self._read("AWSPREVIOUS")
            self._previous = (now, value)
        return dict(self._previous[1]) if self._previous[1] is not None else None

    def _read(self, stage: str) -> tuple[dict[str, str] | None, datetime | None]:
        try:
            response = self.client().get_secret_value(SecretId=self.name, VersionStage=stage)
        except ClientError as err:
            if (
                stage != "AWSCURRENT"
                and err.response["Error"]["Code"] == "ResourceNotFoundException"
            ):
                return None, None
            raise Transient(f"cannot read secret: {err.response['Error']['Code']}") from None
        except BotoCoreError as err:
            raise Transient(f"cannot read secret: {type(err).__name__}") from None
        try:
            parsed = json.loads(response["SecretString"])
        except (KeyError, ValueError):
            raise Transient("provider secret is not a JSON object") from None
        if not isinstance(parsed, dict):
            raise Transient("provider secret is not a JSON object")
        created = response.get("CreatedDate")
        if isinstance(created, datetime) and created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return (
            {str(k): str(v) for k, v in parsed.items()},
            created if isinstance(created, datetime) else None,
        )
