"""How webhooks reach the Stage: over HTTPS to the deployed API (or, in the rehearsal, through
the API's request templates). Every transport answers with the status and API request id."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pipeline.verify.plan import Webhook, webhook_url


@dataclass(frozen=True)
class Sent:
    """What the API answered: the HTTP status and its request id."""

    status: int
    request_id: str


class Transport(Protocol):
    """Sends one webhook to the Stage."""

    def send(self, hook: Webhook) -> Sent: ...


@runtime_checkable
class Answer(Protocol):
    """Makes a provider's subscription GET and returns the status and body."""

    def get(self, provider: str, query: dict[str, str]) -> tuple[int, str]: ...


class HttpTransport:
    """POSTs to the deployed webhook API with a bounded timeout; retries 429 and 5xx with
    backoff as a provider would, and paces requests to `rate_per_second` when given."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        retries: int = 4,
        backoff: float = 0.5,
        rate_per_second: float | None = None,
    ) -> None:
        if not base_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError(f"refusing to send webhooks to {base_url!r}: HTTPS only")
        self.base_url = base_url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.interval = 1.0 / rate_per_second if rate_per_second else 0.0
        self._next = 0.0

    def _pace(self) -> None:
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self.interval

    def get(self, provider: str, query: dict[str, str]) -> tuple[int, str]:
        """One GET, as a provider verifying its subscription sends it (no retries)."""
        url = f"{webhook_url(self.base_url, provider)}?{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            return 0, str(err)

    def send(self, hook: Webhook) -> Sent:
        url = webhook_url(self.base_url, hook.provider)
        for attempt in range(self.retries + 1):
            self._pace()
            # Scheme checked in __init__ (https, or loopback for tests).
            request = urllib.request.Request(  # noqa: S310
                url, data=hook.body, headers=hook.headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310
                    return Sent(response.status, response.headers.get("X-Request-Id", ""))
            except urllib.error.HTTPError as err:
                status, request_id = err.code, err.headers.get("X-Request-Id", "")
            except (urllib.error.URLError, TimeoutError, OSError):
                status, request_id = 0, ""
            if status not in (0, 429) and status < 500:
                return Sent(status, request_id)
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        return Sent(status, request_id)
